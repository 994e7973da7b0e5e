#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"

namespace tokend::jwt {

// The claims of an access token to sign (RFC 9068 shape). Times are truncated to whole
// seconds when serialized. Empty strings and empty vectors are omitted from the payload.
struct JwtClaims {
  std::string issuer;                    // iss
  std::string subject;                   // sub
  std::vector<std::string> audiences;    // aud: a string when one, an array when several
  absl::Time issued_at;                  // iat; omitted while left at the default (the epoch)
  absl::Time expires_at;                 // exp; required (the default epoch is refused)
  std::optional<absl::Time> not_before;  // nbf
  std::string jwt_id;                    // jti
  std::string client_id;                 // client_id
  std::vector<std::string> scopes;       // scope, space-separated
  std::string session_id;                // sid: the refresh-token family, when there is one
  // Further members as a JSON object text ("{...}"), or empty. Parsed strictly; a member with
  // a registered name (iss sub aud exp nbf iat jti client_id scope sid) is INVALID_ARGUMENT.
  std::string custom_claims_json;
};

// True for the claim names JwtClaims sets itself; custom claims may not use them.
bool IsRegisteredClaimName(std::string_view name);

}  // namespace tokend::jwt
