#include "services/tokend/core/request_validation.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

namespace tokend::core {
namespace {

// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
bool IsScopeChar(unsigned char c) {
  return c == 0x21 || (c >= 0x23 && c <= 0x5B) || (c >= 0x5D && c <= 0x7E);
}

absl::Status CheckText(const char* field, std::string_view value, size_t max_bytes, bool required) {
  if (value.empty()) {
    if (required) return absl::InvalidArgumentError(absl::StrCat(field, " is required"));
    return absl::OkStatus();
  }
  if (value.size() > max_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(field, " is longer than ", max_bytes, " bytes"));
  }
  if (!IsPrintableUtf8(value)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " must be UTF-8 without control characters"));
  }
  return absl::OkStatus();
}

}  // namespace

bool IsPrintableUtf8(std::string_view text) {
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7F) return false;
      ++i;
      continue;
    }
    uint32_t cp = 0;
    size_t len = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      cp = c & 0x1F;
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      cp = c & 0x0F;
      len = 3;
    } else if (c >= 0xF0 && c <= 0xF4) {
      cp = c & 0x07;
      len = 4;
    } else {
      return false;  // continuation byte or overlong lead (C0, C1) or > U+10FFFF lead
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) {
      return false;  // overlong or out of range
    }
    if (cp >= 0xD800 && cp <= 0xDFFF) return false;  // surrogates are not scalar values
    if (cp >= 0x80 && cp <= 0x9F) return false;      // C1 controls
    i += len;
  }
  return true;
}

absl::Status ValidateSubject(std::string_view subject) {
  return CheckText("subject", subject, RequestLimits::kMaxSubjectBytes, /*required=*/true);
}

absl::Status ValidateAudiences(const std::vector<std::string>& audiences) {
  if (audiences.empty()) return absl::InvalidArgumentError("at least one audience is required");
  if (audiences.size() > RequestLimits::kMaxAudiences) {
    return absl::InvalidArgumentError(
        absl::StrCat("at most ", RequestLimits::kMaxAudiences, " audiences are allowed"));
  }
  for (const std::string& audience : audiences) {
    if (audience.empty()) return absl::InvalidArgumentError("an audience is empty");
    absl::Status status =
        CheckText("audience", audience, RequestLimits::kMaxAudienceBytes, /*required=*/true);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status ValidateScopes(const std::vector<std::string>& scopes) {
  if (scopes.size() > RequestLimits::kMaxScopes) {
    return absl::InvalidArgumentError(
        absl::StrCat("at most ", RequestLimits::kMaxScopes, " scopes are allowed"));
  }
  for (const std::string& scope : scopes) {
    if (scope.empty()) return absl::InvalidArgumentError("a scope is empty");
    if (scope.size() > RequestLimits::kMaxScopeBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("a scope is longer than ", RequestLimits::kMaxScopeBytes, " bytes"));
    }
    for (char c : scope) {
      if (!IsScopeChar(static_cast<unsigned char>(c))) {
        return absl::InvalidArgumentError(
            "a scope may hold only printable ASCII without space, '\"' or '\\' (RFC 6749 3.3)");
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateClientId(std::string_view client_id) {
  return CheckText("client_id", client_id, RequestLimits::kMaxClientIdBytes, /*required=*/false);
}

absl::Status ValidateReason(std::string_view reason) {
  return CheckText("reason", reason, RequestLimits::kMaxReasonBytes, /*required=*/false);
}

std::vector<std::string> DedupScopes(const std::vector<std::string>& scopes) {
  std::vector<std::string> out;
  out.reserve(scopes.size());
  absl::flat_hash_set<std::string_view> seen;
  for (const std::string& scope : scopes) {
    if (seen.insert(scope).second) out.push_back(scope);
  }
  return out;
}

}  // namespace tokend::core
