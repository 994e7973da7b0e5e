#include "services/tokend/server/signing_keys.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "jwt/algorithm.h"
#include "util/log.h"

namespace tokend::server {
namespace {

// Static keys: the configured files, else one fresh key (fine for a single replica or a demo).
absl::StatusOr<std::unique_ptr<keys::KeyRing>> OpenStaticRing(const ServerConfig& config) {
  std::vector<jwt::SigningKey> signing_keys;
  if (!config.signing_key_files.empty()) {
    absl::StatusOr<std::vector<jwt::SigningKey>> loaded =
        keys::LoadSigningKeyFiles(config.signing_key_files);
    if (!loaded.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot load --signing_key: ", loaded.status().message()));
    }
    signing_keys = *std::move(loaded);
  } else {
    absl::StatusOr<jwt::SigningKey> generated = keys::GenerateSigningKey(config.signing_alg);
    if (!generated.ok()) {
      return absl::InternalError(
          absl::StrCat("cannot generate a signing key: ", generated.status().message()));
    }
    log::Warning(absl::StrCat("no --signing_key: generated a ",
                              std::string(jwt::AlgorithmName(generated->algorithm())),
                              " key for this process ", "only (kid ", generated->kid(),
                              "); tokens will not verify after a restart or on other replicas "
                              "(--kek_file makes tokend keep and rotate its keys in the store)"));
    signing_keys.push_back(*std::move(generated));
  }
  absl::StatusOr<std::unique_ptr<keys::KeyRing>> ring =
      keys::KeyRing::FromSigningKeys(std::move(signing_keys));
  if (!ring.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("signing keys: ", ring.status().message()));
  }
  return ring;
}

void LogRotationPolicy(const ServerConfig& config, const keys::RotationPolicy& policy) {
  log::Info(absl::StrCat(
      "signing keys: managed in the ", config.store.memory ? "memory" : "PostgreSQL",
      " store under KEK ", config.keks->primary().id(), "; rotation every ",
      absl::FormatDuration(std::max(policy.rotation_period(), policy.publish_lead())),
      ", next keys published ", absl::FormatDuration(policy.publish_lead()),
      " before they sign, retired keys kept ", absl::FormatDuration(policy.retire_window())));
  if (policy.rotation_period() < policy.publish_lead()) {
    log::Warning(absl::StrCat("--key_rotation_period (",
                              absl::FormatDuration(policy.rotation_period()),
                              ") is shorter than the publication lead; keys rotate every ",
                              absl::FormatDuration(policy.publish_lead()), " instead"));
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<SigningKeys>> SigningKeys::Open(
    const ServerConfig& config, storage::KeyStore* key_store, storage::KeyChangeFeed* key_feed,
    const util::Clock& clock, prometheus::Registry& registry, OnSigningKeyChange on_change) {
  std::unique_ptr<SigningKeys> keys(new SigningKeys());
  if (!config.keks.has_value()) {
    absl::StatusOr<std::unique_ptr<keys::KeyRing>> ring = OpenStaticRing(config);
    if (!ring.ok()) return ring.status();
    keys->static_ring_ = *std::move(ring);
    keys->ring_ = keys->static_ring_.get();
    if (on_change) on_change(keys->ring_->ActiveKey());
    return keys;
  }
  if (key_store == nullptr) return absl::InternalError("managed keys need a key store");
  keys->metrics_ = std::make_unique<keys::KeyMetrics>(registry);
  keys::KeyManagerOptions options = config.key_manager;
  options.on_signing_key_change = std::move(on_change);
  absl::StatusOr<std::unique_ptr<keys::KeyManager>> opened =
      keys::KeyManager::Open(*key_store, *config.keks, options, clock, keys->metrics_.get());
  if (!opened.ok()) {
    return absl::Status(opened.status().code(), absl::StrCat("refusing to start: signing keys: ",
                                                             opened.status().ToString()));
  }
  keys->manager_ = *std::move(opened);
  LogRotationPolicy(config, keys->manager_->policy());
  if (absl::Status started = keys->manager_->Start(key_feed); !started.ok()) {
    return absl::Status(started.code(), absl::StrCat("signing keys: ", started.ToString()));
  }
  keys->ring_ = keys->manager_->key_ring();
  return keys;
}

SigningKeys::~SigningKeys() { Stop(); }

absl::Status SigningKeys::Readiness() const {
  if (absl::Status ring = ring_->Readiness(); !ring.ok()) return ring;
  return manager_ != nullptr ? manager_->Readiness() : absl::OkStatus();
}

void SigningKeys::Stop() {
  if (manager_ != nullptr) manager_->Stop();
}

}  // namespace tokend::server
