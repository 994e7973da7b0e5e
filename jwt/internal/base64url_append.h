#pragma once

#include <string>
#include <string_view>

namespace tokend::jwt::internal {

// Appends base64url without padding (RFC 7515 §2) of `data` to `out`: one resize, then the
// characters are written in place. Base64UrlEncode (jwt/base64url.h) is this into an empty
// string; the signer uses it to build a token in one buffer. Thread-safe.
void AppendBase64Url(std::string_view data, std::string* out);

}  // namespace tokend::jwt::internal
