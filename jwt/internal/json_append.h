#pragma once

#include <string>
#include <string_view>

#include "rapidjson/document.h"

namespace tokend::jwt::internal {

// Compact JSON output by appending to a std::string, for the signer's hot path. The bytes are
// exactly those of the validating RapidJSON writer (JsonWriter in strict_json.h) for the same
// input: no whitespace; in strings only '"', '\\' and bytes below 0x20 are escaped (\b \t \n \f
// \r, else \u00XX with upper-case hex), everything else, non-ASCII UTF-8 included, is copied;
// numbers as RapidJSON prints them. Stateless and thread-safe. It does not check member names
// for duplicates (the caller's input is already strict, e.g. a StrictJsonDocument).

// Appends `s` as a JSON string literal, quotes included. False, with `out` unchanged, when `s`
// is not strict UTF-8 (IsStrictUtf8): a token must never carry text a verifier would reject.
bool AppendJsonString(std::string_view s, std::string* out);

// Appends `value` (any JSON type, strings checked as above). False when a string is not strict
// UTF-8, a number is NaN or infinite, or nesting exceeds 64 levels (the strict parser's hard
// cap); `out` then holds a partial value and must be discarded.
bool AppendJsonValue(const rapidjson::Value& value, std::string* out);

}  // namespace tokend::jwt::internal
