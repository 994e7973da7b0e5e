#include "jwt/secret_data.h"

#include <openssl/crypto.h>

#include <utility>

namespace tokend::jwt {

SecretData::SecretData(std::string_view bytes) : bytes_(bytes) {}

SecretData::SecretData(const SecretData& other) = default;

SecretData& SecretData::operator=(const SecretData& other) {
  if (this != &other) {
    Wipe();
    bytes_ = other.bytes_;
  }
  return *this;
}

// A moved-from std::string may keep its bytes in the small-string buffer, so the source is
// wiped explicitly rather than trusting the move to take the only copy.
// NOLINTNEXTLINE(cert-oop11-cpp,performance-move-constructor-init): copy-then-wipe is deliberate.
SecretData::SecretData(SecretData&& other) noexcept : bytes_(other.bytes_) { other.Wipe(); }

SecretData& SecretData::operator=(SecretData&& other) noexcept {
  if (this != &other) {
    Wipe();
    bytes_ = other.bytes_;
    other.Wipe();
  }
  return *this;
}

SecretData::~SecretData() { Wipe(); }

void SecretData::Wipe() {
  // OPENSSL_cleanse cannot be optimized away, unlike a memset before free.
  if (!bytes_.empty()) OPENSSL_cleanse(bytes_.data(), bytes_.size());
  bytes_.clear();
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  // The lengths are public (a MAC or hash has a fixed size); only the contents are compared
  // in constant time.
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace tokend::jwt
