#pragma once

#include <functional>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "jwt/keys.h"
#include "prometheus/registry.h"
#include "services/tokend/keys/key_manager.h"
#include "services/tokend/keys/key_metrics.h"
#include "services/tokend/keys/key_ring.h"
#include "services/tokend/server/server_config.h"
#include "storage/key_store.h"
#include "util/clock.h"

namespace tokend::server {

// The signing keys the server runs with, as one key ring: either static (the --signing_key files,
// or one generated key) or managed in the store under a KEK by a KeyManager that rotates them.
// Not thread-safe to construct; ring() and Readiness() are thread-safe afterwards.
class SigningKeys {
 public:
  // Called on every change of the key that signs (managed keys only).
  using OnSigningKeyChange = std::function<void(const jwt::SigningKey&)>;

  // Static keys: INVALID_ARGUMENT for unreadable or unusable files. Managed keys: opens the key
  // store (refusing a wrong KEK before anything is written) and starts rotating; then `key_store`
  // and `key_feed` must outlive the result.
  static absl::StatusOr<std::unique_ptr<SigningKeys>> Open(
      const ServerConfig& config, storage::KeyStore* key_store, storage::KeyChangeFeed* key_feed,
      const util::Clock& clock, prometheus::Registry& registry, OnSigningKeyChange on_change);
  SigningKeys(const SigningKeys&) = delete;
  SigningKeys& operator=(const SigningKeys&) = delete;
  ~SigningKeys();

  keys::KeyRing& ring() const { return *ring_; }
  keys::KeyManager* manager() const { return manager_.get(); }  // null for static keys

  // OK while a key can sign (and, when managed, the last tick could open the keys it needs).
  absl::Status Readiness() const;

  // Stops rotating (managed keys); the ring keeps serving. Idempotent.
  void Stop();

 private:
  SigningKeys() = default;

  std::unique_ptr<keys::KeyRing> static_ring_;
  std::unique_ptr<keys::KeyMetrics> metrics_;
  std::unique_ptr<keys::KeyManager> manager_;
  keys::KeyRing* ring_ = nullptr;
};

}  // namespace tokend::server
