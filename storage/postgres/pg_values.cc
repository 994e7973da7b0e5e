#include "storage/postgres/pg_values.h"

#include <limits>

namespace tokend::storage::pg {

int64_t ToDbMicros(absl::Time time) {
  if (time == absl::InfiniteFuture()) return std::numeric_limits<int64_t>::max();
  if (time == absl::InfinitePast()) return std::numeric_limits<int64_t>::min();
  return absl::ToUnixMicros(time);  // saturates outside the int64 range
}

absl::Time FromDbMicros(int64_t micros) {
  if (micros == std::numeric_limits<int64_t>::max()) return absl::InfiniteFuture();
  if (micros == std::numeric_limits<int64_t>::min()) return absl::InfinitePast();
  return absl::FromUnixMicros(micros);
}

std::string EncodeTextArray(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out.push_back(',');
    out.push_back('"');
    for (char c : values[i]) {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

std::string_view RevocationKindName(Revocation::Kind kind) {
  switch (kind) {
    case Revocation::Kind::kTokenId:
      return "token_id";
    case Revocation::Kind::kFamily:
      return "family";
    case Revocation::Kind::kSubject:
      return "subject";
  }
  return "";
}

std::optional<Revocation::Kind> ParseRevocationKind(std::string_view name) {
  if (name == "token_id") return Revocation::Kind::kTokenId;
  if (name == "family") return Revocation::Kind::kFamily;
  if (name == "subject") return Revocation::Kind::kSubject;
  return std::nullopt;
}

}  // namespace tokend::storage::pg
