#include "jwt/internal/ecdsa_signature.h"

#include <cstdint>
#include <cstring>

namespace tokend::jwt::internal {
namespace {

constexpr size_t kScalarBytes = 32;

// The order n of the P-256 group (FIPS 186-4 D.1.2.3), big-endian.
constexpr uint8_t kP256Order[kScalarBytes] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51};

// 0 < v < n for a 32-byte big-endian scalar. Signatures are public, so no constant time needed.
bool InOpenRange(const uint8_t* v) {
  bool nonzero = false;
  for (size_t i = 0; i < kScalarBytes; ++i) nonzero |= v[i] != 0;
  return nonzero && std::memcmp(v, kP256Order, kScalarBytes) < 0;
}

// Appends a DER INTEGER holding the positive big-endian value `v`; returns the new end.
uint8_t* AppendDerInteger(uint8_t* out, const uint8_t* v) {
  size_t skip = 0;
  while (skip < kScalarBytes - 1 && v[skip] == 0) ++skip;
  const bool pad = (v[skip] & 0x80) != 0;  // keep the INTEGER positive
  *out++ = 0x02;
  *out++ = static_cast<uint8_t>(kScalarBytes - skip + (pad ? 1 : 0));
  if (pad) *out++ = 0x00;
  std::memcpy(out, v + skip, kScalarBytes - skip);
  return out + (kScalarBytes - skip);
}

// Reads one DER INTEGER at p[0..end) holding a positive value of at most 32 bytes, left-padded
// into `out`; returns the position after it, or nullptr.
const uint8_t* ReadDerInteger(const uint8_t* p, const uint8_t* end, uint8_t* out) {
  if (end - p < 2 || p[0] != 0x02) return nullptr;
  size_t len = p[1];
  p += 2;
  if (len == 0 || len > kScalarBytes + 1 || static_cast<size_t>(end - p) < len) return nullptr;
  if ((p[0] & 0x80) != 0) return nullptr;                          // negative
  if (len > 1 && p[0] == 0 && (p[1] & 0x80) == 0) return nullptr;  // non-minimal
  if (len == kScalarBytes + 1) {
    if (p[0] != 0) return nullptr;
    ++p;
    --len;
  }
  std::memset(out, 0, kScalarBytes - len);
  std::memcpy(out + (kScalarBytes - len), p, len);
  return p + len;
}

}  // namespace

bool P256RawSignatureToDer(std::string_view raw, P256DerSignature& out) {
  if (raw.size() != kP256RawSignatureBytes) return false;
  const auto* r = reinterpret_cast<const uint8_t*>(raw.data());
  const uint8_t* s = r + kScalarBytes;
  if (!InOpenRange(r) || !InOpenRange(s)) return false;
  // SEQUENCE of at most 70 content bytes, so the short length form always fits.
  uint8_t* end = AppendDerInteger(out.bytes + 2, r);
  end = AppendDerInteger(end, s);
  out.bytes[0] = 0x30;
  out.bytes[1] = static_cast<uint8_t>(end - out.bytes - 2);
  out.size = static_cast<size_t>(end - out.bytes);
  return true;
}

bool P256DerSignatureToRaw(std::string_view der, uint8_t out[kP256RawSignatureBytes]) {
  const auto* p = reinterpret_cast<const uint8_t*>(der.data());
  const uint8_t* end = p + der.size();
  if (der.size() < 2 || p[0] != 0x30 || p[1] != der.size() - 2) return false;
  p = ReadDerInteger(p + 2, end, out);
  if (p == nullptr) return false;
  p = ReadDerInteger(p, end, out + kScalarBytes);
  return p == end;
}

}  // namespace tokend::jwt::internal
