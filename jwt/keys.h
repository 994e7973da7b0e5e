#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "jwt/algorithm.h"
#include "jwt/secret_data.h"

namespace tokend::jwt {

class KeyMaterial;  // Opaque: the OpenSSL EVP_PKEY or HMAC secret, defined in keys.cc.

// A public key (or, for HS256, the shared secret) bound to exactly one algorithm and one kid.
// The algorithm comes from the key type, never from a token: Ed25519 -> EdDSA, P-256 -> ES256,
// RSA (>= 2048 bits) -> RS256, a 32+ byte secret -> HS256. Immutable and thread-safe; cheap to
// copy (shares the underlying key).
class VerificationKey {
 public:
  // SubjectPublicKeyInfo PEM ("-----BEGIN PUBLIC KEY-----"). kid = RFC 7638 thumbprint.
  static absl::StatusOr<VerificationKey> FromPublicPem(std::string_view pem);
  // A public JWK (kty OKP/EC/RSA). Private members are ignored. A JWK "alg", when present,
  // must match the key type. kid = the JWK's "kid" if present, else the RFC 7638 thumbprint.
  static absl::StatusOr<VerificationKey> FromJwk(std::string_view jwk_json);

  Algorithm algorithm() const { return algorithm_; }
  const std::string& kid() const { return kid_; }

  // True only if `signature` is a valid signature of `signing_input` for this key. ES256
  // signatures must be exactly 64 bytes (raw r||s); DER, zero or out-of-range r/s are false.
  // HMAC tags are compared in constant time.
  bool VerifySignature(std::string_view signing_input, std::string_view signature) const;

  // The public JWK with "kty", key members, "kid", "alg", "use":"sig". Never contains private
  // members; for HS256 keys it is an error (FAILED_PRECONDITION): secrets are never published.
  absl::StatusOr<std::string> PublicJwkJson() const;

  // SubjectPublicKeyInfo PEM of the public key (for interop and tooling). FAILED_PRECONDITION
  // for HS256 keys, like PublicJwkJson.
  absl::StatusOr<std::string> PublicPem() const;

  // RFC 7638 thumbprint (SHA-256, base64url) of the public key; HS256: of the oct JWK.
  const std::string& Thumbprint() const { return thumbprint_; }

 private:
  friend class SigningKey;
  VerificationKey(std::shared_ptr<const KeyMaterial> material, Algorithm algorithm, std::string kid,
                  std::string thumbprint);

  std::shared_ptr<const KeyMaterial> material_;
  Algorithm algorithm_;
  std::string kid_;
  std::string thumbprint_;
};

// A private signing key bound to exactly one algorithm and kid. Immutable, thread-safe, cheap
// to copy. Private material leaves only through ExportPrivatePkcs8Der() (greppable).
class SigningKey {
 public:
  // A fresh key: Ed25519, P-256 or RSA-2048 from OpenSSL's RNG; for HS256, 32 random bytes.
  // kid = RFC 7638 thumbprint.
  static absl::StatusOr<SigningKey> Generate(Algorithm algorithm);
  // PKCS#8 or traditional private key PEM. kid = thumbprint unless `kid` is non-empty.
  static absl::StatusOr<SigningKey> FromPrivatePem(std::string_view pem, std::string_view kid = "");
  // A private JWK (OKP/EC/RSA with "d", or "oct" with "k" for HS256). kid = JWK "kid" or
  // thumbprint.
  static absl::StatusOr<SigningKey> FromJwk(std::string_view jwk_json);
  // HS256 only; INVALID_ARGUMENT when the secret is shorter than 32 bytes.
  static absl::StatusOr<SigningKey> FromHmacSecret(SecretData secret, std::string_view kid = "");
  // Inverse of ExportPrivatePkcs8Der (for HS256, the raw secret), with the given algorithm and
  // kid; used by key storage.
  static absl::StatusOr<SigningKey> FromPrivatePkcs8Der(Algorithm algorithm, const SecretData& der,
                                                        std::string_view kid);

  Algorithm algorithm() const { return public_.algorithm(); }
  const std::string& kid() const { return public_.kid(); }

  // The signature of `signing_input` (ES256: raw 64-byte r||s).
  absl::StatusOr<std::string> Sign(std::string_view signing_input) const;

  const VerificationKey& verification_key() const { return public_; }

  // PKCS#8 DER of the private key (HS256: the raw secret). For encrypted key storage only.
  SecretData ExportPrivatePkcs8Der() const;

 private:
  SigningKey(std::shared_ptr<const KeyMaterial> material, VerificationKey public_key);

  std::shared_ptr<const KeyMaterial> material_;
  VerificationKey public_;
};

}  // namespace tokend::jwt
