#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace tokend::core {

// Shape checks on untrusted request fields, each INVALID_ARGUMENT with a message that names the
// field and the rule but never echoes the value (it may be a secret pasted in the wrong place).
// Stateless, thread-safe.
struct RequestLimits {
  static constexpr size_t kMaxSubjectBytes = 256;
  static constexpr size_t kMaxAudiences = 16;
  static constexpr size_t kMaxAudienceBytes = 256;
  static constexpr size_t kMaxScopes = 64;
  static constexpr size_t kMaxScopeBytes = 128;
  static constexpr size_t kMaxClientIdBytes = 256;
  static constexpr size_t kMaxCustomClaimsBytes = 4096;
  static constexpr size_t kMaxReasonBytes = 256;
  static constexpr size_t kMaxRevokeValueBytes = 8192;
  static constexpr size_t kMaxTokenBytes = 8192;  // the verifier's default token size limit
};

// Well-formed UTF-8 with no control characters (C0, DEL, C1).
bool IsPrintableUtf8(std::string_view text);

// Required, at most kMaxSubjectBytes, printable UTF-8.
absl::Status ValidateSubject(std::string_view subject);
// 1..kMaxAudiences entries, each non-empty, bounded, printable UTF-8.
absl::Status ValidateAudiences(const std::vector<std::string>& audiences);
// At most kMaxScopes entries, each an RFC 6749 scope-token (%x21 / %x23-5B / %x5D-7E), bounded.
absl::Status ValidateScopes(const std::vector<std::string>& scopes);
// Optional, bounded, printable UTF-8.
absl::Status ValidateClientId(std::string_view client_id);
// Optional, at most kMaxReasonBytes, printable UTF-8.
absl::Status ValidateReason(std::string_view reason);

// `scopes` with duplicates removed, first occurrence kept.
std::vector<std::string> DedupScopes(const std::vector<std::string>& scopes);

}  // namespace tokend::core
