#pragma once

#include <atomic>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/server.h"
#include "prometheus/registry.h"
#include "services/tokend/auth/server_auth.h"
#include "services/tokend/core/denylist.h"
#include "services/tokend/core/denylist_syncer.h"
#include "services/tokend/core/store_pruner.h"
#include "services/tokend/core/token_metrics.h"
#include "services/tokend/core/token_service.h"
#include "services/tokend/grpc/rpc_metrics.h"
#include "services/tokend/grpc/token_service_grpc.h"
#include "services/tokend/http/http_server.h"
#include "services/tokend/http/readiness.h"
#include "services/tokend/server/health.h"
#include "services/tokend/server/server_config.h"
#include "services/tokend/server/signing_keys.h"
#include "services/tokend/server/storage_factory.h"
#include "util/clock.h"

namespace tokend::server {

// One running tokend: the stores, caller authentication, signing keys, the denylist and its
// syncer, the token service and its gRPC and HTTP faces, wired from a ServerConfig.
//
// Create() builds everything in dependency order and starts serving; on failure it returns the
// first error with everything built so far torn down. Errors: INVALID_ARGUMENT when the
// configuration cannot work (bad TLS files or policy, unusable keys); anything else when the
// environment failed (database unreachable or not migrated, a port in use, a wrong KEK).
// Members are declared in dependency order, so destruction is the shutdown order. Drain() is
// the graceful path; the destructor drains with no grace if Drain() was not called.
class Server {
 public:
  static absl::StatusOr<std::unique_ptr<Server>> Create(ServerConfig config);
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server();

  int grpc_port() const { return grpc_port_; }
  int http_port() const;

  // Stops attracting traffic (health NOT_SERVING, /readyz 503), lets in-flight calls finish
  // until `deadline`, then stops every background task. Idempotent.
  void Drain(absl::Time deadline);

 private:
  explicit Server(ServerConfig config);
  absl::Status Build();
  absl::Status StartGrpc();
  absl::Status StartHttp();
  absl::Status DatabaseReport();
  void PublishPoolGauges();
  void LogServing() const;

  ServerConfig config_;
  util::SystemClock clock_;
  prometheus::Registry registry_;
  // RPC metrics first, so /metrics lists them first, as before.
  std::unique_ptr<grpc::RpcMetrics> rpc_metrics_;
  std::unique_ptr<core::TokenMetrics> metrics_;
  Storage storage_;
  std::unique_ptr<auth::ServerAuth> auth_;
  std::unique_ptr<SigningKeys> signing_keys_;
  std::unique_ptr<core::Denylist> denylist_;
  std::unique_ptr<core::DenylistSyncer> syncer_;
  std::unique_ptr<core::StorePruner> pruner_;
  std::unique_ptr<core::TokenService> service_;
  std::unique_ptr<grpc::TokenServiceGrpc> adapter_;
  std::atomic<bool> draining_{false};
  std::atomic<bool> database_reachable_{true};
  std::unique_ptr<http::Readiness> readiness_;
  std::unique_ptr<::grpc::Server> grpc_server_;
  int grpc_port_ = 0;
  std::unique_ptr<HealthPublisher> health_;
  std::unique_ptr<http::HttpServer> http_server_;
  bool drained_ = false;
};

}  // namespace tokend::server
