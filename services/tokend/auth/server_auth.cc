#include "services/tokend/auth/server_auth.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "grpcpp/security/server_credentials.h"
#include "util/log.h"

namespace tokend::auth {

absl::Status ValidateServerAuthOptions(const ServerAuthOptions& options) {
  const bool tls = !options.tls.cert.empty() || !options.tls.key.empty();
  if (options.insecure && tls) {
    return absl::InvalidArgumentError(
        "--insecure and --tls_cert/--tls_key are exclusive: choose plaintext or TLS");
  }
  if (!options.insecure && !tls) {
    // Tokens are bearer credentials: plaintext must be an explicit choice.
    return absl::InvalidArgumentError(
        "refusing to start without transport security: pass --tls_cert and --tls_key (and "
        "--tls_client_ca for mutual TLS), or --insecure for plaintext gRPC (local development, "
        "or behind a sidecar that terminates mTLS; see docs/security.md)");
  }
  if (tls && (options.tls.cert.empty() || options.tls.key.empty())) {
    return absl::InvalidArgumentError("--tls_cert and --tls_key must be given together");
  }
  if (!options.tls.client_ca.empty() && !tls) {
    return absl::InvalidArgumentError("--tls_client_ca needs --tls_cert and --tls_key");
  }
  if (options.trust_forwarded_client_cert) {
    absl::StatusOr<TrustedProxies> proxies = TrustedProxies::Parse(options.trusted_proxies);
    if (!proxies.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--trusted_proxy: ", proxies.status().message()));
    }
    if (proxies->empty()) {
      return absl::InvalidArgumentError(
          "--trust_forwarded_client_cert needs --trusted_proxy (e.g. 127.0.0.1/32,::1/128)");
    }
  }
  if (options.policy_poll_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--policy_reload_interval must be positive");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ServerAuth>> ServerAuth::Create(const ServerAuthOptions& options,
                                                               const util::Clock& clock,
                                                               prometheus::Registry& registry) {
  if (absl::Status status = ValidateServerAuthOptions(options); !status.ok()) return status;
  std::unique_ptr<ServerAuth> auth(new ServerAuth());
  auth->metrics_ = std::make_unique<AuthMetrics>(registry);

  if (options.audit_log.empty() || options.audit_log == "-") {
    auth->audit_ = AuditLog::ToStderr(clock, auth->metrics_.get());
  } else {
    absl::StatusOr<std::unique_ptr<AuditLog>> file =
        AuditLog::ToFile(options.audit_log, clock, auth->metrics_.get());
    if (!file.ok()) return file.status();
    auth->audit_ = *std::move(file);
  }

  const PolicySource* policies = nullptr;
  if (!options.policy_file.empty()) {
    PolicyWatcher::Options watch;
    watch.poll_interval = options.policy_poll_interval;
    absl::StatusOr<std::unique_ptr<PolicyWatcher>> watcher = PolicyWatcher::Open(
        options.policy_file, watch, clock, auth->audit_.get(), auth->metrics_.get());
    if (!watcher.ok()) {
      return absl::Status(watcher.status().code(),
                          absl::StrCat("--policy_file: ", watcher.status().message()));
    }
    auth->watcher_ = *std::move(watcher);
    policies = auth->watcher_.get();
  } else if (options.insecure) {
    log::Warning(
        "*** no --policy_file with --insecure: EVERY caller may call EVERY RPC, anonymous "
        "callers included (local development only). Give a --policy_file to enforce caller "
        "permissions. ***");
    auth->fixed_ = std::make_unique<StaticPolicySource>(Policy::AllowAll());
    policies = auth->fixed_.get();
  } else {
    log::Warning(
        "no --policy_file: authenticated callers may only use Verify and GetJwks; Issue, "
        "Refresh, Revoke and key administration are denied to everyone");
    auth->fixed_ = std::make_unique<StaticPolicySource>(Policy::Default());
    policies = auth->fixed_.get();
  }

  auth->limiter_ = std::make_unique<RateLimiter>(clock);
  Authorizer::Options authorizer_options;
  authorizer_options.server_default_ttl = options.server_default_ttl;
  auth->authorizer_ = std::make_unique<Authorizer>(*policies, auth->limiter_.get(),
                                                   auth->metrics_.get(), authorizer_options);

  TrustedProxies proxies;
  CallerResolver::ForwardedCerts forwarded = CallerResolver::ForwardedCerts::kIgnore;
  if (options.trust_forwarded_client_cert) {
    proxies = *TrustedProxies::Parse(options.trusted_proxies);  // validated above
    forwarded = CallerResolver::ForwardedCerts::kTrustFromProxies;
    log::Info(absl::StrCat("caller identity: x-forwarded-client-cert is trusted from ",
                           absl::StrJoin(options.trusted_proxies, ", "), " only"));
  }
  auth->resolver_ = std::make_unique<CallerResolver>(forwarded, std::move(proxies));
  auth->access_control_ =
      std::make_unique<GrpcAccessControl>(*auth->resolver_, *auth->authorizer_, auth->audit_.get());

  if (options.insecure) {
    log::Warning(
        "--insecure: gRPC is served in PLAINTEXT; tokens and refresh tokens cross the network "
        "in clear unless a local sidecar terminates TLS in front of tokend");
    auth->credentials_ = ::grpc::InsecureServerCredentials();
    auth->transport_ = "plaintext";
  } else {
    if (absl::Status status = ValidateTlsFiles(options.tls); !status.ok()) return status;
    auth->credentials_ = MakeTlsServerCredentials(options.tls);
    auth->transport_ = options.tls.client_ca.empty() ? "TLS" : "mTLS";
    if (options.tls.client_ca.empty() && !options.trust_forwarded_client_cert) {
      log::Warning(
          "TLS without --tls_client_ca: clients present no certificate, so every caller is "
          "anonymous (only an `id: anonymous` policy entry can grant anything)");
    }
  }
  return auth;
}

ServerAuth::~ServerAuth() { Stop(); }

void ServerAuth::Start() {
  if (watcher_ != nullptr) watcher_->Start();
}

void ServerAuth::Stop() {
  if (watcher_ != nullptr) watcher_->Stop();
}

}  // namespace tokend::auth
