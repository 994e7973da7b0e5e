#include "bench/openssl_baseline.h"

#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "openssl/crypto.h"
#include "openssl/evp.h"
#include "openssl/hmac.h"

namespace tokend::bench {
namespace {

// Ed25519 signs the message itself (no pre-hash): OpenSSL wants a null digest for it.
const EVP_MD* DigestFor(jwt::Algorithm algorithm) {
  return algorithm == jwt::Algorithm::kEdDSA ? nullptr : EVP_sha256();
}

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

absl::StatusOr<std::string> Hmac(const std::string& secret, std::string_view message) {
  std::string mac(EVP_MAX_MD_SIZE, '\0');
  unsigned int mac_len = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), Bytes(message),
           message.size(), reinterpret_cast<unsigned char*>(mac.data()), &mac_len) == nullptr) {
    return absl::InternalError("HMAC failed");
  }
  mac.resize(mac_len);
  return mac;
}

bool HmacVerify(const std::string& secret, std::string_view message, std::string_view tag) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), Bytes(message),
           message.size(), mac, &mac_len) == nullptr) {
    return false;
  }
  return mac_len == tag.size() && CRYPTO_memcmp(mac, tag.data(), mac_len) == 0;
}

// One EVP_DigestSign on an initialized context.
absl::StatusOr<std::string> DigestSign(EVP_MD_CTX* ctx, EVP_PKEY* pkey, std::string_view message) {
  size_t len = static_cast<size_t>(EVP_PKEY_get_size(pkey));
  std::string signature(len, '\0');
  if (EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(signature.data()), &len, Bytes(message),
                     message.size()) != 1) {
    return absl::InternalError("EVP_DigestSign failed");
  }
  signature.resize(len);
  return signature;
}

}  // namespace

OpenSslBaseline::OpenSslBaseline(jwt::Algorithm algorithm, EVP_PKEY* private_key,
                                 EVP_PKEY* public_key, std::string hmac_secret)
    : algorithm_(algorithm),
      private_key_(private_key),
      public_key_(public_key),
      hmac_secret_(std::move(hmac_secret)) {}

absl::StatusOr<OpenSslBaseline> OpenSslBaseline::Create(jwt::Algorithm algorithm,
                                                        EVP_PKEY* private_key, EVP_PKEY* public_key,
                                                        std::string hmac_secret) {
  OpenSslBaseline baseline(algorithm, private_key, public_key, std::move(hmac_secret));
  if (algorithm == jwt::Algorithm::kHS256) return baseline;
  baseline.sign_template_.reset(EVP_MD_CTX_new());
  baseline.verify_template_.reset(EVP_MD_CTX_new());
  if (baseline.sign_template_ == nullptr || baseline.verify_template_ == nullptr ||
      EVP_DigestSignInit(baseline.sign_template_.get(), nullptr, DigestFor(algorithm), nullptr,
                         private_key) != 1 ||
      EVP_DigestVerifyInit(baseline.verify_template_.get(), nullptr, DigestFor(algorithm), nullptr,
                           public_key) != 1) {
    return absl::InternalError("cannot initialize the template contexts");
  }
  return baseline;
}

absl::StatusOr<std::string> OpenSslBaseline::Sign(std::string_view message) const {
  if (algorithm_ == jwt::Algorithm::kHS256) return Hmac(hmac_secret_, message);
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr ||
      EVP_DigestSignInit(ctx.get(), nullptr, DigestFor(algorithm_), nullptr, private_key_) != 1) {
    return absl::InternalError("EVP_DigestSignInit failed");
  }
  return DigestSign(ctx.get(), private_key_, message);
}

bool OpenSslBaseline::Verify(std::string_view message, std::string_view signature) const {
  if (algorithm_ == jwt::Algorithm::kHS256) return HmacVerify(hmac_secret_, message, signature);
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr ||
      EVP_DigestVerifyInit(ctx.get(), nullptr, DigestFor(algorithm_), nullptr, public_key_) != 1) {
    return false;
  }
  return EVP_DigestVerify(ctx.get(), Bytes(signature), signature.size(), Bytes(message),
                          message.size()) == 1;
}

absl::StatusOr<std::string> OpenSslBaseline::SignFromTemplate(std::string_view message) const {
  if (algorithm_ == jwt::Algorithm::kHS256) return Hmac(hmac_secret_, message);
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr || EVP_MD_CTX_copy_ex(ctx.get(), sign_template_.get()) != 1) {
    return absl::InternalError("EVP_MD_CTX_copy_ex failed");
  }
  return DigestSign(ctx.get(), private_key_, message);
}

bool OpenSslBaseline::VerifyFromTemplate(std::string_view message,
                                         std::string_view signature) const {
  if (algorithm_ == jwt::Algorithm::kHS256) return HmacVerify(hmac_secret_, message, signature);
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr || EVP_MD_CTX_copy_ex(ctx.get(), verify_template_.get()) != 1) return false;
  return EVP_DigestVerify(ctx.get(), Bytes(signature), signature.size(), Bytes(message),
                          message.size()) == 1;
}

}  // namespace tokend::bench
