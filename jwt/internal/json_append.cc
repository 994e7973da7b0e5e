#include "jwt/internal/json_append.h"

#include <array>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "jwt/internal/strict_json.h"
#include "rapidjson/internal/dtoa.h"
#include "rapidjson/internal/ieee754.h"

namespace tokend::jwt::internal {
namespace {

// Deeper values are refused rather than recursed into; StrictJsonDocument never builds one.
constexpr int kMaxDepth = 64;

constexpr char kHexDigits[] = "0123456789ABCDEF";

// Per byte: 0 = copy as is, 'u' = \u00XX, else the letter of the short escape. The same table
// as RapidJSON's Writer, so that switching writers changed no signed byte.
constexpr std::array<char, 256> MakeEscapeTable() {
  std::array<char, 256> table{};
  for (int c = 0; c < 0x20; ++c) table[c] = 'u';
  table['\b'] = 'b';
  table['\t'] = 't';
  table['\n'] = 'n';
  table['\f'] = 'f';
  table['\r'] = 'r';
  table['"'] = '"';
  table['\\'] = '\\';
  return table;
}

constexpr std::array<char, 256> kEscape = MakeEscapeTable();

struct Scan {
  bool needs_escape = false;  // some byte has a non-zero kEscape entry
  bool non_ascii = false;     // some byte is 0x80 or above
};

// Classifies `s` eight bytes at a time. The tests below are exact as yes/no answers for the
// whole word (a borrow can only set extra bits after a byte that really matched).
Scan ScanString(std::string_view s) {
  constexpr uint64_t kOnes = 0x0101010101010101U;
  constexpr uint64_t kHigh = 0x8080808080808080U;
  uint64_t special = 0;
  uint64_t high = 0;
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, sizeof w);
    const uint64_t quote = w ^ (kOnes * '"');
    const uint64_t backslash = w ^ (kOnes * '\\');
    special |= ((w - kOnes * 0x20) & ~w) |          // a byte below 0x20
               ((quote - kOnes) & ~quote) |         // a '"'
               ((backslash - kOnes) & ~backslash);  // a '\\'
    high |= w;
  }
  Scan scan;
  scan.needs_escape = (special & kHigh) != 0;
  scan.non_ascii = (high & kHigh) != 0;
  for (; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    scan.needs_escape |= kEscape[c] != 0;
    scan.non_ascii |= c >= 0x80;
  }
  return scan;
}

template <typename Integer>
void AppendInteger(Integer value, std::string* out) {
  char buffer[24];
  const std::to_chars_result result = std::to_chars(buffer, buffer + sizeof buffer, value);
  out->append(buffer, static_cast<size_t>(result.ptr - buffer));
}

bool AppendValue(const rapidjson::Value& value, std::string* out, int depth) {
  switch (value.GetType()) {
    case rapidjson::kNullType:
      out->append("null");
      return true;
    case rapidjson::kFalseType:
      out->append("false");
      return true;
    case rapidjson::kTrueType:
      out->append("true");
      return true;
    case rapidjson::kStringType:
      return AppendJsonString(StringOf(value), out);
    case rapidjson::kObjectType: {
      if (depth >= kMaxDepth) return false;
      out->push_back('{');
      bool first = true;
      for (const auto& member : value.GetObject()) {
        if (!first) out->push_back(',');
        first = false;
        if (!AppendJsonString(StringOf(member.name), out)) return false;
        out->push_back(':');
        if (!AppendValue(member.value, out, depth + 1)) return false;
      }
      out->push_back('}');
      return true;
    }
    case rapidjson::kArrayType: {
      if (depth >= kMaxDepth) return false;
      out->push_back('[');
      bool first = true;
      for (const rapidjson::Value& element : value.GetArray()) {
        if (!first) out->push_back(',');
        first = false;
        if (!AppendValue(element, out, depth + 1)) return false;
      }
      out->push_back(']');
      return true;
    }
    case rapidjson::kNumberType:
      break;
  }
  // The order of GenericValue::Accept, so that each number keeps the form RapidJSON gave it.
  if (value.IsDouble()) {
    const double d = value.GetDouble();
    if (rapidjson::internal::Double(d).IsNanOrInf()) return false;  // not JSON (RFC 8259 §6)
    char buffer[25];  // RapidJSON's own bound for dtoa
    const char* end = rapidjson::internal::dtoa(d, buffer);
    out->append(buffer, static_cast<size_t>(end - buffer));
  } else if (value.IsInt()) {
    AppendInteger(value.GetInt(), out);
  } else if (value.IsUint()) {
    AppendInteger(value.GetUint(), out);
  } else if (value.IsInt64()) {
    AppendInteger(value.GetInt64(), out);
  } else {
    AppendInteger(value.GetUint64(), out);
  }
  return true;
}

}  // namespace

bool AppendJsonString(std::string_view s, std::string* out) {
  const Scan scan = ScanString(s);
  // A string of ASCII bytes is strict UTF-8 by definition; anything else goes through the full
  // check, before anything is written, so a refused string leaves `out` as it was.
  if (scan.non_ascii && !IsStrictUtf8(s)) return false;
  const size_t start = out->size();
  if (!scan.needs_escape) {
    // The common case: one resize, quotes and one copy.
    out->resize(start + s.size() + 2);
    char* p = out->data() + start;
    p[0] = '"';
    if (!s.empty()) std::memcpy(p + 1, s.data(), s.size());
    p[s.size() + 1] = '"';
    return true;
  }
  out->push_back('"');
  const char* run = s.data();
  const char* const end = s.data() + s.size();
  for (const char* p = run; p != end; ++p) {
    const auto c = static_cast<unsigned char>(*p);
    const char escape = kEscape[c];
    if (escape == 0) continue;
    out->append(run, static_cast<size_t>(p - run));
    char sequence[6] = {'\\', escape, '0', '0', kHexDigits[c >> 4], kHexDigits[c & 0xF]};
    out->append(sequence, escape == 'u' ? 6 : 2);
    run = p + 1;
  }
  out->append(run, static_cast<size_t>(end - run));
  out->push_back('"');
  return true;
}

bool AppendJsonValue(const rapidjson::Value& value, std::string* out) {
  return AppendValue(value, out, 0);
}

}  // namespace tokend::jwt::internal
