#include "storage/validation.h"

#include <cstdint>
#include <string>

namespace tokend::storage {
namespace {

// Length of the UTF-8 sequence starting at `text[i]`, or 0 if it is malformed (overlong forms,
// surrogates and code points above U+10FFFF are malformed, as RFC 3629 says).
size_t Utf8SequenceLength(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(text[k]); };
  const uint8_t b0 = byte(i);
  if (b0 < 0x80) return 1;
  size_t len;
  // The allowed range of the second byte.
  uint8_t lo = 0x80;
  uint8_t hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + len > text.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (size_t k = 2; k < len; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return len;
}

absl::Status CheckText(std::string_view field, std::string_view text) {
  if (IsStorableText(text)) return absl::OkStatus();
  // The field name only: the value may be sensitive or binary.
  return absl::InvalidArgumentError(std::string(field).append(" must be UTF-8 without NUL bytes"));
}

}  // namespace

bool IsStorableText(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    if (text[i] == '\0') return false;
    const size_t len = Utf8SequenceLength(text, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

absl::Status ValidateNewRefreshToken(const RefreshTokenRecord& record) {
  if (record.token_hash.empty()) return absl::InvalidArgumentError("token_hash is empty");
  if (record.family_id.empty()) return absl::InvalidArgumentError("family_id is empty");
  if (record.spent_at.has_value() || !record.child_hash.empty()) {
    return absl::InvalidArgumentError("a new refresh token cannot be spent");
  }
  if (record.parent_hash == record.token_hash) {
    return absl::InvalidArgumentError("a refresh token cannot be its own parent");
  }
  for (const auto& [field, text] :
       {std::pair<std::string_view, std::string_view>{"family_id", record.family_id},
        {"subject", record.subject},
        {"client_id", record.client_id},
        {"custom_claims_json", record.custom_claims_json}}) {
    if (auto s = CheckText(field, text); !s.ok()) return s;
  }
  for (const auto& audience : record.audiences) {
    if (auto s = CheckText("audience", audience); !s.ok()) return s;
  }
  for (const auto& scope : record.scopes) {
    if (auto s = CheckText("scope", scope); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status ValidateRotateRequest(const RotateRequest& request) {
  if (request.parent_hash.empty()) return absl::InvalidArgumentError("parent_hash is empty");
  if (request.child.token_hash.empty()) return absl::InvalidArgumentError("child hash is empty");
  if (request.child.token_hash == request.parent_hash) {
    return absl::InvalidArgumentError("a refresh token cannot be its own parent");
  }
  if (request.child.lifetime <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("the child's lifetime must be positive");
  }
  if (request.reuse_grace < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("reuse_grace is negative");
  }
  if (request.access_token_margin < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("access_token_margin is negative");
  }
  return CheckText("reuse_reason", request.reuse_reason);
}

absl::Status ValidateRevocation(const Revocation& revocation) {
  switch (revocation.kind) {
    case Revocation::Kind::kTokenId:
    case Revocation::Kind::kFamily:
    case Revocation::Kind::kSubject:
      break;
    default:
      return absl::InvalidArgumentError("unknown revocation kind");
  }
  if (revocation.key.empty()) return absl::InvalidArgumentError("revocation key is empty");
  if (auto s = CheckText("revocation key", revocation.key); !s.ok()) return s;
  return CheckText("revocation reason", revocation.reason);
}

}  // namespace tokend::storage
