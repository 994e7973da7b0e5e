// tokend: the token service binary. Flags and wiring; the only file that sees every layer.
//
//   tokend --insecure [--store=memory|postgresql://...] [--signing_key=a.pem,b.jwk] ...
//   tokend migrate --store=postgresql://...
//   tokend keys list|rotate|remove|import|rewrap --store=postgresql://... --kek_file=...
//
// Every flag can also be set from the environment as TOKEND_<FLAG NAME IN UPPER CASE>
// (e.g. TOKEND_STORE); a flag given on the command line wins.

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "jwt/algorithm.h"
#include "jwt/secret_data.h"
#include "prometheus/registry.h"
#include "services/tokend/auth/audit_log.h"
#include "services/tokend/auth/call_audit.h"
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
#include "services/tokend/keys/kek_loader.h"
#include "services/tokend/keys/key_manager.h"
#include "services/tokend/keys/key_metrics.h"
#include "services/tokend/keys/key_ring.h"
#include "services/tokend/keys/refresh_secret.h"
#include "services/tokend/keys_command.h"
#include "storage/key_store.h"
#include "storage/memory/memory_key_change_feed.h"
#include "storage/memory/memory_key_store.h"
#include "storage/memory/memory_revocation_feed.h"
#include "storage/memory/memory_token_store.h"
#include "storage/postgres/migrations.h"
#include "storage/postgres/postgres_key_change_feed.h"
#include "storage/postgres/postgres_key_store.h"
#include "storage/postgres/postgres_revocation_feed.h"
#include "storage/postgres/postgres_token_store.h"
#include "storage/token_store.h"
#include "util/clock.h"
#include "util/log.h"

ABSL_FLAG(std::string, grpc_listen, "127.0.0.1:50051",
          "gRPC listen address (host:port; port 0: any)");
ABSL_FLAG(std::string, http_listen, "127.0.0.1:9090",
          "HTTP listen address for /metrics, /healthz, /readyz and the JWKS (port 0: any)");
ABSL_FLAG(std::string, store, "memory",
          "\"memory\" (not durable: one replica, lost on exit), a postgresql:// URI, or "
          "\"postgresql:\" followed by a libpq key=value DSN");
ABSL_FLAG(std::string, issuer, "tokend", "the iss claim of every token");
ABSL_FLAG(std::vector<std::string>, signing_key, {},
          "private key files (PEM or JWK), comma-separated; the first signs, all verify. "
          "Unset: one key of --signing_alg is generated at start");
ABSL_FLAG(std::string, signing_alg, "EdDSA",
          "algorithm of the generated key when --signing_key is unset: EdDSA, ES256, RS256, HS256");
ABSL_FLAG(absl::Duration, access_ttl_default, absl::Minutes(10), "access token lifetime default");
ABSL_FLAG(absl::Duration, access_ttl_max, absl::Minutes(15), "longest access token lifetime");
ABSL_FLAG(absl::Duration, refresh_ttl, absl::Hours(24 * 14), "refresh token lifetime");
ABSL_FLAG(absl::Duration, refresh_family_ttl, absl::Hours(24 * 90),
          "absolute lifetime of a chain of refresh tokens");
ABSL_FLAG(absl::Duration, refresh_reuse_grace, absl::Seconds(10),
          "a spent refresh token retried within this window gets the same child (0: never)");
ABSL_FLAG(absl::Duration, clock_skew, absl::Seconds(30), "tolerated clock skew (max 5m)");
ABSL_FLAG(absl::Duration, jwks_max_age, absl::Minutes(10), "how long clients may cache the JWKS");
ABSL_FLAG(absl::Duration, denylist_max_staleness, absl::Seconds(60),
          "Verify answers UNAVAILABLE when the denylist was not synced for this long");
ABSL_FLAG(bool, denylist_fail_open, false,
          "answer Verify from a stale denylist instead of UNAVAILABLE (availability over "
          "prompt revocation)");
ABSL_FLAG(absl::Duration, denylist_reload_interval, absl::Seconds(5),
          "full denylist reload period");
ABSL_FLAG(absl::Duration, prune_interval, absl::Minutes(1),
          "how often expired revocations and refresh tokens are deleted from the store (0: never)");
ABSL_FLAG(int, prune_batch_size, 1000, "rows deleted per pruning statement");
ABSL_FLAG(int, db_pool_size, 8, "PostgreSQL connections (and threads for database-bound RPCs)");
ABSL_FLAG(absl::Duration, db_timeout, absl::Seconds(2), "deadline of each database call");
ABSL_FLAG(bool, insecure, false,
          "serve gRPC in plaintext (local development, or behind a sidecar that terminates "
          "mTLS); without it --tls_cert and --tls_key are required");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate chain of the gRPC port (re-read when it changes)");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert (re-read when it changes)");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA bundle: clients must present a certificate that chains to it (mutual TLS; "
          "their SPIFFE ID, DNS name or CN is their identity)");
ABSL_FLAG(absl::Duration, tls_reload_interval, absl::Seconds(10),
          "how often the TLS files are checked for changes");
ABSL_FLAG(std::string, policy_file, "",
          "YAML caller policy: who may call which RPC and mint what (docs/security.md); "
          "reloaded on change. Unset: everything is allowed with --insecure (development), "
          "only Verify and GetJwks with TLS");
ABSL_FLAG(absl::Duration, policy_reload_interval, absl::Seconds(1),
          "how often --policy_file is checked for changes");
ABSL_FLAG(bool, trust_forwarded_client_cert, false,
          "take the caller's identity from x-forwarded-client-cert (Envoy/Istio), only when "
          "the call comes from a --trusted_proxy");
ABSL_FLAG(std::vector<std::string>, trusted_proxy,
          std::vector<std::string>({"127.0.0.1/32", "::1/128"}),
          "with --trust_forwarded_client_cert: the proxies (CIDR blocks, or \"unix\") whose "
          "x-forwarded-client-cert is believed");
ABSL_FLAG(std::string, audit_log, "",
          "file the audit trail (one JSON line per Issue, Refresh, Revoke, reuse, policy reload "
          "and key event) is appended to; empty: stderr");
ABSL_FLAG(std::string, refresh_secret_file, "",
          "file with 32+ bytes shared by all replicas for deriving refresh tokens (or env "
          "TOKEND_REFRESH_SECRET); required with PostgreSQL, generated with --store=memory");
ABSL_FLAG(std::string, ready_file, "",
          "once serving, atomically write {\"grpc_port\":N,\"http_port\":M} to this file");
ABSL_FLAG(std::string, kek_file, "",
          "key-encryption key (32 bytes, raw or base64; or env TOKEND_KEK): tokend then manages "
          "its signing keys in the store, sealed under it, and rotates them itself "
          "(docs/keys.md). Exclusive with --signing_key");
ABSL_FLAG(std::string, previous_kek_file, "",
          "during a KEK rotation: the old key-encryption key, to open keys not yet re-sealed "
          "(`tokend keys rewrap`)");
ABSL_FLAG(absl::Duration, key_rotation_period, absl::Hours(24),
          "with --kek_file: how long a signing key signs before the next one takes over (never "
          "sooner than it has been published for --jwks_max_age plus margins)");
ABSL_FLAG(absl::Duration, key_reload_interval, absl::Seconds(10),
          "with --kek_file: full reload of the signing keys (changes arrive sooner by "
          "LISTEN/NOTIFY)");
ABSL_FLAG(bool, key_admin_rpcs, false,
          "serve RotateSigningKey, ListSigningKeys and RemoveSigningKey over gRPC (only where "
          "every caller that reaches the port may administer keys)");
ABSL_FLAG(absl::Duration, drain_timeout, absl::Seconds(10),
          "on SIGTERM, how long in-flight calls may take to finish");

namespace tokend {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// The flags settable from TOKEND_<NAME>; kept in one list so --help and the env agree.
constexpr const char* kEnvFlags[] = {"grpc_listen",
                                     "http_listen",
                                     "store",
                                     "issuer",
                                     "signing_key",
                                     "signing_alg",
                                     "access_ttl_default",
                                     "access_ttl_max",
                                     "refresh_ttl",
                                     "refresh_family_ttl",
                                     "refresh_reuse_grace",
                                     "clock_skew",
                                     "jwks_max_age",
                                     "denylist_max_staleness",
                                     "denylist_fail_open",
                                     "denylist_reload_interval",
                                     "db_pool_size",
                                     "db_timeout",
                                     "insecure",
                                     "refresh_secret_file",
                                     "ready_file",
                                     "drain_timeout",
                                     "kek_file",
                                     "previous_kek_file",
                                     "key_rotation_period",
                                     "key_reload_interval",
                                     "key_admin_rpcs",
                                     "tls_cert",
                                     "tls_key",
                                     "tls_client_ca",
                                     "tls_reload_interval",
                                     "policy_file",
                                     "policy_reload_interval",
                                     "trust_forwarded_client_cert",
                                     "trusted_proxy",
                                     "audit_log"};

// Applies TOKEND_<NAME> for every flag in kEnvFlags. Runs before ParseCommandLine, so a flag
// given on the command line overrides its environment variable.
absl::Status ApplyEnvironment() {
  for (const char* name : kEnvFlags) {
    std::string env_name = absl::StrCat("TOKEND_", absl::AsciiStrToUpper(name));
    // NOLINTNEXTLINE(concurrency-mt-unsafe): startup, before any thread.
    const char* value = std::getenv(env_name.c_str());
    if (value == nullptr) continue;
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr) continue;
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      // The value itself is not echoed: an env var may hold something sensitive.
      return absl::InvalidArgumentError(absl::StrCat(env_name, ": ", error));
    }
  }
  return absl::OkStatus();
}

// --store=... parsed.
struct StoreSpec {
  bool memory = false;
  std::string dsn;  // libpq URI or key=value DSN
};

absl::StatusOr<StoreSpec> ParseStore(const std::string& store) {
  StoreSpec spec;
  if (store == "memory") {
    spec.memory = true;
  } else if (absl::StartsWith(store, "postgresql://") || absl::StartsWith(store, "postgres://")) {
    spec.dsn = store;
  } else if (absl::StartsWith(store, "postgresql:")) {
    spec.dsn = store.substr(std::strlen("postgresql:"));
  } else {
    return absl::InvalidArgumentError(
        R"(--store must be "memory", a postgresql:// URI or "postgresql:" + a key=value DSN)");
  }
  if (!spec.memory && absl::StripAsciiWhitespace(spec.dsn).empty()) {
    return absl::InvalidArgumentError("--store: empty PostgreSQL DSN");
  }
  return spec;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// The refresh derivation secret: --refresh_secret_file, else env TOKEND_REFRESH_SECRET, else
// derived from the KEK (when keys are managed), else (memory store only) empty, which core
// turns into a random per-process secret.
absl::StatusOr<jwt::SecretData> LoadRefreshSecret(const StoreSpec& store, const keys::Kek* kek) {
  std::string bytes;
  std::string source;
  if (std::string path = absl::GetFlag(FLAGS_refresh_secret_file); !path.empty()) {
    absl::StatusOr<std::string> content = ReadFile(path);
    if (!content.ok()) return content.status();
    bytes = *std::move(content);
    source = path;
    // NOLINTNEXTLINE(concurrency-mt-unsafe): startup, before any thread.
  } else if (const char* env = std::getenv("TOKEND_REFRESH_SECRET"); env != nullptr) {
    bytes = env;
    source = "TOKEND_REFRESH_SECRET";
  }
  // Trailing whitespace is dropped so `echo secret > file` and the env var agree.
  while (!bytes.empty() && std::isspace(static_cast<unsigned char>(bytes.back())) != 0) {
    bytes.pop_back();
  }
  if (bytes.empty()) {
    // Every replica holding the KEK derives the same secret: nothing more to distribute.
    if (kek != nullptr) return keys::DeriveRefreshDerivationSecret(*kek);
    if (store.memory) return jwt::SecretData();  // a single replica: a random secret is fine
    // Replicas sharing a database must derive the same child for a retried refresh; a random
    // per-process secret would make a retry on another replica look like reuse.
    return absl::FailedPreconditionError(
        "PostgreSQL store needs a shared refresh secret: --refresh_secret_file=PATH (32+ bytes), "
        "env TOKEND_REFRESH_SECRET, or a key-encryption key (--kek_file / TOKEND_KEK) to derive "
        "it from");
  }
  if (bytes.size() < 32) {
    return absl::InvalidArgumentError(
        absl::StrCat("refresh secret from ", source, " is shorter than 32 bytes"));
  }
  jwt::SecretData secret(bytes);
  std::fill(bytes.begin(), bytes.end(), '\0');
  return secret;
}

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

// Splits "host:port" / "[v6]:port"; the port part only.
std::string HostOf(const std::string& address) {
  size_t colon = address.rfind(':');
  return colon == std::string::npos ? address : address.substr(0, colon);
}

// The concrete store and feed chosen by --store; only main sees the technology.
struct Storage {
  std::unique_ptr<storage::TokenStore> store;
  std::unique_ptr<storage::RevocationFeed> feed;
  storage::PostgresTokenStore* postgres = nullptr;  // the store, when it is PostgreSQL
  // Managed signing keys only (--kek_file): where they live, and news of their changes.
  std::unique_ptr<storage::KeyStore> key_store;
  std::unique_ptr<storage::KeyChangeFeed> key_feed;
};

// libpq options of --store and the --db_* flags.
storage::PostgresOptions PostgresOptionsFor(const StoreSpec& spec) {
  storage::PostgresOptions options;
  options.dsn = spec.dsn;
  options.pool_size = absl::GetFlag(FLAGS_db_pool_size);
  options.statement_timeout = absl::GetFlag(FLAGS_db_timeout);
  options.acquire_timeout = absl::GetFlag(FLAGS_db_timeout);
  options.connect_timeout = absl::GetFlag(FLAGS_db_timeout);
  return options;
}

absl::StatusOr<Storage> OpenStorage(const StoreSpec& spec, bool managed_keys) {
  Storage out;
  if (spec.memory && managed_keys) {
    auto key_store = std::make_unique<storage::MemoryKeyStore>();
    out.key_feed = key_store->NewFeed();
    out.key_store = std::move(key_store);
  }
  if (spec.memory) {
    log::Warning(
        "*** --store=memory: refresh tokens and revocations live in this process only and are "
        "LOST on exit; run a single replica. Use --store=postgresql://... in production. ***");
    auto store = std::make_unique<storage::MemoryTokenStore>();
    out.feed = store->NewFeed();
    out.store = std::move(store);
    return out;
  }
  const storage::PostgresOptions options = PostgresOptionsFor(spec);
  absl::StatusOr<std::unique_ptr<storage::PostgresTokenStore>> store =
      storage::PostgresTokenStore::Connect(options);
  if (!store.ok()) return store.status();
  storage::PostgresFeedOptions feed_options;
  feed_options.log_warning = [](std::string_view message) {
    log::Warning(absl::StrCat("revocation feed: ", std::string(message)));
  };
  out.postgres = store->get();
  out.feed = std::make_unique<storage::PostgresRevocationFeed>(options, feed_options);
  out.store = *std::move(store);
  if (managed_keys) {
    absl::StatusOr<std::unique_ptr<storage::PostgresKeyStore>> key_store =
        storage::PostgresKeyStore::Connect(options);
    if (!key_store.ok()) return key_store.status();
    out.key_store = *std::move(key_store);
    storage::PostgresFeedOptions key_feed_options;
    key_feed_options.log_warning = [](std::string_view message) {
      log::Warning(std::string(message));
    };
    out.key_feed = std::make_unique<storage::PostgresKeyChangeFeed>(options, key_feed_options);
  }
  return out;
}

// The key-encryption keys: --kek_file or TOKEND_KEK (+ --previous_kek_file). nullopt when none
// is configured (signing keys are then not managed).
absl::StatusOr<std::optional<keys::KekRing>> LoadKeks() {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): startup, before any thread.
  const char* env = std::getenv("TOKEND_KEK");
  absl::StatusOr<keys::KekRing> keks =
      keys::LoadKekRing(absl::GetFlag(FLAGS_kek_file),
                        env != nullptr ? std::optional<std::string_view>(env) : std::nullopt,
                        absl::GetFlag(FLAGS_previous_kek_file));
  if (keks.ok()) return std::optional<keys::KekRing>(*std::move(keks));
  if (absl::IsNotFound(keks.status()) && absl::GetFlag(FLAGS_kek_file).empty() && env == nullptr) {
    if (!absl::GetFlag(FLAGS_previous_kek_file).empty()) {
      return absl::InvalidArgumentError("--previous_kek_file needs --kek_file or TOKEND_KEK");
    }
    return std::optional<keys::KekRing>();
  }
  return keks.status();
}

// The lifecycle settings of managed keys, from the flags.
keys::KeyManagerOptions KeyManagerOptionsFromFlags(jwt::Algorithm algorithm) {
  keys::KeyManagerOptions options;
  options.algorithm = algorithm;
  options.timings.rotation_period = absl::GetFlag(FLAGS_key_rotation_period);
  options.timings.jwks_max_age = absl::GetFlag(FLAGS_jwks_max_age);
  options.timings.access_ttl_max = absl::GetFlag(FLAGS_access_ttl_max);
  options.timings.clock_skew = absl::GetFlag(FLAGS_clock_skew);
  options.reload_interval = absl::GetFlag(FLAGS_key_reload_interval);
  // A change reaches every replica within one reload (NOTIFY is usually far faster), plus slack.
  options.timings.propagation = options.reload_interval + absl::Seconds(1);
  return options;
}

int RunKeys(const std::vector<std::string>& args) {
  absl::StatusOr<StoreSpec> spec = ParseStore(absl::GetFlag(FLAGS_store));
  if (!spec.ok()) {
    log::Error(std::string{spec.status().message()});
    return kExitUsage;
  }
  std::optional<jwt::Algorithm> alg = jwt::AlgorithmFromName(absl::GetFlag(FLAGS_signing_alg));
  if (!alg) {
    log::Error("--signing_alg must be one of EdDSA, ES256, RS256");
    return kExitUsage;
  }
  KeysCommandContext context;
  context.memory_store = spec->memory;
  context.postgres = PostgresOptionsFor(*spec);
  context.postgres.pool_size = 1;
  context.kek_file = absl::GetFlag(FLAGS_kek_file);
  // NOLINTNEXTLINE(concurrency-mt-unsafe): startup, before any thread.
  if (const char* env = std::getenv("TOKEND_KEK"); env != nullptr) context.kek_env = env;
  context.previous_kek_file = absl::GetFlag(FLAGS_previous_kek_file);
  context.manager_options = KeyManagerOptionsFromFlags(*alg);
  return RunKeysCommand(args, context);
}

// Blocks SIGTERM and SIGINT in this thread and every thread started after, so sigwait() in
// main is the only place they are delivered.
sigset_t BlockShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

int RunMigrate(const std::string& store_flag) {
  absl::StatusOr<StoreSpec> spec = ParseStore(store_flag);
  if (!spec.ok() || spec->memory) {
    log::Error("tokend migrate needs --store=postgresql://... (or postgresql:<key=value DSN>)");
    return kExitUsage;
  }
  log::Info(absl::StrCat("migrate: applying migrations to ", log::RedactDsn(spec->dsn)));
  absl::Status status = storage::MigrateSchema(spec->dsn);
  if (!status.ok()) {
    log::Error(absl::StrCat("migrate failed: ", status.ToString()));
    return kExitFailure;
  }
  log::Info("migrate: schema is up to date");
  return kExitOk;
}

// Caller authentication flags (services/tokend/auth).
auth::ServerAuthOptions ServerAuthOptionsFromFlags() {
  auth::ServerAuthOptions options;
  options.insecure = absl::GetFlag(FLAGS_insecure);
  options.tls.cert = absl::GetFlag(FLAGS_tls_cert);
  options.tls.key = absl::GetFlag(FLAGS_tls_key);
  options.tls.client_ca = absl::GetFlag(FLAGS_tls_client_ca);
  options.tls.reload_interval = absl::GetFlag(FLAGS_tls_reload_interval);
  options.policy_file = absl::GetFlag(FLAGS_policy_file);
  options.policy_poll_interval = absl::GetFlag(FLAGS_policy_reload_interval);
  options.trust_forwarded_client_cert = absl::GetFlag(FLAGS_trust_forwarded_client_cert);
  options.trusted_proxies = absl::GetFlag(FLAGS_trusted_proxy);
  options.audit_log = absl::GetFlag(FLAGS_audit_log);
  options.server_default_ttl = absl::GetFlag(FLAGS_access_ttl_default);
  return options;
}

int RunServer(const sigset_t& signals) {
  // Plaintext must be a deliberate choice: tokens are bearer credentials.
  const auth::ServerAuthOptions auth_options = ServerAuthOptionsFromFlags();
  if (absl::Status status = auth::ValidateServerAuthOptions(auth_options); !status.ok()) {
    log::Error(std::string{status.message()});
    return kExitUsage;
  }
  absl::StatusOr<StoreSpec> store_spec = ParseStore(absl::GetFlag(FLAGS_store));
  if (!store_spec.ok()) {
    log::Error(std::string{store_spec.status().message()});
    return kExitUsage;
  }
  std::optional<jwt::Algorithm> alg = jwt::AlgorithmFromName(absl::GetFlag(FLAGS_signing_alg));
  if (!alg) {
    log::Error("--signing_alg must be one of EdDSA, ES256, RS256, HS256");
    return kExitUsage;
  }
  if (absl::GetFlag(FLAGS_db_pool_size) < 1) {
    log::Error("--db_pool_size must be at least 1");
    return kExitUsage;
  }
  // Managed signing keys (docs/keys.md) when a key-encryption key is configured.
  absl::StatusOr<std::optional<keys::KekRing>> keks = LoadKeks();
  if (!keks.ok()) {
    log::Error(std::string{keks.status().message()});
    return kExitUsage;
  }
  const bool managed_keys = keks->has_value();
  if (managed_keys && !absl::GetFlag(FLAGS_signing_key).empty()) {
    log::Error(
        "--signing_key and --kek_file/TOKEND_KEK are exclusive: with a KEK, tokend manages its "
        "keys in the store; bring existing keys under management with `tokend keys import`");
    return kExitUsage;
  }
  if (managed_keys && *alg == jwt::Algorithm::kHS256) {
    log::Error(
        "--signing_alg=HS256 cannot be used with managed keys: an HMAC secret is never "
        "published in the JWKS, so verifiers could not follow a rotation");
    return kExitUsage;
  }

  core::ServiceConfig config;
  config.issuer = absl::GetFlag(FLAGS_issuer);
  config.access_ttl_default = absl::GetFlag(FLAGS_access_ttl_default);
  config.access_ttl_max = absl::GetFlag(FLAGS_access_ttl_max);
  config.refresh_ttl = absl::GetFlag(FLAGS_refresh_ttl);
  config.refresh_family_ttl = absl::GetFlag(FLAGS_refresh_family_ttl);
  config.refresh_reuse_grace = absl::GetFlag(FLAGS_refresh_reuse_grace);
  config.clock_skew = absl::GetFlag(FLAGS_clock_skew);
  config.jwks_max_age = absl::GetFlag(FLAGS_jwks_max_age);
  {
    absl::StatusOr<jwt::SecretData> secret =
        LoadRefreshSecret(*store_spec, managed_keys ? &(*keks)->primary() : nullptr);
    if (!secret.ok()) {
      log::Error(std::string{secret.status().message()});
      return kExitUsage;
    }
    config.refresh_derivation_secret = *std::move(secret);
  }
  if (absl::Status status = core::TokenService::ValidateConfig(config); !status.ok()) {
    log::Error(absl::StrCat("invalid configuration: ", status.message()));
    return kExitUsage;
  }

  // Static keys (without a KEK): the configured files, else one fresh key (fine for a single
  // replica or a demo). Managed keys come from the key manager, once the store is open.
  std::unique_ptr<keys::KeyRing> static_ring;
  std::vector<jwt::SigningKey> signing_keys;
  if (managed_keys) {
    // Below.
  } else if (std::vector<std::string> paths = absl::GetFlag(FLAGS_signing_key); !paths.empty()) {
    absl::StatusOr<std::vector<jwt::SigningKey>> loaded = keys::LoadSigningKeyFiles(paths);
    if (!loaded.ok()) {
      log::Error(absl::StrCat("cannot load --signing_key: ", loaded.status().message()));
      return kExitUsage;
    }
    signing_keys = *std::move(loaded);
  } else {
    absl::StatusOr<jwt::SigningKey> generated = keys::GenerateSigningKey(*alg);
    if (!generated.ok()) {
      log::Error(absl::StrCat("cannot generate a signing key: ", generated.status().message()));
      return kExitFailure;
    }
    log::Warning(absl::StrCat("no --signing_key: generated a ",
                              std::string(jwt::AlgorithmName(generated->algorithm())),
                              " key for this process only (kid ", generated->kid(),
                              "); tokens will not verify after a restart or on other replicas "
                              "(--kek_file makes tokend keep and rotate its keys in the store)"));
    signing_keys.push_back(*std::move(generated));
  }
  if (!managed_keys) {
    absl::StatusOr<std::unique_ptr<keys::KeyRing>> key_ring =
        keys::KeyRing::FromSigningKeys(std::move(signing_keys));
    if (!key_ring.ok()) {
      log::Error(absl::StrCat("signing keys: ", key_ring.status().message()));
      return kExitUsage;
    }
    static_ring = *std::move(key_ring);
  }

  prometheus::Registry registry;
  grpc::RpcMetrics rpc_metrics(registry);
  core::TokenMetrics metrics(registry);
  if (static_ring != nullptr) {
    jwt::SigningKey active = static_ring->ActiveKey();
    metrics.SetActiveSigningKey(active.kid(), jwt::AlgorithmName(active.algorithm()));
  }

  if (!store_spec->memory) {
    log::Info(absl::StrCat("connecting to PostgreSQL at ", log::RedactDsn(store_spec->dsn)));
  }
  absl::StatusOr<Storage> storage = OpenStorage(*store_spec, managed_keys);
  if (!storage.ok()) {
    if (storage.status().code() == absl::StatusCode::kFailedPrecondition) {
      std::string message(storage.status().message());
      if (!absl::StrContains(message, "tokend migrate")) {
        absl::StrAppend(&message, ": run `tokend migrate --store=...` first");
      }
      log::Error(absl::StrCat("refusing to start, database schema mismatch: ", message));
    } else {
      log::Error(absl::StrCat("cannot open the store: ", storage.status().ToString()));
    }
    return kExitFailure;
  }

  util::SystemClock clock;

  // Who may call what (TLS credentials, policy, audit log); before anything can mint a token.
  absl::StatusOr<std::unique_ptr<auth::ServerAuth>> server_auth =
      auth::ServerAuth::Create(auth_options, clock, registry);
  if (!server_auth.ok()) {
    log::Error(absl::StrCat("refusing to start: ", server_auth.status().message()));
    return kExitUsage;
  }
  auth::AuditLog& audit = (*server_auth)->audit();

  // Managed keys: load (refusing a wrong KEK before anything is written), then keep rotating.
  std::unique_ptr<keys::KeyMetrics> key_metrics;
  std::unique_ptr<keys::KeyManager> key_manager;
  if (managed_keys) {
    key_metrics = std::make_unique<keys::KeyMetrics>(registry);
    keys::KeyManagerOptions key_options = KeyManagerOptionsFromFlags(*alg);
    key_options.on_signing_key_change = [&metrics, &audit](const jwt::SigningKey& key) {
      metrics.SetActiveSigningKey(key.kid(), jwt::AlgorithmName(key.algorithm()));
      audit.Record(auth::KeyAuditEvent("signing_key_changed", key.kid(), "", absl::OkStatus()));
    };
    absl::StatusOr<std::unique_ptr<keys::KeyManager>> opened =
        keys::KeyManager::Open(*storage->key_store, **keks, key_options, clock, key_metrics.get());
    if (!opened.ok()) {
      log::Error(absl::StrCat("refusing to start: signing keys: ", opened.status().ToString()));
      return kExitFailure;
    }
    key_manager = *std::move(opened);
    const keys::RotationPolicy& policy = key_manager->policy();
    log::Info(absl::StrCat(
        "signing keys: managed in the ", store_spec->memory ? "memory" : "PostgreSQL",
        " store under KEK ", (*keks)->primary().id(), "; rotation every ",
        absl::FormatDuration(std::max(policy.rotation_period(), policy.publish_lead())),
        ", next keys published ", absl::FormatDuration(policy.publish_lead()),
        " before they sign, retired keys kept ", absl::FormatDuration(policy.retire_window())));
    if (policy.rotation_period() < policy.publish_lead()) {
      log::Warning(absl::StrCat("--key_rotation_period (",
                                absl::FormatDuration(policy.rotation_period()),
                                ") is shorter than the publication lead; keys rotate every ",
                                absl::FormatDuration(policy.publish_lead()), " instead"));
    }
    if (absl::Status started = key_manager->Start(storage->key_feed.get()); !started.ok()) {
      log::Error(absl::StrCat("signing keys: ", started.ToString()));
      return kExitFailure;
    }
  }
  keys::KeyRing& ring = managed_keys ? *key_manager->key_ring() : *static_ring;

  core::FreshnessPolicy freshness;
  freshness.max_staleness = absl::GetFlag(FLAGS_denylist_max_staleness);
  freshness.fail_mode =
      absl::GetFlag(FLAGS_denylist_fail_open) ? core::FailMode::kOpen : core::FailMode::kClosed;
  core::Denylist denylist(freshness);
  core::DenylistSyncer::Options syncer_options;
  syncer_options.reload_interval = absl::GetFlag(FLAGS_denylist_reload_interval);
  syncer_options.max_staleness = freshness.max_staleness;
  syncer_options.fail_mode = freshness.fail_mode;
  core::DenylistSyncer syncer(denylist, *storage->store, *storage->feed, clock, metrics,
                              syncer_options);
  if (absl::Status status = syncer.Start(); !status.ok()) {
    // The syncer keeps retrying; until a load succeeds, /readyz says why and Verify fails closed.
    log::Warning(absl::StrCat("denylist: initial load failed, retrying in the background: ",
                              status.ToString()));
  }
  core::StorePruner pruner(*storage->store, clock,
                           {.interval = absl::GetFlag(FLAGS_prune_interval),
                            .batch_size = std::max(1, absl::GetFlag(FLAGS_prune_batch_size))});
  pruner.Start();

  config.on_refresh_reuse = [&audit](const core::RefreshReuseEvent& event) {
    audit.Record(auth::RefreshReuseAuditEvent(event.presenter_client_id, event.owner_client_id,
                                              event.subject, event.family_id));
  };
  core::TokenService service(config, ring, *storage->store, denylist, clock, metrics);

  grpc::TokenServiceGrpc::Options adapter_options;
  adapter_options.blocking_threads = absl::GetFlag(FLAGS_db_pool_size);
  adapter_options.blocking_queue = static_cast<size_t>(absl::GetFlag(FLAGS_db_pool_size)) * 32;
  adapter_options.key_manager = key_manager.get();
  adapter_options.key_admin_rpcs = absl::GetFlag(FLAGS_key_admin_rpcs);
  adapter_options.access_control = &(*server_auth)->access_control();
  grpc::TokenServiceGrpc adapter(service, rpc_metrics, adapter_options);

  // Readiness, shared by /readyz and the gRPC health service; evaluated once a second.
  std::atomic<bool> draining{false};
  storage::TokenStore& store = *storage->store;
  http::Readiness readiness({
      {"shutdown",
       [&draining] {
         return draining.load() ? absl::UnavailableError("draining") : absl::OkStatus();
       }},
      {"signing_key",
       [&ring, &key_manager] {
         if (ring.ActiveKey().kid().empty()) return absl::UnavailableError("no signing key");
         // A key due to sign that this replica cannot open (e.g. sealed under another KEK).
         if (key_manager != nullptr) {
           const absl::Status last = key_manager->LastTickStatus();
           if (last.code() == absl::StatusCode::kFailedPrecondition ||
               last.code() == absl::StatusCode::kDataLoss) {
             return absl::UnavailableError(std::string{last.message()});
           }
         }
         return absl::OkStatus();
       }},
      {"denylist",
       [&denylist, &clock, freshness] {
         absl::Time now = clock.Now();
         if (denylist.IsUsable(now)) return absl::OkStatus();
         absl::Time last = denylist.last_sync();
         if (last == absl::InfinitePast()) return absl::UnavailableError("never loaded");
         return absl::UnavailableError(absl::StrCat(
             "stale: last sync ", absl::FormatDuration(absl::Trunc(now - last, absl::Seconds(1))),
             " ago (max ", absl::FormatDuration(freshness.max_staleness), ")"));
       }},
      {"database",
       [&store] {
         absl::Status status = store.Ping();
         return status.ok() ? status
                            : absl::UnavailableError(absl::StrCat("down: ", status.message()));
       }},
  });

  ::grpc::EnableDefaultHealthCheckService(true);
  ::grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  ::grpc::ServerBuilder builder;
  int grpc_port = 0;
  const std::string grpc_listen = absl::GetFlag(FLAGS_grpc_listen);
  builder.AddListeningPort(grpc_listen, (*server_auth)->credentials(), &grpc_port);
  builder.RegisterService(&adapter);
  builder.SetMaxReceiveMessageSize(1 << 20);  // requests are small; bound what a client can send
  std::unique_ptr<::grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || grpc_port == 0) {
    log::Error(absl::StrCat("cannot listen for gRPC on ", grpc_listen));
    return kExitFailure;
  }
  (*server_auth)->Start();  // --policy_file reloads from here on
  ::grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  auto publish_health = [&](bool ready) {
    if (health == nullptr) return;
    // By name: the all-services overload would also flip "liveness".
    health->SetServingStatus("", ready);
    health->SetServingStatus("tokend.v1.TokenService", ready);
  };
  // "liveness" says only that the process serves: SERVING until shutdown, whatever readiness
  // says, so a liveness probe never restarts replicas during a database outage.
  if (health != nullptr) health->SetServingStatus("liveness", true);
  publish_health(readiness.Evaluate().ready);

  http::HttpServer::Options http_options;
  http_options.listen = absl::GetFlag(FLAGS_http_listen);
  http_options.issuer = config.issuer;
  http_options.jwks_max_age = config.jwks_max_age;
  http::HttpServer::Sources sources;
  sources.registry = &registry;
  sources.jwks_json = [&service] { return service.JwksJson(); };
  sources.signing_algorithms = [&ring] {
    std::set<std::string> algs;
    for (const jwt::VerificationKey& key : ring.VerificationKeys()->keys()) {
      // HMAC keys are never published, so no third party can verify with them.
      if (key.algorithm() != jwt::Algorithm::kHS256) {
        algs.insert(std::string(jwt::AlgorithmName(key.algorithm())));
      }
    }
    return std::vector<std::string>(algs.begin(), algs.end());
  };
  sources.readiness = &readiness;
  absl::StatusOr<std::unique_ptr<http::HttpServer>> http_server =
      http::HttpServer::Start(http_options, sources);
  if (!http_server.ok()) {
    log::Error(std::string{http_server.status().message()});
    server->Shutdown();
    return kExitFailure;
  }

  // Re-evaluates readiness every second until told to stop.
  absl::Notification stop_monitor;
  std::thread monitor([&] {
    while (!stop_monitor.WaitForNotificationWithTimeout(absl::Seconds(1))) {
      bool ready = readiness.Evaluate().ready;
      publish_health(ready && !draining.load());
      if (storage->postgres != nullptr) {
        storage::PostgresPoolStats pool = storage->postgres->pool_stats();
        metrics.SetDbPoolConnections(static_cast<size_t>(std::max(0, pool.open - pool.in_use)),
                                     static_cast<size_t>(pool.in_use));
      }
    }
  });

  const std::string grpc_address = absl::StrCat(HostOf(grpc_listen), ":", grpc_port);
  const std::string http_address =
      absl::StrCat(HostOf(http_options.listen), ":", (*http_server)->port());
  log::Info(absl::StrCat(
      "serving gRPC (", (*server_auth)->transport(), ") on ", grpc_address, ", HTTP on ",
      http_address, "; store: ", store_spec->memory ? "memory" : log::RedactDsn(store_spec->dsn)));
  log::Info(absl::StrCat("try: tokenctl --addr=", grpc_address,
                         " issue --subject=alice --audience=api | tokenctl --addr=", grpc_address,
                         " verify --audience=api ; curl http://", http_address, "/readyz"));
  const std::string ready_file = absl::GetFlag(FLAGS_ready_file);
  if (!ready_file.empty()) {
    if (absl::Status status = WriteReadyFile(ready_file, grpc_port, (*http_server)->port());
        !status.ok()) {
      log::Error(std::string{status.message()});
    }
  }

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  log::Info(absl::StrCat("received ", signal_number == SIGTERM ? "SIGTERM" : "SIGINT",
                         ", draining for up to ",
                         absl::FormatDuration(absl::GetFlag(FLAGS_drain_timeout))));

  // A second signal during the drain means "now": an operator's second Ctrl-C is not ignored.
  std::thread([signals] {
    int again = 0;
    sigwait(&signals, &again);
    log::Warning("second signal while draining: exiting at once");
    std::_Exit(kExitFailure);
  }).detach();

  // Stop attracting traffic first, then let in-flight calls finish within the deadline.
  draining.store(true);
  if (health != nullptr) health->Shutdown();  // NOT_SERVING for every service, for good
  readiness.Evaluate();
  server->Shutdown(std::chrono::system_clock::now() +
                   absl::ToChronoMilliseconds(absl::GetFlag(FLAGS_drain_timeout)));
  adapter.Shutdown();
  (*server_auth)->Stop();
  if (key_manager != nullptr) key_manager->Stop();
  stop_monitor.Notify();
  monitor.join();
  pruner.Stop();
  syncer.Stop();
  (*http_server)->Stop();
  if (!ready_file.empty()) (void)std::remove(ready_file.c_str());  // best effort at exit
  log::Info("stopped");
  return kExitOk;
}

}  // namespace
}  // namespace tokend

int main(int argc, char** argv) {
  // Before any thread exists, so every thread inherits the mask.
  sigset_t signals = tokend::BlockShutdownSignals();
  // --help lists this binary's own flags (Abseil matches "<program>.cc" by default).
  absl::FlagsUsageConfig usage_config;
  usage_config.contains_help_flags = [](absl::string_view file) {
    return absl::EndsWith(file, "services/tokend/main.cc") ||
           absl::EndsWith(file, "services/tokend/keys_command.cc");
  };
  usage_config.contains_helpshort_flags = usage_config.contains_help_flags;
  absl::SetFlagsUsageConfig(usage_config);
  absl::SetProgramUsageMessage(
      "tokend (--insecure | --tls_cert=C --tls_key=K [--tls_client_ca=CA]) "
      "[--policy_file=P] [--store=memory|postgresql://...] [flags]\n"
      "       tokend migrate --store=postgresql://...\n"
      "       tokend keys list|rotate|remove KID|import FILE|rewrap --store=postgresql://... "
      "--kek_file=...\n"
      "Every flag can also be set as env TOKEND_<FLAG_NAME_IN_UPPER_CASE>.");
  if (absl::Status status = tokend::ApplyEnvironment(); !status.ok()) {
    tokend::log::Error(std::string{status.message()});
    return tokend::kExitUsage;
  }
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() > 1) {
    std::string command = positional[1];
    if (command == "migrate" && positional.size() == 2) {
      return tokend::RunMigrate(absl::GetFlag(FLAGS_store));
    }
    if (command == "keys") {
      return tokend::RunKeys(std::vector<std::string>(positional.begin() + 2, positional.end()));
    }
    tokend::log::Error(absl::StrCat("unknown command \"", command,
                                    "\" (the subcommands are `migrate` and `keys`)"));
    return tokend::kExitUsage;
  }
  return tokend::RunServer(signals);
}
