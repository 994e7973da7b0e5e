#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "jwt/algorithm.h"
#include "openssl/evp.h"

namespace tokend::bench {

struct EvpPkeyFree {
  void operator()(EVP_PKEY* pkey) const { EVP_PKEY_free(pkey); }
};
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;

struct EvpMdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, EvpMdCtxFree>;

// The bare OpenSSL cost of one signature or verification of a message: the yardstick the JWT
// core is measured against. Sign/Verify do per call what any caller of OpenSSL must do for one
// message and nothing more: EVP_MD_CTX_new, EVP_DigestSignInit/EVP_DigestVerifyInit,
// EVP_DigestSign/EVP_DigestVerify, EVP_MD_CTX_free; HS256 is the one-shot HMAC() (+
// CRYPTO_memcmp to verify). ES256 signatures are OpenSSL's native DER.
// The *FromTemplate variants instead copy a context initialized once (EVP_MD_CTX_copy_ex): the
// floor a core could reach by caching an initialized context per key (a diagnostic, not a
// target). Immutable after Create; concurrent calls only read the templates.
class OpenSslBaseline {
 public:
  // For asymmetric algorithms `private_key` signs and `public_key` verifies; for HS256 both are
  // null and `hmac_secret` holds the secret. The keys are not owned and must outlive this.
  static absl::StatusOr<OpenSslBaseline> Create(jwt::Algorithm algorithm, EVP_PKEY* private_key,
                                                EVP_PKEY* public_key, std::string hmac_secret);

  // The signature of `message`, or an error (never key material).
  absl::StatusOr<std::string> Sign(std::string_view message) const;
  bool Verify(std::string_view message, std::string_view signature) const;

  absl::StatusOr<std::string> SignFromTemplate(std::string_view message) const;
  bool VerifyFromTemplate(std::string_view message, std::string_view signature) const;

 private:
  OpenSslBaseline(jwt::Algorithm algorithm, EVP_PKEY* private_key, EVP_PKEY* public_key,
                  std::string hmac_secret);

  jwt::Algorithm algorithm_;
  EVP_PKEY* private_key_;  // not owned
  EVP_PKEY* public_key_;   // not owned
  std::string hmac_secret_;
  EvpMdCtxPtr sign_template_;    // null for HS256
  EvpMdCtxPtr verify_template_;  // null for HS256
};

}  // namespace tokend::bench
