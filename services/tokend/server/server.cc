#include "services/tokend/server/server.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "jwt/algorithm.h"
#include "services/tokend/auth/call_audit.h"
#include "util/log.h"

namespace tokend::server {
namespace {

absl::Status WriteReadyFile(const std::string& path, int grpc_port, int http_port) {
  std::string tmp = absl::StrCat(path, ".tmp.", getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << "{\"grpc_port\":" << grpc_port << ",\"http_port\":" << http_port << "}\n";
    out.flush();
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", tmp));
  }
  // rename(2) is atomic: a reader sees no file or the whole file, never half of it.
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    (void)std::remove(tmp.c_str());  // best effort: the rename error is what is reported
    return absl::InternalError(
        // NOLINTNEXTLINE(concurrency-mt-unsafe): only called once, while the server starts.
        absl::StrCat("cannot rename ", tmp, " to ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

// "host:port" / "[v6]:port" without the port.
std::string HostOf(const std::string& address) {
  size_t colon = address.rfind(':');
  return colon == std::string::npos ? address : address.substr(0, colon);
}

// A store that cannot be opened: a schema mismatch says how to fix it.
absl::Status StorageError(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kFailedPrecondition) {
    return {status.code(), absl::StrCat("cannot open the store: ", status.ToString())};
  }
  std::string message(status.message());
  if (message.find("tokend migrate") == std::string::npos) {
    absl::StrAppend(&message, ": run `tokend migrate --store=...` first");
  }
  return absl::FailedPreconditionError(
      absl::StrCat("refusing to start, database schema mismatch: ", message));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Server>> Server::Create(ServerConfig config) {
  std::unique_ptr<Server> server(new Server(std::move(config)));
  if (absl::Status status = server->Build(); !status.ok()) return status;
  return server;
}

Server::Server(ServerConfig config) : config_(std::move(config)) {}

Server::~Server() { Drain(clock_.Now()); }

int Server::http_port() const { return http_server_ != nullptr ? http_server_->port() : 0; }

absl::Status Server::Build() {
  rpc_metrics_ = std::make_unique<grpc::RpcMetrics>(registry_);
  metrics_ = std::make_unique<core::TokenMetrics>(registry_);
  const bool managed_keys = config_.keks.has_value();

  absl::StatusOr<Storage> storage = OpenStorage(config_.store, config_.postgres, managed_keys);
  if (!storage.ok()) return StorageError(storage.status());
  storage_ = *std::move(storage);

  // Who may call what (TLS credentials, policy, audit log); before anything can mint a token.
  absl::StatusOr<std::unique_ptr<auth::ServerAuth>> server_auth =
      auth::ServerAuth::Create(config_.auth, clock_, registry_);
  if (!server_auth.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("refusing to start: ", server_auth.status().message()));
  }
  auth_ = *std::move(server_auth);

  auth::AuditLog& audit = auth_->audit();
  core::TokenMetrics& metrics = *metrics_;
  absl::StatusOr<std::unique_ptr<SigningKeys>> signing_keys = SigningKeys::Open(
      config_, storage_.key_store.get(), storage_.key_feed.get(), clock_, registry_,
      [&metrics, &audit, managed_keys](const jwt::SigningKey& key) {
        metrics.SetActiveSigningKey(key.kid(), jwt::AlgorithmName(key.algorithm()));
        if (managed_keys) {
          audit.Record(auth::KeyAuditEvent("signing_key_changed", key.kid(), "", absl::OkStatus()));
        }
      });
  if (!signing_keys.ok()) return signing_keys.status();
  signing_keys_ = *std::move(signing_keys);
  keys::KeyRing& ring = signing_keys_->ring();

  denylist_ = std::make_unique<core::Denylist>(config_.freshness);
  syncer_ = std::make_unique<core::DenylistSyncer>(
      *denylist_, *storage_.token_store, *storage_.revocation_feed, clock_, metrics,
      core::DenylistSyncer::Options{.reload_interval = config_.denylist_reload_interval,
                                    .max_staleness = config_.freshness.max_staleness,
                                    .fail_mode = config_.freshness.fail_mode});
  if (absl::Status status = syncer_->Start(); !status.ok()) {
    // The syncer keeps retrying; until a load succeeds, /readyz says why and Verify fails closed.
    log::Warning(absl::StrCat("denylist: initial load failed, retrying in the background: ",
                              status.ToString()));
  }
  pruner_ = std::make_unique<core::StorePruner>(*storage_.token_store, clock_, config_.pruner);
  pruner_->Start();

  core::ServiceConfig service_config = config_.service;
  service_config.on_refresh_reuse = [&audit](const core::RefreshReuseEvent& event) {
    audit.Record(auth::RefreshReuseAuditEvent(event.presenter_client_id, event.owner_client_id,
                                              event.subject, event.family_id));
  };
  service_ = std::make_unique<core::TokenService>(service_config, ring, *storage_.token_store,
                                                  *denylist_, clock_, metrics);

  grpc::TokenServiceGrpc::Options adapter_options;
  adapter_options.blocking_threads = config_.blocking_threads;
  adapter_options.blocking_queue = static_cast<size_t>(config_.blocking_threads) * 32;
  adapter_options.key_manager = signing_keys_->manager();
  adapter_options.key_admin_rpcs = config_.key_admin_rpcs;
  adapter_options.access_control = &auth_->access_control();
  adapter_ = std::make_unique<grpc::TokenServiceGrpc>(*service_, *rpc_metrics_, adapter_options);

  // Each rule belongs to its owner; Readiness runs them together, once a second. The database
  // is reported, not gated on: Verify and Issue need none, and an outage must not take every
  // replica out of load balancing at once (tokend_store_up and its alert tell operators).
  readiness_ = std::make_unique<http::Readiness>(std::vector<http::Readiness::Check>{
      {"shutdown",
       [this] { return draining_.load() ? absl::UnavailableError("draining") : absl::OkStatus(); }},
      {"signing_key", [this] { return signing_keys_->Readiness(); }},
      {"denylist", [this] { return denylist_->Readiness(clock_.Now()); }},
      {"database", [this] { return DatabaseReport(); }, http::Readiness::Kind::kReport},
  });

  if (absl::Status status = StartGrpc(); !status.ok()) return status;
  auth_->Start();  // --policy_file reloads from here on
  health_ = std::make_unique<HealthPublisher>(*readiness_, grpc_server_->GetHealthCheckService(),
                                              [this] { PublishPoolGauges(); });
  health_->Start();
  if (absl::Status status = StartHttp(); !status.ok()) return status;

  LogServing();
  if (!config_.ready_file.empty()) {
    if (absl::Status status = WriteReadyFile(config_.ready_file, grpc_port_, http_port());
        !status.ok()) {
      log::Error(std::string{status.message()});
    }
  }
  return absl::OkStatus();
}

absl::Status Server::StartGrpc() {
  ::grpc::EnableDefaultHealthCheckService(true);
  ::grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  ::grpc::ServerBuilder builder;
  builder.AddListeningPort(config_.grpc_listen, auth_->credentials(), &grpc_port_);
  builder.RegisterService(adapter_.get());
  builder.SetMaxReceiveMessageSize(1 << 20);  // requests are small; bound what a client can send
  grpc_server_ = builder.BuildAndStart();
  if (grpc_server_ == nullptr || grpc_port_ == 0) {
    grpc_server_.reset();
    return absl::UnavailableError(absl::StrCat("cannot listen for gRPC on ", config_.grpc_listen));
  }
  return absl::OkStatus();
}

absl::Status Server::StartHttp() {
  http::HttpServer::Options options;
  options.listen = config_.http_listen;
  options.issuer = config_.service.issuer;
  options.jwks_max_age = config_.service.jwks_max_age;
  http::HttpServer::Sources sources;
  sources.registry = &registry_;
  sources.jwks_json = [this] { return service_->JwksJson(); };
  sources.signing_algorithms = [this] {
    std::set<std::string> algs;
    for (const jwt::VerificationKey& key : signing_keys_->ring().VerificationKeys()->keys()) {
      // HMAC keys are never published, so no third party can verify with them.
      if (key.algorithm() != jwt::Algorithm::kHS256) {
        algs.insert(std::string(jwt::AlgorithmName(key.algorithm())));
      }
    }
    return std::vector<std::string>(algs.begin(), algs.end());
  };
  sources.readiness = readiness_.get();
  absl::StatusOr<std::unique_ptr<http::HttpServer>> http_server =
      http::HttpServer::Start(options, sources);
  if (!http_server.ok()) return http_server.status();
  http_server_ = *std::move(http_server);
  return absl::OkStatus();
}

absl::Status Server::DatabaseReport() {
  const absl::Status status = storage_.token_store->Ping();
  // The detail (libpq's message may name hosts and ports) goes to the log, once per change;
  // the unauthenticated /readyz body gets a generic word.
  if (database_reachable_.exchange(status.ok()) != status.ok()) {
    if (status.ok()) {
      log::Info("database: reachable again");
    } else {
      log::Warning(absl::StrCat("database: unreachable: ", status.ToString()));
    }
  }
  return status.ok() ? status : absl::UnavailableError("unreachable");
}

void Server::PublishPoolGauges() {
  if (!storage_.pool_stats) return;
  const storage::PostgresPoolStats pool = storage_.pool_stats();
  metrics_->SetDbPoolConnections(static_cast<size_t>(std::max(0, pool.open - pool.in_use)),
                                 static_cast<size_t>(pool.in_use));
}

void Server::LogServing() const {
  const std::string grpc_address = absl::StrCat(HostOf(config_.grpc_listen), ":", grpc_port_);
  const std::string http_address = absl::StrCat(HostOf(config_.http_listen), ":", http_port());
  log::Info(absl::StrCat(
      "serving gRPC (", auth_->transport(), ") on ", grpc_address, ", HTTP on ", http_address,
      "; store: ", config_.store.memory ? "memory" : log::RedactDsn(config_.store.dsn)));
  log::Info(absl::StrCat("try: tokenctl --addr=", grpc_address,
                         " issue --subject=alice --audience=api | tokenctl --addr=", grpc_address,
                         " verify --audience=api ; curl http://", http_address, "/readyz"));
}

void Server::Drain(absl::Time deadline) {
  if (drained_) return;
  drained_ = true;
  // Stop attracting traffic first, then let in-flight calls finish within the deadline.
  draining_.store(true);
  if (health_ != nullptr) health_->Shutdown();
  if (grpc_server_ != nullptr) grpc_server_->Shutdown(absl::ToChronoTime(deadline));
  if (adapter_ != nullptr) adapter_->Shutdown();
  if (auth_ != nullptr) auth_->Stop();
  if (signing_keys_ != nullptr) signing_keys_->Stop();
  if (pruner_ != nullptr) pruner_->Stop();
  if (syncer_ != nullptr) syncer_->Stop();
  if (http_server_ != nullptr) http_server_->Stop();
  if (!config_.ready_file.empty() && grpc_port_ != 0) {
    (void)std::remove(config_.ready_file.c_str());  // best effort at exit
  }
}

}  // namespace tokend::server
