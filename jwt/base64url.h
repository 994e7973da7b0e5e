#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace tokend::jwt {

// base64url without padding (RFC 7515 §2).
std::string Base64UrlEncode(std::string_view data);

// Strict decoding: only [A-Za-z0-9_-], no padding, no whitespace, no length of 4n+1, and the
// unused trailing bits must be zero so that every byte string has exactly one encoding.
// Any violation is INVALID_ARGUMENT.
absl::StatusOr<std::string> Base64UrlDecode(std::string_view encoded);

}  // namespace tokend::jwt
