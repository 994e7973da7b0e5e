#include "services/tokend/server/flags.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "jwt/secret_data.h"
#include "services/tokend/keys/refresh_secret.h"

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

namespace tokend::server {
namespace {

// The one file whose flags are the server's (and so settable from the environment).
constexpr absl::string_view kFlagFile = "services/tokend/server/flags.cc";

absl::Status Usage(absl::string_view message) { return absl::InvalidArgumentError(message); }

// NOLINTNEXTLINE(concurrency-mt-unsafe): read at startup, before any thread.
const char* Env(const char* name) { return std::getenv(name); }

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

storage::PostgresOptions PostgresOptionsFor(const StoreSpec& spec) {
  storage::PostgresOptions options;
  options.dsn = spec.dsn;
  options.pool_size = absl::GetFlag(FLAGS_db_pool_size);
  options.statement_timeout = absl::GetFlag(FLAGS_db_timeout);
  options.acquire_timeout = absl::GetFlag(FLAGS_db_timeout);
  options.connect_timeout = absl::GetFlag(FLAGS_db_timeout);
  return options;
}

// The refresh derivation secret: --refresh_secret_file, else env TOKEND_REFRESH_SECRET, else
// derived from the KEK (when keys are managed), else (memory store only) empty, which core
// turns into a random per-process secret.
absl::StatusOr<jwt::SecretData> LoadRefreshSecret(const StoreSpec& store, const keys::Kek* kek) {
  std::string bytes;
  std::string source;
  if (std::string path = absl::GetFlag(FLAGS_refresh_secret_file); !path.empty()) {
    absl::StatusOr<std::string> content = ReadFile(path);
    if (!content.ok()) return Usage(content.status().message());
    bytes = *std::move(content);
    source = path;
  } else if (const char* env = Env("TOKEND_REFRESH_SECRET"); env != nullptr) {
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
    return Usage(
        "PostgreSQL store needs a shared refresh secret: --refresh_secret_file=PATH (32+ bytes), "
        "env TOKEND_REFRESH_SECRET, or a key-encryption key (--kek_file / TOKEND_KEK) to derive "
        "it from");
  }
  if (bytes.size() < 32) {
    return Usage(absl::StrCat("refresh secret from ", source, " is shorter than 32 bytes"));
  }
  jwt::SecretData secret(bytes);
  std::fill(bytes.begin(), bytes.end(), '\0');
  return secret;
}

// The key-encryption keys: --kek_file or TOKEND_KEK (+ --previous_kek_file). nullopt when none
// is configured (signing keys are then not managed).
absl::StatusOr<std::optional<keys::KekRing>> LoadKeks() {
  const char* env = Env("TOKEND_KEK");
  absl::StatusOr<keys::KekRing> keks =
      keys::LoadKekRing(absl::GetFlag(FLAGS_kek_file),
                        env != nullptr ? std::optional<std::string_view>(env) : std::nullopt,
                        absl::GetFlag(FLAGS_previous_kek_file));
  if (keks.ok()) return std::optional<keys::KekRing>(*std::move(keks));
  if (absl::IsNotFound(keks.status()) && absl::GetFlag(FLAGS_kek_file).empty() && env == nullptr) {
    if (!absl::GetFlag(FLAGS_previous_kek_file).empty()) {
      return Usage("--previous_kek_file needs --kek_file or TOKEND_KEK");
    }
    return std::optional<keys::KekRing>();
  }
  return Usage(keks.status().message());
}

// The lifecycle settings of managed keys.
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

absl::StatusOr<jwt::Algorithm> SigningAlgorithmFromFlags() {
  std::optional<jwt::Algorithm> alg = jwt::AlgorithmFromName(absl::GetFlag(FLAGS_signing_alg));
  if (!alg) return Usage("--signing_alg must be one of EdDSA, ES256, RS256, HS256");
  return *alg;
}

}  // namespace

std::string EnvironmentVariableFor(absl::string_view flag_name) {
  std::string name(flag_name);
  absl::AsciiStrToUpper(&name);
  return absl::StrCat("TOKEND_", name);
}

bool IsTokendFlagFile(absl::string_view file) {
  return absl::EndsWith(file, kFlagFile) ||
         absl::EndsWith(file, "services/tokend/server/keys_command.cc");
}

absl::Status ApplyEnvironmentToFlags() {
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (!absl::EndsWith(flag->Filename(), kFlagFile)) continue;
    const std::string variable = EnvironmentVariableFor(name);
    const char* value = Env(variable.c_str());
    if (value == nullptr) continue;
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      // The value itself is not echoed: an env var may hold something sensitive.
      return Usage(absl::StrCat(variable, ": ", error));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<StoreSpec> ParseStoreSpec(const std::string& store) {
  StoreSpec spec;
  if (store == "memory") {
    spec.memory = true;
  } else if (absl::StartsWith(store, "postgresql://") || absl::StartsWith(store, "postgres://")) {
    spec.dsn = store;
  } else if (absl::StartsWith(store, "postgresql:")) {
    spec.dsn = store.substr(std::strlen("postgresql:"));
  } else {
    return Usage(
        R"(--store must be "memory", a postgresql:// URI or "postgresql:" + a key=value DSN)");
  }
  if (!spec.memory && absl::StripAsciiWhitespace(spec.dsn).empty()) {
    return Usage("--store: empty PostgreSQL DSN");
  }
  return spec;
}

absl::StatusOr<StoreSpec> StoreSpecFromFlags() {
  return ParseStoreSpec(absl::GetFlag(FLAGS_store));
}

absl::StatusOr<ServerConfig> ServerConfigFromFlags() {
  ServerConfig config;
  config.grpc_listen = absl::GetFlag(FLAGS_grpc_listen);
  config.http_listen = absl::GetFlag(FLAGS_http_listen);

  // Plaintext must be a deliberate choice: tokens are bearer credentials.
  config.auth = ServerAuthOptionsFromFlags();
  if (absl::Status status = auth::ValidateServerAuthOptions(config.auth); !status.ok()) {
    return Usage(status.message());
  }
  absl::StatusOr<StoreSpec> store = StoreSpecFromFlags();
  if (!store.ok()) return store.status();
  config.store = *store;
  absl::StatusOr<jwt::Algorithm> alg = SigningAlgorithmFromFlags();
  if (!alg.ok()) return alg.status();
  config.signing_alg = *alg;
  if (absl::GetFlag(FLAGS_db_pool_size) < 1) return Usage("--db_pool_size must be at least 1");
  config.postgres = PostgresOptionsFor(config.store);
  config.blocking_threads = absl::GetFlag(FLAGS_db_pool_size);

  // Managed signing keys (docs/keys.md) when a key-encryption key is configured.
  absl::StatusOr<std::optional<keys::KekRing>> keks = LoadKeks();
  if (!keks.ok()) return keks.status();
  config.keks = *std::move(keks);
  config.signing_key_files = absl::GetFlag(FLAGS_signing_key);
  if (config.keks.has_value() && !config.signing_key_files.empty()) {
    return Usage(
        "--signing_key and --kek_file/TOKEND_KEK are exclusive: with a KEK, tokend manages its "
        "keys in the store; bring existing keys under management with `tokend keys import`");
  }
  if (config.keks.has_value() && *alg == jwt::Algorithm::kHS256) {
    return Usage(
        "--signing_alg=HS256 cannot be used with managed keys: an HMAC secret is never "
        "published in the JWKS, so verifiers could not follow a rotation");
  }
  config.key_manager = KeyManagerOptionsFromFlags(*alg);

  core::ServiceConfig& service = config.service;
  service.issuer = absl::GetFlag(FLAGS_issuer);
  service.access_ttl_default = absl::GetFlag(FLAGS_access_ttl_default);
  service.access_ttl_max = absl::GetFlag(FLAGS_access_ttl_max);
  service.refresh_ttl = absl::GetFlag(FLAGS_refresh_ttl);
  service.refresh_family_ttl = absl::GetFlag(FLAGS_refresh_family_ttl);
  service.refresh_reuse_grace = absl::GetFlag(FLAGS_refresh_reuse_grace);
  service.clock_skew = absl::GetFlag(FLAGS_clock_skew);
  service.jwks_max_age = absl::GetFlag(FLAGS_jwks_max_age);
  absl::StatusOr<jwt::SecretData> secret =
      LoadRefreshSecret(config.store, config.keks.has_value() ? &config.keks->primary() : nullptr);
  if (!secret.ok()) return secret.status();
  service.refresh_derivation_secret = *std::move(secret);
  if (absl::Status status = core::TokenService::ValidateConfig(service); !status.ok()) {
    return Usage(absl::StrCat("invalid configuration: ", status.message()));
  }

  config.freshness.max_staleness = absl::GetFlag(FLAGS_denylist_max_staleness);
  config.freshness.fail_mode =
      absl::GetFlag(FLAGS_denylist_fail_open) ? core::FailMode::kOpen : core::FailMode::kClosed;
  config.denylist_reload_interval = absl::GetFlag(FLAGS_denylist_reload_interval);
  config.pruner.interval = absl::GetFlag(FLAGS_prune_interval);
  config.pruner.batch_size = std::max(1, absl::GetFlag(FLAGS_prune_batch_size));
  config.key_admin_rpcs = absl::GetFlag(FLAGS_key_admin_rpcs);
  config.ready_file = absl::GetFlag(FLAGS_ready_file);
  config.drain_timeout = absl::GetFlag(FLAGS_drain_timeout);
  return config;
}

absl::StatusOr<KeysCommandContext> KeysCommandContextFromFlags() {
  absl::StatusOr<StoreSpec> spec = StoreSpecFromFlags();
  if (!spec.ok()) return spec.status();
  std::optional<jwt::Algorithm> alg = jwt::AlgorithmFromName(absl::GetFlag(FLAGS_signing_alg));
  if (!alg) return Usage("--signing_alg must be one of EdDSA, ES256, RS256");
  KeysCommandContext context;
  context.memory_store = spec->memory;
  context.postgres = PostgresOptionsFor(*spec);
  context.postgres.pool_size = 1;
  context.kek_file = absl::GetFlag(FLAGS_kek_file);
  if (const char* env = Env("TOKEND_KEK"); env != nullptr) context.kek_env = env;
  context.previous_kek_file = absl::GetFlag(FLAGS_previous_kek_file);
  context.manager_options = KeyManagerOptionsFromFlags(*alg);
  return context;
}

}  // namespace tokend::server
