#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tokend::jwt::internal {

// Conversions between the JWS ES256 signature format (RFC 7518 §3.4: 64 bytes, r||s, each
// big-endian and left-padded to 32 bytes) and the DER SEQUENCE OpenSSL signs and verifies. Both
// work on fixed-size buffers: no allocation on the sign or verify path.

inline constexpr size_t kP256RawSignatureBytes = 64;
// SEQUENCE header (2) + two INTEGERs of at most 2 + 33 bytes.
inline constexpr size_t kP256MaxDerSignatureBytes = 72;

struct P256DerSignature {
  uint8_t bytes[kP256MaxDerSignatureBytes];
  size_t size = 0;
  std::string_view view() const { return {reinterpret_cast<const char*>(bytes), size}; }
};

// DER for OpenSSL from a raw ES256 signature. False unless the input is exactly 64 bytes with
// 0 < r < n and 0 < s < n (n = the P-256 group order): the range check happens here, before
// OpenSSL sees anything, so zero and out-of-range values are rejected however the library would
// treat them.
bool P256RawSignatureToDer(std::string_view raw, P256DerSignature& out);

// The raw r||s form (64 bytes into `out`) of a DER ECDSA signature produced by OpenSSL. Parses
// defensively (strict DER INTEGERs that fit 32 bytes, no trailing bytes); false otherwise.
bool P256DerSignatureToRaw(std::string_view der, uint8_t out[kP256RawSignatureBytes]);

}  // namespace tokend::jwt::internal
