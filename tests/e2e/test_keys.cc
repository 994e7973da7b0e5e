#include "tests/e2e/test_keys.h"

#include <openssl/evp.h>

#include <string>
#include <vector>

#include "jwt/keys.h"

namespace tokend::e2e {

absl::StatusOr<std::string> GeneratePrivateKeyPem(jwt::Algorithm algorithm) {
  absl::StatusOr<jwt::SigningKey> key = jwt::SigningKey::Generate(algorithm);
  if (!key.ok()) return key.status();
  jwt::SecretData der = key->ExportPrivatePkcs8Der();
  std::string_view bytes = der.ExposeSecret();
  std::vector<unsigned char> b64(4 * ((bytes.size() + 2) / 3) + 1);
  int n = EVP_EncodeBlock(b64.data(), reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  std::string body(reinterpret_cast<const char*>(b64.data()), static_cast<size_t>(n));
  std::string pem = "-----BEGIN PRIVATE KEY-----\n";
  for (size_t i = 0; i < body.size(); i += 64) pem += body.substr(i, 64) + "\n";
  pem += "-----END PRIVATE KEY-----\n";
  return pem;
}

}  // namespace tokend::e2e
