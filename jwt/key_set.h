#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "jwt/keys.h"

namespace tokend::jwt {

// Verification keys looked up by kid. Not thread-safe to mutate; share an immutable snapshot
// (e.g. std::shared_ptr<const KeySet>) between threads.
class KeySet {
 public:
  // ALREADY_EXISTS when the kid is taken.
  absl::Status Add(VerificationKey key);
  // nullptr when unknown.
  const VerificationKey* Find(std::string_view kid) const;
  size_t size() const { return keys_.size(); }
  std::vector<VerificationKey> keys() const;

  // {"keys":[...]} of every asymmetric key's public JWK, in kid order. HS256 keys are skipped:
  // this function cannot emit a secret or private member.
  std::string ToPublicJwksJson() const;
  // Parses a JWKS document; unknown or unsupported keys are an error (INVALID_ARGUMENT).
  static absl::StatusOr<KeySet> FromJwksJson(std::string_view jwks_json);

 private:
  absl::flat_hash_map<std::string, VerificationKey> keys_;
};

}  // namespace tokend::jwt
