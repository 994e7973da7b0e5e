#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/security/server_credentials.h"
#include "prometheus/registry.h"
#include "services/tokend/auth/audit_log.h"
#include "services/tokend/auth/auth_metrics.h"
#include "services/tokend/auth/authorizer.h"
#include "services/tokend/auth/caller_resolver.h"
#include "services/tokend/auth/grpc_access.h"
#include "services/tokend/auth/policy_watcher.h"
#include "services/tokend/auth/rate_limiter.h"
#include "services/tokend/auth/tls_files.h"
#include "util/clock.h"

namespace tokend::auth {

// The server's caller-authentication flags (main.cc fills this from --tls_*, --insecure,
// --policy_file, --trust_forwarded_client_cert, --trusted_proxy, --audit_log).
struct ServerAuthOptions {
  bool insecure = false;  // plaintext gRPC
  TlsFiles tls;           // tls.cert empty: no TLS
  std::string policy_file;
  absl::Duration policy_poll_interval = absl::Seconds(1);
  bool trust_forwarded_client_cert = false;
  std::vector<std::string> trusted_proxies;
  std::string audit_log;  // empty or "-": stderr
  absl::Duration server_default_ttl = absl::Minutes(10);
};

// Checks the flags' combination before anything is opened: exactly one of --insecure and
// --tls_cert/--tls_key; --tls_client_ca only with TLS; --trust_forwarded_client_cert only
// with at least one valid --trusted_proxy. INVALID_ARGUMENT with what to do otherwise.
absl::Status ValidateServerAuthOptions(const ServerAuthOptions& options);

// Everything caller authentication needs in a running server, built together and owned here:
// the gRPC server credentials (TLS with file reload, or plaintext), the audit log, the policy
// (--policy_file, watched; without one: everything for everyone under --insecure — local
// development only, announced loudly — or the open RPCs only under TLS), the rate limiter,
// the authorizer and the GrpcAccessControl the adapter uses. Logs one warning per risky
// choice at start. Thread-safe after Create; Start/Stop the policy watcher from one thread.
class ServerAuth {
 public:
  // Validates the options and the files (TLS, policy, audit log). INVALID_ARGUMENT,
  // NOT_FOUND or FAILED_PRECONDITION naming the flag at fault.
  static absl::StatusOr<std::unique_ptr<ServerAuth>> Create(const ServerAuthOptions& options,
                                                            const util::Clock& clock,
                                                            prometheus::Registry& registry);
  ~ServerAuth();
  ServerAuth(const ServerAuth&) = delete;
  ServerAuth& operator=(const ServerAuth&) = delete;

  std::shared_ptr<::grpc::ServerCredentials> credentials() const { return credentials_; }
  const GrpcAccessControl& access_control() const { return *access_control_; }
  AuditLog& audit() const { return *audit_; }
  // "mTLS", "TLS" or "plaintext", for the startup log line.
  const std::string& transport() const { return transport_; }

  // Starts / stops watching --policy_file (no-op without one).
  void Start();
  void Stop();

 private:
  ServerAuth() = default;

  std::unique_ptr<AuthMetrics> metrics_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<PolicyWatcher> watcher_;     // with --policy_file
  std::unique_ptr<StaticPolicySource> fixed_;  // without
  std::unique_ptr<RateLimiter> limiter_;
  std::unique_ptr<Authorizer> authorizer_;
  std::unique_ptr<CallerResolver> resolver_;
  std::unique_ptr<GrpcAccessControl> access_control_;
  std::shared_ptr<::grpc::ServerCredentials> credentials_;
  std::string transport_;
};

}  // namespace tokend::auth
