#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "storage/revocation.h"

namespace tokend::storage::pg {

// The NOTIFY payload on channel tokend_revocations: one JSON object with exactly
//   {"kind": "token_id"|"family"|"subject", "key": "<text>",
//    "not_before": <int64>, "expires_at": <int64>, "revoked_at": <int64>}
// times in Unix microseconds (INT64_MIN / INT64_MAX for infinite). The reason is not sent.
// Anyone with access to the database can NOTIFY this channel, so decoding is strict. Pure
// functions; thread-safe.

// PostgreSQL refuses payloads of 8000 bytes or more; stay well below.
inline constexpr size_t kMaxRevocationPayloadBytes = 7000;

std::string EncodeRevocationPayload(const Revocation& revocation);

// nullopt unless the payload is valid UTF-8 JSON with exactly the five members above, of the
// right types, a known kind and a non-empty key that is storable text.
std::optional<Revocation> DecodeRevocationPayload(std::string_view payload);

}  // namespace tokend::storage::pg
