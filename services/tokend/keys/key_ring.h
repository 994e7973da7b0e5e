#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "jwt/algorithm.h"
#include "jwt/key_set.h"
#include "jwt/keys.h"

namespace tokend::keys {

// The keys this replica signs and verifies with: one active SigningKey and an immutable
// published KeySet (the active key's public half plus any keys still verifying: rotated-out or
// pre-published). Both change together, atomically, through Replace(); readers get a
// consistent snapshot that stays valid after a later Replace (shared ownership).
//
// Guarantees: the active key is always in the published set; kids are unique. Does not check
// key age or rotation policy (a later key-lifecycle component drives Replace). Thread-safe:
// reads take a shared lock and copy a pointer.
class KeyRing {
 public:
  // The first key signs; every key (the first included) verifies. INVALID_ARGUMENT when empty
  // or when two keys share a kid.
  static absl::StatusOr<std::unique_ptr<KeyRing>> FromSigningKeys(
      std::vector<jwt::SigningKey> keys);

  KeyRing(const KeyRing&) = delete;
  KeyRing& operator=(const KeyRing&) = delete;

  // The key new tokens are signed with (cheap copy; shares the key material).
  jwt::SigningKey ActiveKey() const;
  // The keys tokens are verified with; never null.
  std::shared_ptr<const jwt::KeySet> VerificationKeys() const;
  // The readiness rule of the ring: UNAVAILABLE while no key can sign.
  absl::Status Readiness() const;

  // Atomically installs a new active key and published set. The active key is added to
  // `also_verify` if absent. INVALID_ARGUMENT on a kid clash (nothing changes then).
  absl::Status Replace(jwt::SigningKey active, std::vector<jwt::VerificationKey> also_verify);

 private:
  struct State {
    jwt::SigningKey active;
    jwt::KeySet published;
  };
  explicit KeyRing(std::shared_ptr<const State> state);
  static absl::StatusOr<std::shared_ptr<const State>> MakeState(
      jwt::SigningKey active, std::vector<jwt::VerificationKey> also_verify);

  mutable absl::Mutex mu_;
  std::shared_ptr<const State> state_ ABSL_GUARDED_BY(mu_);
};

// Loads private signing keys from files, in order. Each file is a private key PEM (PKCS#8 or
// traditional) or a private JWK, told apart by content. kid = the JWK's "kid", else the RFC 7638
// thumbprint. An "oct" JWK is accepted only with "alg":"HS256" (HMAC must be chosen explicitly).
// Errors name the file, never its content. INVALID_ARGUMENT for an empty list.
absl::StatusOr<std::vector<jwt::SigningKey>> LoadSigningKeyFiles(
    const std::vector<std::string>& paths);

// A fresh key of `algorithm` (e.g. for an embedded single-replica setup or tests).
absl::StatusOr<jwt::SigningKey> GenerateSigningKey(jwt::Algorithm algorithm);

}  // namespace tokend::keys
