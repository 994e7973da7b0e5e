#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace tokend::jwt {

// Bytes that must never be logged: private keys, HMAC secrets, refresh-token plaintext.
// Wiped with OPENSSL_cleanse when destroyed or overwritten; no operator<<; the bytes are
// reached only through the greppable `ExposeSecret()`.
class SecretData {
 public:
  SecretData() = default;
  explicit SecretData(std::string_view bytes);
  SecretData(const SecretData& other);
  SecretData& operator=(const SecretData& other);
  SecretData(SecretData&& other) noexcept;
  SecretData& operator=(SecretData&& other) noexcept;
  ~SecretData();

  std::string_view ExposeSecret() const { return bytes_; }
  size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }

 private:
  void Wipe();
  std::string bytes_;
};

// Constant-time equality (CRYPTO_memcmp); different lengths compare unequal.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace tokend::jwt
