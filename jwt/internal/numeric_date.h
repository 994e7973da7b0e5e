#pragma once

#include <cstdint>
#include <optional>

#include "absl/time/time.h"

namespace tokend::jwt::internal {

// NumericDate bounds (RFC 7519 §2): whole seconds from 1970-01-01T00:00:00Z up to
// 9999-12-31T23:59:59Z. The upper bound keeps every value exact in a double (< 2^53) and inside
// what absl::Time and SQL timestamps represent; anything larger is a bug or an attack.
inline constexpr int64_t kMinNumericDate = 0;
inline constexpr int64_t kMaxNumericDate = 253402300799;

// Whole seconds (truncated toward the past) of `t`, or nullopt when outside the bounds above.
inline std::optional<int64_t> ToNumericDate(absl::Time t) {
  if (t == absl::InfinitePast() || t == absl::InfiniteFuture()) return std::nullopt;
  const int64_t seconds = absl::ToUnixSeconds(t);
  if (seconds < kMinNumericDate || seconds > kMaxNumericDate) return std::nullopt;
  return seconds;
}

}  // namespace tokend::jwt::internal
