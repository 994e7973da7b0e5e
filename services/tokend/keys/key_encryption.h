#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "jwt/keys.h"
#include "jwt/secret_data.h"
#include "storage/signing_key_record.h"

namespace tokend::keys {

// A 32-byte key-encryption key (KEK): seals signing keys for storage with AES-256-GCM.
// Guarantees: Seal() never reuses a nonce in practice (96 random bits per envelope; a KEK seals
// a handful of keys); Open() returns plaintext only if the envelope is authentic for this KEK
// and exactly this AAD. id() names the KEK without revealing it: the first 8 bytes (hex) of
// SHA-256("tokend kek id v1" || 0x00 || KEK). The bytes are reached only through this class and
// never printed. Immutable, cheap to copy, thread-safe.
//
// Envelope format: 0x01 (version) || 12-byte nonce || ciphertext || 16-byte GCM tag.
class Kek {
 public:
  static constexpr size_t kKeyBytes = 32;

  // INVALID_ARGUMENT unless exactly 32 bytes.
  static absl::StatusOr<Kek> FromBytes(const jwt::SecretData& bytes);

  const std::string& id() const { return id_; }

  absl::StatusOr<std::string> Seal(std::string_view plaintext, std::string_view aad) const;
  // DATA_LOSS when the envelope is malformed or does not authenticate (wrong KEK, wrong AAD,
  // tampered bytes); the message never contains envelope bytes.
  absl::StatusOr<jwt::SecretData> Open(std::string_view envelope, std::string_view aad) const;

  // HKDF-SHA256 (RFC 5869) of the KEK with an empty salt and `label` as info: a secret every
  // replica holding this KEK derives identically, and that reveals nothing about the KEK.
  absl::StatusOr<jwt::SecretData> DeriveSecret(std::string_view label, size_t length) const;

 private:
  Kek(std::shared_ptr<const jwt::SecretData> key, std::string id)
      : key_(std::move(key)), id_(std::move(id)) {}

  std::shared_ptr<const jwt::SecretData> key_;
  std::string id_;
};

// The KEKs a replica holds: the primary seals every new envelope; older ones (during a KEK
// rotation) only open existing ones. Immutable, thread-safe.
class KekRing {
 public:
  explicit KekRing(Kek primary, std::vector<Kek> previous = {})
      : primary_(std::move(primary)), previous_(std::move(previous)) {}

  const Kek& primary() const { return primary_; }
  // The KEK with this id, or nullptr.
  const Kek* Find(std::string_view kek_id) const;
  // "id1" or "id1, id2 (previous)": for error messages.
  std::string Describe() const;

 private:
  Kek primary_;
  std::vector<Kek> previous_;
};

// Seals `key`'s PKCS#8 private key under `kek`. The AAD binds the envelope to the key's kid and
// algorithm. Why: a database writer cannot swap two keys' ciphertexts, or relabel one, without
// Open() failing.
absl::StatusOr<std::string> SealSigningKey(const Kek& kek, const jwt::SigningKey& key);

// Opens the envelope of `record` with the KEK named by record.kek_id and rebuilds the key.
// FAILED_PRECONDITION naming both KEK ids when the ring has no such KEK (the wrong KEK was
// configured); DATA_LOSS when the envelope does not authenticate; FAILED_PRECONDITION when the
// private key does not match the record's public JWK (which is what the JWKS publishes).
// Messages name the kid and KEK ids only.
absl::StatusOr<jwt::SigningKey> OpenSigningKey(const KekRing& keks,
                                               const storage::SigningKeyRecord& record);

// A record in `state` for `key`, sealed under `kek`, with created_at = activates_at = `now` (the
// caller adjusts the times it needs). INVALID_ARGUMENT for HS256 keys: a secret cannot be
// published in a JWKS, so it cannot take part in a published rotation.
absl::StatusOr<storage::SigningKeyRecord> SealNewKeyRecord(const Kek& kek,
                                                           const jwt::SigningKey& key,
                                                           storage::KeyState state, absl::Time now,
                                                           std::string_view origin);

}  // namespace tokend::keys
