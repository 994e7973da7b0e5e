#include "jwt/base64url.h"

#include <array>
#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "jwt/internal/base64url_append.h"

namespace tokend::jwt {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr uint8_t kInvalid = 0xFF;

// Reverse alphabet: every byte outside [A-Za-z0-9_-] (including '=', '+', '/', whitespace and
// NUL) maps to kInvalid.
constexpr std::array<uint8_t, 256> MakeDecodeTable() {
  std::array<uint8_t, 256> table{};
  for (auto& entry : table) entry = kInvalid;
  for (uint8_t i = 0; i < 64; ++i) table[static_cast<uint8_t>(kAlphabet[i])] = i;
  return table;
}

constexpr std::array<uint8_t, 256> kDecodeTable = MakeDecodeTable();

}  // namespace

namespace internal {

void AppendBase64Url(std::string_view data, std::string* out) {
  const size_t n = data.size();
  const size_t start = out->size();
  // One resize to the exact length, then plain stores: no per-character growth check.
  out->resize(start + (n * 4 + 2) / 3);
  char* o = out->data() + start;
  const auto* in = reinterpret_cast<const uint8_t*>(data.data());
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    const uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8) | in[i + 2];
    o[0] = kAlphabet[(v >> 18) & 63];
    o[1] = kAlphabet[(v >> 12) & 63];
    o[2] = kAlphabet[(v >> 6) & 63];
    o[3] = kAlphabet[v & 63];
    o += 4;
  }
  if (n - i == 1) {
    const uint32_t v = uint32_t{in[i]} << 16;
    o[0] = kAlphabet[(v >> 18) & 63];
    o[1] = kAlphabet[(v >> 12) & 63];
  } else if (n - i == 2) {
    const uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8);
    o[0] = kAlphabet[(v >> 18) & 63];
    o[1] = kAlphabet[(v >> 12) & 63];
    o[2] = kAlphabet[(v >> 6) & 63];
  }
}

}  // namespace internal

std::string Base64UrlEncode(std::string_view data) {
  std::string out;
  internal::AppendBase64Url(data, &out);
  return out;
}

absl::StatusOr<std::string> Base64UrlDecode(std::string_view encoded) {
  const size_t n = encoded.size();
  // A length of 4n+1 leaves 6 bits, which cannot hold a byte.
  if (n % 4 == 1) return absl::InvalidArgumentError("base64url: invalid length");
  std::string out;
  out.resize(n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1));
  const auto* in = reinterpret_cast<const uint8_t*>(encoded.data());
  size_t o = 0;
  size_t i = 0;
  uint8_t bad = 0;
  for (; i + 4 <= n; i += 4) {
    const uint8_t a = kDecodeTable[in[i]];
    const uint8_t b = kDecodeTable[in[i + 1]];
    const uint8_t c = kDecodeTable[in[i + 2]];
    const uint8_t d = kDecodeTable[in[i + 3]];
    bad |= (a | b | c | d) & 0x80;
    uint32_t v = (uint32_t{a} << 18) | (uint32_t{b} << 12) | (uint32_t{c} << 6) | d;
    out[o++] = static_cast<char>((v >> 16) & 0xFF);
    out[o++] = static_cast<char>((v >> 8) & 0xFF);
    out[o++] = static_cast<char>(v & 0xFF);
  }
  const size_t rest = n - i;
  if (rest == 2) {
    const uint8_t a = kDecodeTable[in[i]];
    const uint8_t b = kDecodeTable[in[i + 1]];
    bad |= (a | b) & 0x80;
    // The low 4 bits of the last character are not part of any byte; they must be zero so that
    // every byte string has exactly one encoding.
    bad |= (b & 0x0F) != 0 ? 0x80 : 0;
    out[o++] = static_cast<char>(((a << 2) | (b >> 4)) & 0xFF);
  } else if (rest == 3) {
    const uint8_t a = kDecodeTable[in[i]];
    const uint8_t b = kDecodeTable[in[i + 1]];
    const uint8_t c = kDecodeTable[in[i + 2]];
    bad |= (a | b | c) & 0x80;
    bad |= (c & 0x03) != 0 ? 0x80 : 0;  // the low 2 bits, as above
    uint32_t v = (uint32_t{a} << 18) | (uint32_t{b} << 12) | (uint32_t{c} << 6);
    out[o++] = static_cast<char>((v >> 16) & 0xFF);
    out[o++] = static_cast<char>((v >> 8) & 0xFF);
  }
  if (bad != 0) return absl::InvalidArgumentError("base64url: invalid character or trailing bits");
  return out;
}

}  // namespace tokend::jwt
