#include "storage/signing_key_record.h"

#include "absl/strings/str_cat.h"
#include "storage/validation.h"

namespace tokend::storage {
namespace {

constexpr size_t kMaxKidBytes = 256;

absl::Status RequireText(absl::string_view field, std::string_view text) {
  if (text.empty()) return absl::InvalidArgumentError(absl::StrCat("signing key: empty ", field));
  if (!IsStorableText(text)) {
    // The field name only: never echo the value.
    return absl::InvalidArgumentError(
        absl::StrCat("signing key: ", field, " is not valid UTF-8 text"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string_view KeyStateName(KeyState state) {
  switch (state) {
    case KeyState::kNext:
      return "next";
    case KeyState::kActive:
      return "active";
    case KeyState::kRetired:
      return "retired";
    case KeyState::kRemoved:
      return "removed";
  }
  return "";
}

std::optional<KeyState> ParseKeyState(std::string_view name) {
  if (name == "next") return KeyState::kNext;
  if (name == "active") return KeyState::kActive;
  if (name == "retired") return KeyState::kRetired;
  if (name == "removed") return KeyState::kRemoved;
  return std::nullopt;
}

absl::Status ValidateNewSigningKey(const SigningKeyRecord& record) {
  if (absl::Status s = RequireText("kid", record.kid); !s.ok()) return s;
  if (record.kid.size() > kMaxKidBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("signing key: kid longer than ", kMaxKidBytes, " bytes"));
  }
  if (absl::Status s = RequireText("algorithm", record.algorithm); !s.ok()) return s;
  if (absl::Status s = RequireText("public JWK", record.public_jwk_json); !s.ok()) return s;
  if (absl::Status s = RequireText("kek_id", record.kek_id); !s.ok()) return s;
  if (absl::Status s = RequireText("origin", record.origin); !s.ok()) return s;
  if (!IsStorableText(record.removal_reason)) {
    return absl::InvalidArgumentError("signing key: removal reason is not valid UTF-8 text");
  }
  if (record.encrypted_private_key.empty()) {
    return absl::InvalidArgumentError("signing key: empty encrypted private key");
  }
  if (record.state == KeyState::kRemoved) {
    return absl::InvalidArgumentError("signing key: a removed key cannot be inserted");
  }
  const auto finite = [](absl::Time t) {
    return t != absl::InfiniteFuture() && t != absl::InfinitePast();
  };
  if (!finite(record.created_at) || !finite(record.activates_at)) {
    return absl::InvalidArgumentError("signing key: created_at and activates_at must be finite");
  }
  return absl::OkStatus();
}

}  // namespace tokend::storage
