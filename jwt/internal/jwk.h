#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "jwt/algorithm.h"
#include "jwt/internal/openssl_util.h"
#include "jwt/secret_data.h"

namespace tokend::jwt::internal {

// Which half of a JWK to import.
enum class JwkPart {
  kPublic,   // kty OKP/EC/RSA; private members are ignored; "oct" is refused
  kPrivate,  // OKP/EC/RSA with their private members, or "oct" with "k"
};

// A JWK turned into key material. The algorithm follows from kty/crv alone; a JWK "alg" may only
// confirm it. Size rules (RSA >= 2048 bits, HMAC >= 32 bytes) are checked by the caller, which
// applies them to keys from every source.
struct ParsedJwk {
  Algorithm algorithm = Algorithm::kEdDSA;
  EvpPkeyPtr pkey;    // OKP, EC, RSA
  SecretData secret;  // oct
  std::string kid;    // empty when the JWK has none
};

// Strict JSON (json.h), then RFC 7517/7518/8037 members: base64url members must decode strictly,
// EC coordinates and scalars are exactly 32 bytes, OKP keys 32 bytes, RSA private keys carry all
// CRT members and no "oth". "use", when present, must be "sig"; "key_ops", when present, must
// list "verify" (public) or "sign" (private). INVALID_ARGUMENT otherwise, with a fixed phrase.
absl::StatusOr<ParsedJwk> ParseJwk(std::string_view jwk_json, JwkPart part);

}  // namespace tokend::jwt::internal
