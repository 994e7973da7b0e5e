#include "jwt/json.h"

#include <cstring>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "jwt/internal/strict_json.h"
#include "rapidjson/error/en.h"
#include "rapidjson/reader.h"

// Why RapidJSON for untrusted JSON (headers, payloads, JWKs):
//  - kParseValidateEncodingFlag checks every input byte as strict UTF-8 (no overlong forms, no
//    encoded surrogates), so no second validation pass over the raw text is needed;
//  - kParseIterativeFlag parses with an explicit stack: hostile nesting cannot overflow the call
//    stack, and the DOM (in a memory pool) is released without recursion either;
//  - it is fast and allocation-light (arena allocator), which matters on the Verify hot path; a
//    later benchmark compares it with nlohmann::json.
// What it does not do, and the walk below adds: reject duplicate member names (RFC 8259 leaves
// them undefined; RFC 7515 §5.2 requires rejecting them, and two parsers reading different
// values is a classic bypass), bound the depth, and reject an escaped lone low surrogate
// ("\udc00"), which RapidJSON 1.1 decodes into CESU-8 bytes.

namespace tokend::jwt {
namespace internal {
namespace {

// Recursion in the walk is bounded by this regardless of the limits passed in.
constexpr int kHardMaxDepth = 64;
// Objects with more members than this use a hash set for the duplicate check.
constexpr size_t kLinearDuplicateScanMax = 8;

constexpr unsigned kParseFlags =
    rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag;

absl::Status Invalid(std::string_view phrase) {
  return absl::InvalidArgumentError(std::string("json: ").append(phrase));
}

absl::Status CheckString(const rapidjson::Value& value) {
  if (!IsStrictUtf8(StringOf(value))) return Invalid("invalid UTF-8 in string");
  return absl::OkStatus();
}

absl::Status Walk(const rapidjson::Value& value, int depth, int max_depth) {
  if (value.IsString()) return CheckString(value);
  if (!value.IsObject() && !value.IsArray()) return absl::OkStatus();
  if (depth > max_depth) return Invalid("nesting too deep");
  if (value.IsArray()) {
    for (const rapidjson::Value& element : value.GetArray()) {
      absl::Status status = Walk(element, depth + 1, max_depth);
      if (!status.ok()) return status;
    }
    return absl::OkStatus();
  }
  const auto object = value.GetObject();
  const size_t count = object.MemberCount();
  if (count <= kLinearDuplicateScanMax) {
    for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it) {
      for (auto prev = object.MemberBegin(); prev != it; ++prev) {
        if (StringOf(prev->name) == StringOf(it->name)) return Invalid("duplicate member name");
      }
    }
  } else {
    absl::flat_hash_set<std::string_view> seen;
    seen.reserve(count);
    for (const auto& member : object) {
      if (!seen.insert(StringOf(member.name)).second) return Invalid("duplicate member name");
    }
  }
  for (const auto& member : object) {
    absl::Status status = CheckString(member.name);
    if (!status.ok()) return status;
    status = Walk(member.value, depth + 1, max_depth);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

}  // namespace

StrictJsonDocument::StrictJsonDocument()
    : allocator_(arena_, kArenaBytes, /*chunkSize=*/8192), document_(&allocator_) {}

absl::Status StrictJsonDocument::Parse(std::string_view json, const JsonLimits& limits) {
  if (json.size() > limits.max_bytes) return Invalid("document too large");
  // RapidJSON treats NUL as the end of input, so "{}\0junk" would pass as "{}". JSON never
  // contains a raw NUL (inside strings it must be escaped), so any NUL is an error.
  if (std::memchr(json.data(), '\0', json.size()) != nullptr) return Invalid("NUL byte");
  // RapidJSON skips a UTF-8 byte order mark; RFC 8259 §8.1 forbids sending one, and accepting it
  // would give the same JSON two encodings.
  if (json.size() >= 3 && json.substr(0, 3) == "\xEF\xBB\xBF") return Invalid("byte order mark");
  // Without kParseStopWhenDoneFlag, anything but whitespace after the root value is an error.
  document_.Parse<kParseFlags>(json.data(), json.size());
  if (document_.HasParseError()) return Invalid("syntax error");
  int max_depth = limits.max_depth < kHardMaxDepth ? limits.max_depth : kHardMaxDepth;
  return Walk(document_, 1, max_depth);
}

const rapidjson::Value* FindMember(const rapidjson::Value& object, std::string_view name) {
  for (const auto& member : object.GetObject()) {
    if (StringOf(member.name) == name) return &member.value;
  }
  return nullptr;
}

bool IsStrictUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const unsigned char* end = p + s.size();
  while (p < end) {
    unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    size_t len;
    // The allowed range of the second byte (RFC 3629 §4).
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;  // no overlong forms
      if (c == 0xED) hi = 0x9F;  // no surrogates U+D800..U+DFFF
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;  // no overlong forms
      if (c == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
    } else {
      return false;
    }
    if (static_cast<size_t>(end - p) < len) return false;
    if (p[1] < lo || p[1] > hi) return false;
    for (size_t k = 2; k < len; ++k) {
      if (p[k] < 0x80 || p[k] > 0xBF) return false;
    }
    p += len;
  }
  return true;
}

}  // namespace internal

absl::Status ValidateStrictJsonObject(std::string_view json, const JsonLimits& limits) {
  internal::StrictJsonDocument document;
  absl::Status status = document.Parse(json, limits);
  if (!status.ok()) return status;
  if (!document.root().IsObject()) return absl::InvalidArgumentError("json: not an object");
  return absl::OkStatus();
}

}  // namespace tokend::jwt
