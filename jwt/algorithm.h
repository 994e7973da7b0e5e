#pragma once

#include <optional>
#include <string_view>

namespace tokend::jwt {

// The only JWS algorithms tokend knows. `none` does not exist here, so it can never be chosen.
enum class Algorithm {
  kEdDSA,  // Ed25519 (RFC 8037)
  kES256,  // ECDSA P-256 + SHA-256, raw 64-byte r||s signatures
  kRS256,  // RSASSA-PKCS1-v1_5 + SHA-256, modulus >= 2048 bits
  kHS256,  // HMAC-SHA-256, secret >= 32 bytes; only when explicitly configured
};

// "EdDSA", "ES256", "RS256", "HS256".
std::string_view AlgorithmName(Algorithm alg);

// Exact, case-sensitive match of the names above; anything else (including "none") is nullopt.
std::optional<Algorithm> AlgorithmFromName(std::string_view name);

}  // namespace tokend::jwt
