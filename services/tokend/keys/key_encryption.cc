#include "services/tokend/keys/key_encryption.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <memory>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "jwt/algorithm.h"
#include "util/status_macros.h"

namespace tokend::keys {
namespace {

constexpr unsigned char kEnvelopeVersion = 0x01;
constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;
constexpr char kKekIdLabel[] = "tokend kek id v1";
constexpr char kAadLabel[] = "tokend signing key v1";

template <auto FreeFn>
struct OpenSslDeleter {
  template <typename T>
  void operator()(T* p) const {
    FreeFn(p);
  }
};
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, OpenSslDeleter<EVP_CIPHER_CTX_free>>;
using KdfPtr = std::unique_ptr<EVP_KDF, OpenSslDeleter<EVP_KDF_free>>;
using KdfCtxPtr = std::unique_ptr<EVP_KDF_CTX, OpenSslDeleter<EVP_KDF_CTX_free>>;

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}
unsigned char* MutableBytes(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }

// A std::string that is wiped when it goes out of scope (plaintext scratch space).
class WipedString {
 public:
  explicit WipedString(size_t size) : bytes_(size, '\0') {}
  ~WipedString() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }
  WipedString(const WipedString&) = delete;
  WipedString& operator=(const WipedString&) = delete;
  std::string& get() { return bytes_; }

 private:
  std::string bytes_;
};

std::string SigningKeyAad(std::string_view kid, std::string_view algorithm) {
  std::string aad(kAadLabel);
  aad.push_back('\0');
  aad.append(kid);
  aad.push_back('\0');
  aad.append(algorithm);
  return aad;
}

absl::Status CryptoError(absl::string_view what) {
  ERR_clear_error();
  return absl::InternalError(absl::StrCat("key encryption: ", what, " failed"));
}

}  // namespace

absl::StatusOr<Kek> Kek::FromBytes(const jwt::SecretData& bytes) {
  if (bytes.size() != kKeyBytes) {
    return absl::InvalidArgumentError(absl::StrCat("key-encryption key must be exactly ", kKeyBytes,
                                                   " bytes, got ", bytes.size()));
  }
  std::string input(kKekIdLabel);
  input.push_back('\0');
  input.append(bytes.ExposeSecret());
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  const int ok = EVP_Digest(input.data(), input.size(), digest, &digest_len, EVP_sha256(), nullptr);
  OPENSSL_cleanse(input.data(), input.size());
  if (ok != 1 || digest_len < 8) return CryptoError("SHA-256");
  std::string id =
      absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), 8));
  return Kek(std::make_shared<const jwt::SecretData>(bytes), std::move(id));
}

absl::StatusOr<std::string> Kek::Seal(std::string_view plaintext, std::string_view aad) const {
  std::string envelope(1 + kNonceBytes + plaintext.size() + kTagBytes, '\0');
  envelope[0] = static_cast<char>(kEnvelopeVersion);
  unsigned char* nonce = MutableBytes(envelope) + 1;
  if (RAND_bytes(nonce, kNonceBytes) != 1) return CryptoError("RAND_bytes");
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  unsigned char* out = nonce + kNonceBytes;
  if (ctx == nullptr ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, Bytes(key_->ExposeSecret()),
                         nonce) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, Bytes(aad), static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), out, &len, Bytes(plaintext),
                        static_cast<int>(plaintext.size())) != 1 ||
      static_cast<size_t>(len) != plaintext.size() ||
      EVP_EncryptFinal_ex(ctx.get(), out + len, &len) != 1 || len != 0 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, out + plaintext.size()) !=
          1) {
    return CryptoError("AES-256-GCM seal");
  }
  return envelope;
}

absl::StatusOr<jwt::SecretData> Kek::Open(std::string_view envelope, std::string_view aad) const {
  if (envelope.size() < 1 + kNonceBytes + kTagBytes ||
      static_cast<unsigned char>(envelope[0]) != kEnvelopeVersion) {
    return absl::DataLossError("key envelope is malformed or of an unknown version");
  }
  const unsigned char* nonce = Bytes(envelope) + 1;
  const unsigned char* ciphertext = nonce + kNonceBytes;
  const size_t ciphertext_len = envelope.size() - 1 - kNonceBytes - kTagBytes;
  std::string tag(envelope.substr(envelope.size() - kTagBytes));
  WipedString plaintext(ciphertext_len);
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (ctx == nullptr ||
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, Bytes(key_->ExposeSecret()),
                         nonce) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, Bytes(aad), static_cast<int>(aad.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), MutableBytes(plaintext.get()), &len, ciphertext,
                        static_cast<int>(ciphertext_len)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) != 1) {
    return CryptoError("AES-256-GCM open");
  }
  int final_len = 0;
  // Why nothing is returned before this check: unauthenticated plaintext must never be used.
  if (EVP_DecryptFinal_ex(ctx.get(), MutableBytes(plaintext.get()) + len, &final_len) != 1) {
    ERR_clear_error();
    return absl::DataLossError("key envelope does not authenticate");
  }
  return jwt::SecretData(plaintext.get());
}

absl::StatusOr<jwt::SecretData> Kek::DeriveSecret(std::string_view label, size_t length) const {
  KdfPtr kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  if (kdf == nullptr) return CryptoError("HKDF fetch");
  KdfCtxPtr ctx(EVP_KDF_CTX_new(kdf.get()));
  if (ctx == nullptr) return CryptoError("HKDF context");
  std::string digest = "SHA256";
  std::string key(key_->ExposeSecret());
  std::string info(label);
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest.data(), 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, key.data(), key.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info.data(), info.size()),
      OSSL_PARAM_construct_end()};
  WipedString out(length);
  const int ok = EVP_KDF_derive(ctx.get(), MutableBytes(out.get()), length, params);
  OPENSSL_cleanse(key.data(), key.size());
  if (ok != 1) return CryptoError("HKDF derive");
  return jwt::SecretData(out.get());
}

const Kek* KekRing::Find(std::string_view kek_id) const {
  if (primary_.id() == kek_id) return &primary_;
  for (const Kek& kek : previous_) {
    if (kek.id() == kek_id) return &kek;
  }
  return nullptr;
}

std::string KekRing::Describe() const {
  std::string out = primary_.id();
  for (const Kek& kek : previous_) absl::StrAppend(&out, ", ", kek.id(), " (previous)");
  return out;
}

absl::StatusOr<std::string> SealSigningKey(const Kek& kek, const jwt::SigningKey& key) {
  const jwt::SecretData der = key.ExportPrivatePkcs8Der();
  // The export is empty when OpenSSL fails: sealing that would store a key that can never sign.
  if (der.empty()) return absl::InternalError("cannot export the signing key to seal it");
  return kek.Seal(der.ExposeSecret(),
                  SigningKeyAad(key.kid(), jwt::AlgorithmName(key.algorithm())));
}

absl::StatusOr<jwt::SigningKey> OpenSigningKey(const KekRing& keks,
                                               const storage::SigningKeyRecord& record) {
  const Kek* kek = keks.Find(record.kek_id);
  if (kek == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "signing key ", record.kid, " is encrypted under KEK ", record.kek_id,
        ", but the configured KEK is ", keks.Describe(),
        ": wrong --kek_file / TOKEND_KEK (or a KEK rotation not finished: pass the old KEK as "
        "--previous_kek_file)"));
  }
  const std::optional<jwt::Algorithm> algorithm = jwt::AlgorithmFromName(record.algorithm);
  if (!algorithm.has_value()) {
    return absl::FailedPreconditionError(
        absl::StrCat("signing key ", record.kid, " has an unknown algorithm"));
  }
  absl::StatusOr<jwt::SecretData> der =
      kek->Open(record.encrypted_private_key, SigningKeyAad(record.kid, record.algorithm));
  if (!der.ok()) {
    return absl::DataLossError(absl::StrCat(
        "signing key ", record.kid, " does not decrypt under KEK ", kek->id(),
        " (the stored envelope was altered or belongs to another key): ", der.status().message()));
  }
  absl::StatusOr<jwt::SigningKey> key =
      jwt::SigningKey::FromPrivatePkcs8Der(*algorithm, *der, record.kid);
  if (!key.ok()) {
    return absl::DataLossError(
        absl::StrCat("signing key ", record.kid, ": decrypted key is not a valid private key"));
  }
  // Why: the JWKS is built from the stored public JWK; a key that signs must be the one verifiers
  // were told about.
  absl::StatusOr<jwt::VerificationKey> published =
      jwt::VerificationKey::FromJwk(record.public_jwk_json);
  if (!published.ok() || published->kid() != record.kid ||
      published->Thumbprint() != key->verification_key().Thumbprint()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "signing key ", record.kid, ": private key does not match its stored public JWK"));
  }
  return key;
}

absl::StatusOr<storage::SigningKeyRecord> SealNewKeyRecord(const Kek& kek,
                                                           const jwt::SigningKey& key,
                                                           storage::KeyState state, absl::Time now,
                                                           std::string_view origin) {
  if (key.algorithm() == jwt::Algorithm::kHS256) {
    return absl::InvalidArgumentError(
        "HS256 keys cannot be managed: an HMAC secret is never published in the JWKS, so "
        "verifiers could not follow a rotation");
  }
  storage::SigningKeyRecord record;
  record.kid = key.kid();
  record.algorithm = std::string(jwt::AlgorithmName(key.algorithm()));
  record.state = state;
  TOKEND_ASSIGN_OR_RETURN(record.encrypted_private_key, SealSigningKey(kek, key));
  TOKEND_ASSIGN_OR_RETURN(record.public_jwk_json, key.verification_key().PublicJwkJson());
  record.kek_id = kek.id();
  record.origin = std::string(origin);
  record.created_at = now;
  record.activates_at = now;
  return record;
}

}  // namespace tokend::keys
