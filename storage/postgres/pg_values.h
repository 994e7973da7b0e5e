#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "storage/revocation.h"

namespace tokend::storage::pg {

// How tokend values are written to and read from PostgreSQL columns. Pure functions, no libpqxx.
// Thread-safe.

// Unix microseconds (floor); InfinitePast / InfiniteFuture become INT64_MIN / INT64_MAX, which
// tokend_micros_to_ts maps to -infinity / infinity. Sub-microsecond precision is dropped.
int64_t ToDbMicros(absl::Time time);
absl::Time FromDbMicros(int64_t micros);

// A PostgreSQL text[] literal: every element double-quoted, '"' and '\' backslash-escaped, so
// any storable text (commas, braces, quotes, "NULL", "") survives.
std::string EncodeTextArray(const std::vector<std::string>& values);

// The revocations.kind column and the feed payload's "kind": "token_id", "family", "subject".
std::string_view RevocationKindName(Revocation::Kind kind);
std::optional<Revocation::Kind> ParseRevocationKind(std::string_view name);

}  // namespace tokend::storage::pg
