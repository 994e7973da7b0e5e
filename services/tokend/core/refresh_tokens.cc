#include "services/tokend/core/refresh_tokens.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <string>

#include "absl/status/status.h"
#include "jwt/base64url.h"

namespace tokend::core {

absl::StatusOr<std::string> RandomBytes(size_t bytes) {
  std::string out(bytes, '\0');
  if (bytes > 0 &&
      RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(bytes)) != 1) {
    return absl::InternalError("random number generator failed");
  }
  return out;
}

absl::StatusOr<std::string> NewRandomId() {
  auto bytes = RandomBytes(16);
  if (!bytes.ok()) return bytes.status();
  return jwt::Base64UrlEncode(*bytes);
}

namespace {

// prefix + base64url(raw), with every intermediate copy wiped.
jwt::SecretData EncodeToken(std::string_view raw) {
  std::string encoded = jwt::Base64UrlEncode(raw);
  std::string text;
  text.reserve(kRefreshTokenPrefix.size() + encoded.size());
  text.append(kRefreshTokenPrefix).append(encoded);
  jwt::SecretData token(text);
  OPENSSL_cleanse(encoded.data(), encoded.size());
  OPENSSL_cleanse(text.data(), text.size());
  return token;
}

}  // namespace

absl::StatusOr<jwt::SecretData> GenerateRefreshToken() {
  auto bytes = RandomBytes(kRefreshTokenRandomBytes);
  if (!bytes.ok()) return bytes.status();
  jwt::SecretData token = EncodeToken(*bytes);
  OPENSSL_cleanse(bytes->data(), bytes->size());
  return token;
}

absl::StatusOr<jwt::SecretData> DeriveChildRefreshToken(const jwt::SecretData& secret,
                                                        std::string_view parent) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  const std::string_view key = secret.ExposeSecret();
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(parent.data()), parent.size(), mac,
           &mac_len) == nullptr ||
      mac_len != kRefreshTokenRandomBytes) {
    return absl::InternalError("refresh token derivation failed");
  }
  jwt::SecretData child =
      EncodeToken(std::string_view(reinterpret_cast<const char*>(mac), mac_len));
  OPENSSL_cleanse(mac, sizeof(mac));
  return child;
}

bool IsWellFormedRefreshToken(std::string_view token) {
  if (token.size() != kRefreshTokenLength ||
      token.substr(0, kRefreshTokenPrefix.size()) != kRefreshTokenPrefix) {
    return false;
  }
  // Strict decoding rejects a foreign charset, padding and non-canonical trailing bits.
  auto decoded = jwt::Base64UrlDecode(token.substr(kRefreshTokenPrefix.size()));
  if (!decoded.ok()) return false;
  const bool ok = decoded->size() == kRefreshTokenRandomBytes;
  OPENSSL_cleanse(decoded->data(), decoded->size());
  return ok;
}

absl::StatusOr<std::string> HashRefreshToken(std::string_view token) {
  std::string hash(SHA256_DIGEST_LENGTH, '\0');
  unsigned int length = 0;
  if (EVP_Digest(token.data(), token.size(), reinterpret_cast<unsigned char*>(hash.data()), &length,
                 EVP_sha256(), nullptr) != 1 ||
      length != SHA256_DIGEST_LENGTH) {
    return absl::InternalError("SHA-256 failed");
  }
  return hash;
}

}  // namespace tokend::core
