#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "jwt/algorithm.h"
#include "services/tokend/auth/server_auth.h"
#include "services/tokend/core/denylist.h"
#include "services/tokend/core/store_pruner.h"
#include "services/tokend/core/token_service.h"
#include "services/tokend/keys/kek_loader.h"
#include "services/tokend/keys/key_manager.h"
#include "storage/postgres/postgres_options.h"

namespace tokend::server {

// --store, parsed: the embedded memory store or a PostgreSQL DSN (URI or key=value).
struct StoreSpec {
  bool memory = false;
  std::string dsn;
};

// Everything the server is told at start, validated, with the secrets it needs already loaded.
// Built by ServerConfigFromFlags (flags.h) or by a test; consumed by Server::Create.
struct ServerConfig {
  std::string grpc_listen = "127.0.0.1:50051";
  std::string http_listen = "127.0.0.1:9090";
  StoreSpec store{.memory = true, .dsn = ""};
  storage::PostgresOptions postgres;  // with the --db_* flags; unused for the memory store

  core::ServiceConfig service;  // issuer, lifetimes, refresh derivation secret

  // Signing keys: managed in the store under a KEK when `keks` is set, else the static files
  // (or one generated key of `signing_alg` when there are none).
  std::optional<keys::KekRing> keks;
  std::vector<std::string> signing_key_files;
  jwt::Algorithm signing_alg = jwt::Algorithm::kEdDSA;
  keys::KeyManagerOptions key_manager;

  core::FreshnessPolicy freshness;
  absl::Duration denylist_reload_interval = absl::Seconds(5);
  core::StorePruner::Options pruner;

  auth::ServerAuthOptions auth;
  bool key_admin_rpcs = false;
  int blocking_threads = 8;  // threads (and connections) for database-bound RPCs

  std::string ready_file;  // {"grpc_port":N,"http_port":M} once serving
  absl::Duration drain_timeout = absl::Seconds(10);
};

}  // namespace tokend::server
