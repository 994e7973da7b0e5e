#pragma once

#include <cstddef>
#include <string_view>

#include "absl/status/status.h"

namespace tokend::jwt {

// Limits on untrusted JSON (headers and payloads).
struct JsonLimits {
  size_t max_bytes = 16384;
  int max_depth = 16;
};

// Strict validation of a JSON text that must be an object: RFC 8259 grammar, valid UTF-8 (no
// lone surrogates), no duplicate member names at any level, depth and size bounded.
// INVALID_ARGUMENT otherwise. Implementations of the core parse with this contract; the
// choice of library is explained in json.cc.
absl::Status ValidateStrictJsonObject(std::string_view json, const JsonLimits& limits = {});

}  // namespace tokend::jwt
