#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "jwt/json.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace tokend::jwt::internal {

// A JSON document parsed under the contract of ValidateStrictJsonObject (json.h): RFC 8259
// grammar, valid UTF-8 without surrogate code points (escaped or raw), no duplicate member names
// at any level, bounded depth and size. The DOM lives in an inline arena first, so parsing a
// small header or payload does not touch the heap for the tree. Not copyable or movable (the
// document points into the arena); not thread-safe.
class StrictJsonDocument {
 public:
  StrictJsonDocument();
  StrictJsonDocument(const StrictJsonDocument&) = delete;
  StrictJsonDocument& operator=(const StrictJsonDocument&) = delete;

  // INVALID_ARGUMENT with a fixed phrase (never the input) on any violation. Call once.
  absl::Status Parse(std::string_view json, const JsonLimits& limits);

  // Valid only after Parse returned OK.
  const rapidjson::Value& root() const { return document_; }

 private:
  static constexpr size_t kArenaBytes = 4096;
  alignas(std::max_align_t) char arena_[kArenaBytes];
  rapidjson::MemoryPoolAllocator<> allocator_;
  rapidjson::Document document_;
};

// The string value of `value`, which must be a string.
inline std::string_view StringOf(const rapidjson::Value& value) {
  return {value.GetString(), value.GetStringLength()};
}

// Finds the member `name` of an object, or nullptr. Member names are unique after Parse.
const rapidjson::Value* FindMember(const rapidjson::Value& object, std::string_view name);

// A writer that refuses invalid UTF-8 (String() returns false) and escapes as RFC 8259 needs.
using JsonWriter =
    rapidjson::Writer<rapidjson::StringBuffer, rapidjson::UTF8<>, rapidjson::UTF8<>,
                      rapidjson::CrtAllocator, rapidjson::kWriteValidateEncodingFlag>;

// Writes a string member value; false on invalid UTF-8.
inline bool WriteString(JsonWriter& writer, std::string_view s) {
  return writer.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

// True if `s` is well-formed UTF-8 with no surrogate code points, overlong forms or values above
// U+10FFFF.
bool IsStrictUtf8(std::string_view s);

}  // namespace tokend::jwt::internal
