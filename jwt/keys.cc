#include "jwt/keys.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/encoder.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "jwt/base64url.h"
#include "jwt/internal/ecdsa_signature.h"
#include "jwt/internal/jwk.h"
#include "jwt/internal/openssl_util.h"
#include "jwt/internal/strict_json.h"
#include "util/status_macros.h"

namespace tokend::jwt {

using internal::ClearOpenSslErrors;
using internal::EvpMdCtxPtr;
using internal::EvpPkeyCtxPtr;
using internal::EvpPkeyPtr;

namespace {

constexpr int kMinRsaBits = 2048;
// Bounds the cost of one verification with a configured key.
constexpr int kMaxRsaBits = 8192;
constexpr size_t kMinHmacSecretBytes = 32;
constexpr size_t kHmacSha256Bytes = 32;
constexpr size_t kEd25519SignatureBytes = 64;
constexpr size_t kEs256SignatureBytes = 64;

absl::Status Invalid(std::string_view phrase) {
  return absl::InvalidArgumentError(std::string("key: ").append(phrase));
}

}  // namespace

// The key behind VerificationKey and SigningKey: one EVP_PKEY (asymmetric) or one HMAC secret,
// bound to one algorithm, with its public JWK members computed once. Immutable after
// construction, so shared between threads without locking (EVP_PKEY is safe for concurrent
// sign/verify in OpenSSL 3).
class KeyMaterial {
 public:
  struct Member {
    std::string_view name;
    std::string value;  // base64url or a fixed name; never needs JSON escaping
  };

  Algorithm algorithm = Algorithm::kEdDSA;
  EvpPkeyPtr pkey;    // null for HS256
  SecretData secret;  // HS256 only
  bool has_private = false;
  size_t signature_size = 0;  // exact size of a valid signature
  std::string_view kty;
  std::vector<Member> public_members;  // in JWK export order, without kty

  bool Verify(std::string_view input, std::string_view signature) const;
  absl::StatusOr<std::string> Sign(std::string_view input) const;
  absl::StatusOr<std::string> Thumbprint() const;
};

namespace {

const EVP_MD* DigestFor(Algorithm alg) {
  // Ed25519 hashes internally (PureEdDSA): the digest must be null.
  return alg == Algorithm::kEdDSA ? nullptr : EVP_sha256();
}

bool HmacSha256(const SecretData& key, std::string_view input, unsigned char* out) {
  unsigned int len = 0;
  const std::string_view k = key.ExposeSecret();
  if (HMAC(EVP_sha256(), k.data(), static_cast<int>(k.size()),
           reinterpret_cast<const unsigned char*>(input.data()), input.size(), out,
           &len) == nullptr ||
      len != kHmacSha256Bytes) {
    ClearOpenSslErrors();
    return false;
  }
  return true;
}

// INTERNAL when OpenSSL fails: an empty digest would make an empty kid.
absl::StatusOr<std::string> Sha256(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1 || len != 32) {
    ClearOpenSslErrors();
    return absl::InternalError("SHA-256 failed");
  }
  return std::string(reinterpret_cast<const char*>(md), len);
}

}  // namespace

bool KeyMaterial::Verify(std::string_view input, std::string_view signature) const {
  if (signature.size() != signature_size) return false;
  if (algorithm == Algorithm::kHS256) {
    unsigned char mac[kHmacSha256Bytes];
    if (!HmacSha256(secret, input, mac)) return false;
    // Constant time: a timing leak would let a caller forge a tag byte by byte.
    const bool equal = ConstantTimeEquals(
        std::string_view(reinterpret_cast<const char*>(mac), sizeof mac), signature);
    OPENSSL_cleanse(mac, sizeof mac);
    return equal;
  }
  internal::P256DerSignature der;
  if (algorithm == Algorithm::kES256) {
    // JWS carries raw r||s; range checks happen before OpenSSL sees the value.
    if (!internal::P256RawSignatureToDer(signature, der)) return false;
    signature = der.view();
  }
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  const bool ok =
      ctx != nullptr &&
      EVP_DigestVerifyInit(ctx.get(), nullptr, DigestFor(algorithm), nullptr, pkey.get()) == 1 &&
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                       signature.size(), reinterpret_cast<const unsigned char*>(input.data()),
                       input.size()) == 1;
  if (!ok) ClearOpenSslErrors();
  return ok;
}

absl::StatusOr<std::string> KeyMaterial::Sign(std::string_view input) const {
  if (algorithm == Algorithm::kHS256) {
    std::string tag(kHmacSha256Bytes, '\0');
    if (!HmacSha256(secret, input, reinterpret_cast<unsigned char*>(tag.data()))) {
      return absl::InternalError("sign: HMAC failed");
    }
    return tag;
  }
  if (!has_private) return absl::FailedPreconditionError("sign: not a private key");
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr ||
      EVP_DigestSignInit(ctx.get(), nullptr, DigestFor(algorithm), nullptr, pkey.get()) != 1) {
    ClearOpenSslErrors();
    return absl::InternalError("sign: cannot initialize");
  }
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  if (algorithm == Algorithm::kES256) {
    unsigned char der[internal::kP256MaxDerSignatureBytes];
    size_t der_len = sizeof der;
    std::string raw(internal::kP256RawSignatureBytes, '\0');
    if (EVP_DigestSign(ctx.get(), der, &der_len, data, input.size()) != 1) {
      ClearOpenSslErrors();
      return absl::InternalError("sign: signing failed");
    }
    if (!internal::P256DerSignatureToRaw(
            std::string_view(reinterpret_cast<const char*>(der), der_len),
            reinterpret_cast<uint8_t*>(raw.data()))) {
      return absl::InternalError("sign: bad ECDSA signature encoding");
    }
    return raw;
  }
  // signature_size (EVP_PKEY_get_size, read once at load) is the exact size for Ed25519 and RSA;
  // EVP_DigestSign still checks that the buffer is large enough.
  size_t len = signature_size;
  std::string signature(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &len, data,
                     input.size()) != 1) {
    ClearOpenSslErrors();
    return absl::InternalError("sign: signing failed");
  }
  signature.resize(len);
  return signature;
}

absl::StatusOr<std::string> KeyMaterial::Thumbprint() const {
  // RFC 7638 §3: the required members only, in lexicographic order, no whitespace. Values are
  // base64url or fixed names, so no escaping is needed.
  std::vector<std::pair<std::string_view, std::string_view>> members;
  members.emplace_back("kty", kty);
  for (const Member& m : public_members) members.emplace_back(m.name, m.value);
  std::sort(members.begin(), members.end());
  std::string json = "{";
  for (size_t i = 0; i < members.size(); ++i) {
    if (i > 0) json.push_back(',');
    json.append("\"").append(members[i].first).append("\":\"").append(members[i].second);
    json.push_back('"');
  }
  json.push_back('}');
  TOKEND_ASSIGN_OR_RETURN(const std::string digest, Sha256(json));
  return Base64UrlEncode(digest);
}

namespace {

// Reads a big-endian unsigned integer parameter of `pkey`; minimal (RSA) or left-padded to
// `pad` bytes (EC coordinates).
absl::StatusOr<std::string> BnParam(const EVP_PKEY* pkey, const char* name, int pad) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &raw) != 1 || raw == nullptr) {
    ClearOpenSslErrors();
    return Invalid("cannot read public key parameter");
  }
  internal::BignumPtr bn(raw);
  int size = pad > 0 ? pad : BN_num_bytes(bn.get());
  if (size == 0) size = 1;  // RFC 7518 §2: zero is one zero octet
  std::string out(static_cast<size_t>(size), '\0');
  if (BN_bn2binpad(bn.get(), reinterpret_cast<unsigned char*>(out.data()), size) != size) {
    ClearOpenSslErrors();
    return Invalid("public key parameter out of range");
  }
  return out;
}

// Checks the key's type and size, and fills the algorithm, JWK members and signature size.
absl::Status Describe(KeyMaterial& m) {
  EVP_PKEY* pkey = m.pkey.get();
  if (EVP_PKEY_is_a(pkey, "ED25519") != 0) {
    m.algorithm = Algorithm::kEdDSA;
    m.kty = "OKP";
    m.signature_size = kEd25519SignatureBytes;
    unsigned char pub[32];
    size_t len = sizeof pub;
    if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof pub, &len) !=
            1 ||
        len != sizeof pub) {
      ClearOpenSslErrors();
      return Invalid("cannot read Ed25519 public key");
    }
    m.public_members.push_back({"crv", "Ed25519"});
    m.public_members.push_back(
        {"x", Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(pub), len))});
    return absl::OkStatus();
  }
  if (EVP_PKEY_is_a(pkey, "EC") != 0) {
    char group[64];
    size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                       &len) != 1 ||
        std::string_view(group, len) != "prime256v1") {
      ClearOpenSslErrors();
      return Invalid("only the P-256 curve is supported");  // ES256 is P-256 (RFC 7518 §3.4)
    }
    m.algorithm = Algorithm::kES256;
    m.kty = "EC";
    m.signature_size = kEs256SignatureBytes;
    TOKEND_ASSIGN_OR_RETURN(std::string x, BnParam(pkey, OSSL_PKEY_PARAM_EC_PUB_X, 32));
    TOKEND_ASSIGN_OR_RETURN(std::string y, BnParam(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, 32));
    m.public_members.push_back({"crv", "P-256"});
    m.public_members.push_back({"x", Base64UrlEncode(x)});
    m.public_members.push_back({"y", Base64UrlEncode(y)});
    return absl::OkStatus();
  }
  // EVP_PKEY_is_a(pkey, "RSA") is false for RSA-PSS keys, which are refused.
  if (EVP_PKEY_is_a(pkey, "RSA") != 0) {
    const int bits = EVP_PKEY_get_bits(pkey);
    // Keys under 2048 bits are factorable in practice (NIST SP 800-131A).
    if (bits < kMinRsaBits) return Invalid("RSA modulus shorter than 2048 bits");
    if (bits > kMaxRsaBits) return Invalid("RSA modulus longer than 8192 bits");
    TOKEND_ASSIGN_OR_RETURN(std::string n, BnParam(pkey, OSSL_PKEY_PARAM_RSA_N, 0));
    TOKEND_ASSIGN_OR_RETURN(std::string e, BnParam(pkey, OSSL_PKEY_PARAM_RSA_E, 0));
    // An even or unit exponent is not an RSA key (e = 1 makes every "signature" trivial).
    const auto last = static_cast<unsigned char>(e.back());
    if ((last & 1) == 0 || (e.size() == 1 && last == 1)) return Invalid("invalid RSA exponent");
    m.algorithm = Algorithm::kRS256;
    m.kty = "RSA";
    m.signature_size = static_cast<size_t>(EVP_PKEY_get_size(pkey));
    m.public_members.push_back({"n", Base64UrlEncode(n)});
    m.public_members.push_back({"e", Base64UrlEncode(e)});
    return absl::OkStatus();
  }
  return Invalid("unsupported key type");
}

// A private key must match its public half (a corrupted or spliced key would sign garbage).
absl::Status CheckKeyPair(EVP_PKEY* pkey) {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  if (ctx == nullptr || EVP_PKEY_pairwise_check(ctx.get()) != 1) {
    ClearOpenSslErrors();
    return Invalid("private key does not match its public key");
  }
  return absl::OkStatus();
}

// A public-only copy, so that verification keys never hold private material.
absl::StatusOr<EvpPkeyPtr> PublicCopy(EVP_PKEY* pkey) {
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(pkey, &der);
  if (len <= 0) {
    ClearOpenSslErrors();
    return absl::InternalError("key: cannot encode public key");
  }
  const unsigned char* p = der;
  EvpPkeyPtr copy(d2i_PUBKEY(nullptr, &p, len));
  OPENSSL_free(der);
  if (copy == nullptr) {
    ClearOpenSslErrors();
    return absl::InternalError("key: cannot decode public key");
  }
  return copy;
}

struct Parts {
  std::shared_ptr<const KeyMaterial> public_material;
  std::shared_ptr<const KeyMaterial> private_material;  // null for public keys
  Algorithm algorithm;
  std::string kid;
  std::string thumbprint;
};

absl::StatusOr<Parts> PartsFromPkey(EvpPkeyPtr pkey, bool is_private, std::string_view kid) {
  auto pub = std::make_shared<KeyMaterial>();
  if (is_private) {
    TOKEND_RETURN_IF_ERROR(CheckKeyPair(pkey.get()));
    TOKEND_ASSIGN_OR_RETURN(pub->pkey, PublicCopy(pkey.get()));
  } else {
    pub->pkey = std::move(pkey);
  }
  TOKEND_RETURN_IF_ERROR(Describe(*pub));
  Parts parts;
  parts.algorithm = pub->algorithm;
  TOKEND_ASSIGN_OR_RETURN(parts.thumbprint, pub->Thumbprint());
  parts.kid = kid.empty() ? parts.thumbprint : std::string(kid);
  if (is_private) {
    auto priv = std::make_shared<KeyMaterial>();
    priv->algorithm = pub->algorithm;
    priv->pkey = std::move(pkey);
    priv->has_private = true;
    priv->signature_size = pub->signature_size;
    priv->kty = pub->kty;
    priv->public_members = pub->public_members;
    parts.private_material = std::move(priv);
  }
  parts.public_material = std::move(pub);
  return parts;
}

absl::StatusOr<Parts> PartsFromSecret(SecretData secret, std::string_view kid) {
  // RFC 7518 §3.2: an HS256 key must be at least as long as the hash output.
  if (secret.size() < kMinHmacSecretBytes) return Invalid("HMAC secret shorter than 32 bytes");
  auto material = std::make_shared<KeyMaterial>();
  material->algorithm = Algorithm::kHS256;
  material->kty = "oct";
  material->signature_size = kHmacSha256Bytes;
  material->has_private = true;
  material->public_members.push_back({"k", Base64UrlEncode(secret.ExposeSecret())});
  material->secret = std::move(secret);
  Parts parts;
  parts.algorithm = Algorithm::kHS256;
  absl::StatusOr<std::string> thumbprint = material->Thumbprint();
  if (!thumbprint.ok()) {
    OPENSSL_cleanse(material->public_members[0].value.data(),
                    material->public_members[0].value.size());
    return thumbprint.status();
  }
  parts.thumbprint = *std::move(thumbprint);
  // The "k" member was only needed for the thumbprint; keep no second copy of the secret.
  OPENSSL_cleanse(material->public_members[0].value.data(),
                  material->public_members[0].value.size());
  material->public_members.clear();
  parts.kid = kid.empty() ? parts.thumbprint : std::string(kid);
  parts.public_material = material;
  parts.private_material = std::move(material);
  return parts;
}

// Never prompts on a terminal for an encrypted PEM: encrypted keys are simply refused.
int NoPassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*userdata*/) { return 0; }

struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

BioPtr MemBio(std::string_view data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

}  // namespace

// ---- VerificationKey ----

VerificationKey::VerificationKey(std::shared_ptr<const KeyMaterial> material, Algorithm algorithm,
                                 std::string kid, std::string thumbprint)
    : material_(std::move(material)),
      algorithm_(algorithm),
      kid_(std::move(kid)),
      thumbprint_(std::move(thumbprint)) {}

absl::StatusOr<VerificationKey> VerificationKey::FromPublicPem(std::string_view pem) {
  if (pem.size() > 65536) return Invalid("PEM too large");
  BioPtr bio = MemBio(pem);
  EvpPkeyPtr pkey(bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, NoPassphrase, nullptr) : nullptr);
  if (pkey == nullptr) {
    ClearOpenSslErrors();
    return Invalid("not a SubjectPublicKeyInfo PEM");
  }
  TOKEND_ASSIGN_OR_RETURN(Parts parts, PartsFromPkey(std::move(pkey), /*is_private=*/false, ""));
  return VerificationKey(std::move(parts.public_material), parts.algorithm, std::move(parts.kid),
                         std::move(parts.thumbprint));
}

absl::StatusOr<VerificationKey> VerificationKey::FromJwk(std::string_view jwk_json) {
  TOKEND_ASSIGN_OR_RETURN(internal::ParsedJwk jwk,
                          internal::ParseJwk(jwk_json, internal::JwkPart::kPublic));
  TOKEND_ASSIGN_OR_RETURN(Parts parts,
                          PartsFromPkey(std::move(jwk.pkey), /*is_private=*/false, jwk.kid));
  return VerificationKey(std::move(parts.public_material), parts.algorithm, std::move(parts.kid),
                         std::move(parts.thumbprint));
}

bool VerificationKey::VerifySignature(std::string_view signing_input,
                                      std::string_view signature) const {
  return material_ != nullptr && material_->Verify(signing_input, signature);
}

absl::StatusOr<std::string> VerificationKey::PublicJwkJson() const {
  if (material_ == nullptr || algorithm_ == Algorithm::kHS256) {
    return absl::FailedPreconditionError("key: an HMAC secret is never published");
  }
  rapidjson::StringBuffer buffer;
  internal::JsonWriter writer(buffer);
  writer.StartObject();
  writer.Key("kty");
  internal::WriteString(writer, material_->kty);
  // Only the public members computed at load time are written: there is no path from here to
  // private key material.
  for (const KeyMaterial::Member& m : material_->public_members) {
    internal::WriteString(writer, m.name);
    internal::WriteString(writer, m.value);
  }
  writer.Key("kid");
  if (!internal::WriteString(writer, kid_)) return Invalid("kid is not valid UTF-8");
  writer.Key("alg");
  internal::WriteString(writer, AlgorithmName(algorithm_));
  writer.Key("use");
  writer.String("sig");
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

absl::StatusOr<std::string> VerificationKey::PublicPem() const {
  if (material_ == nullptr || algorithm_ == Algorithm::kHS256) {
    return absl::FailedPreconditionError("key: an HMAC secret is never published");
  }
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_PUBKEY(bio.get(), material_->pkey.get()) != 1) {
    ClearOpenSslErrors();
    return absl::InternalError("key: cannot encode public key");
  }
  char* data = nullptr;
  const int64_t len = BIO_get_mem_data(bio.get(), &data);
  if (len <= 0 || data == nullptr) return absl::InternalError("key: cannot encode public key");
  return std::string(data, static_cast<size_t>(len));
}

// ---- SigningKey ----

SigningKey::SigningKey(std::shared_ptr<const KeyMaterial> material, VerificationKey public_key)
    : material_(std::move(material)), public_(std::move(public_key)) {}

absl::StatusOr<SigningKey> SigningKey::Generate(Algorithm algorithm) {
  if (algorithm == Algorithm::kHS256) {
    unsigned char bytes[kMinHmacSecretBytes];
    if (RAND_bytes(bytes, sizeof bytes) != 1) {
      ClearOpenSslErrors();
      return absl::InternalError("key: RNG failure");
    }
    SecretData secret(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
    OPENSSL_cleanse(bytes, sizeof bytes);
    return FromHmacSecret(std::move(secret));
  }
  EVP_PKEY* raw = nullptr;
  switch (algorithm) {
    case Algorithm::kEdDSA:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
      break;
    case Algorithm::kES256:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
      break;
    case Algorithm::kRS256:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(kMinRsaBits));
      break;
    case Algorithm::kHS256:
      break;
  }
  if (raw == nullptr) {
    ClearOpenSslErrors();
    return absl::InternalError("key: key generation failed");
  }
  TOKEND_ASSIGN_OR_RETURN(Parts parts, PartsFromPkey(EvpPkeyPtr(raw), /*is_private=*/true, ""));
  return SigningKey(std::move(parts.private_material),
                    VerificationKey(std::move(parts.public_material), parts.algorithm,
                                    std::move(parts.kid), std::move(parts.thumbprint)));
}

absl::StatusOr<SigningKey> SigningKey::FromPrivatePem(std::string_view pem, std::string_view kid) {
  if (pem.size() > 65536) return Invalid("PEM too large");
  BioPtr bio = MemBio(pem);
  EvpPkeyPtr pkey(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr)
                      : nullptr);
  if (pkey == nullptr) {
    ClearOpenSslErrors();
    return Invalid("not an unencrypted private key PEM");
  }
  TOKEND_ASSIGN_OR_RETURN(Parts parts, PartsFromPkey(std::move(pkey), /*is_private=*/true, kid));
  return SigningKey(std::move(parts.private_material),
                    VerificationKey(std::move(parts.public_material), parts.algorithm,
                                    std::move(parts.kid), std::move(parts.thumbprint)));
}

absl::StatusOr<SigningKey> SigningKey::FromJwk(std::string_view jwk_json) {
  TOKEND_ASSIGN_OR_RETURN(internal::ParsedJwk jwk,
                          internal::ParseJwk(jwk_json, internal::JwkPart::kPrivate));
  if (jwk.algorithm == Algorithm::kHS256) return FromHmacSecret(std::move(jwk.secret), jwk.kid);
  TOKEND_ASSIGN_OR_RETURN(Parts parts,
                          PartsFromPkey(std::move(jwk.pkey), /*is_private=*/true, jwk.kid));
  return SigningKey(std::move(parts.private_material),
                    VerificationKey(std::move(parts.public_material), parts.algorithm,
                                    std::move(parts.kid), std::move(parts.thumbprint)));
}

absl::StatusOr<SigningKey> SigningKey::FromHmacSecret(SecretData secret, std::string_view kid) {
  TOKEND_ASSIGN_OR_RETURN(Parts parts, PartsFromSecret(std::move(secret), kid));
  return SigningKey(std::move(parts.private_material),
                    VerificationKey(std::move(parts.public_material), parts.algorithm,
                                    std::move(parts.kid), std::move(parts.thumbprint)));
}

absl::StatusOr<SigningKey> SigningKey::FromPrivatePkcs8Der(Algorithm algorithm,
                                                           const SecretData& der,
                                                           std::string_view kid) {
  if (algorithm == Algorithm::kHS256) return FromHmacSecret(der, kid);
  EVP_PKEY* raw = nullptr;
  std::unique_ptr<OSSL_DECODER_CTX, internal::OpenSslDeleter<OSSL_DECODER_CTX_free>> ctx(
      OSSL_DECODER_CTX_new_for_pkey(&raw, "DER", "PrivateKeyInfo", nullptr, EVP_PKEY_KEYPAIR,
                                    nullptr, nullptr));
  const std::string_view bytes = der.ExposeSecret();
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t len = bytes.size();
  if (ctx == nullptr || OSSL_DECODER_from_data(ctx.get(), &data, &len) != 1 || raw == nullptr ||
      len != 0) {
    EVP_PKEY_free(raw);
    ClearOpenSslErrors();
    return Invalid("not a PKCS#8 private key");
  }
  TOKEND_ASSIGN_OR_RETURN(Parts parts, PartsFromPkey(EvpPkeyPtr(raw), /*is_private=*/true, kid));
  // The stored algorithm must agree with the key type; a mismatch means corrupted storage.
  if (parts.algorithm != algorithm) return Invalid("key type does not match the algorithm");
  return SigningKey(std::move(parts.private_material),
                    VerificationKey(std::move(parts.public_material), parts.algorithm,
                                    std::move(parts.kid), std::move(parts.thumbprint)));
}

absl::StatusOr<std::string> SigningKey::Sign(std::string_view signing_input) const {
  if (material_ == nullptr) return absl::FailedPreconditionError("sign: empty key");
  return material_->Sign(signing_input);
}

SecretData SigningKey::ExportPrivatePkcs8Der() const {
  if (material_ == nullptr) return {};
  if (material_->algorithm == Algorithm::kHS256) return material_->secret;
  std::unique_ptr<OSSL_ENCODER_CTX, internal::OpenSslDeleter<OSSL_ENCODER_CTX_free>> ctx(
      OSSL_ENCODER_CTX_new_for_pkey(material_->pkey.get(), EVP_PKEY_KEYPAIR, "DER",
                                    "PrivateKeyInfo", nullptr));
  unsigned char* data = nullptr;
  size_t len = 0;
  if (ctx == nullptr || OSSL_ENCODER_to_data(ctx.get(), &data, &len) != 1 || data == nullptr) {
    ClearOpenSslErrors();
    return {};
  }
  SecretData der(std::string_view(reinterpret_cast<const char*>(data), len));
  OPENSSL_clear_free(data, len);
  return der;
}

}  // namespace tokend::jwt
