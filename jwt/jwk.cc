#include "jwt/internal/jwk.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "jwt/base64url.h"
#include "jwt/internal/strict_json.h"
#include "util/status_macros.h"

namespace tokend::jwt::internal {
namespace {

constexpr size_t kP256FieldBytes = 32;
constexpr size_t kEd25519KeyBytes = 32;
// A JWK of an 8192-bit RSA private key is about 6 KiB; anything far larger is not a key.
constexpr JsonLimits kJwkLimits = {.max_bytes = 65536, .max_depth = 4};

absl::Status Invalid(std::string_view phrase) {
  return absl::InvalidArgumentError(std::string("jwk: ").append(phrase));
}

// The string member `name`, or nullptr when absent; an error when present but not a string.
absl::StatusOr<const rapidjson::Value*> OptionalString(const rapidjson::Value& jwk,
                                                       std::string_view name) {
  const rapidjson::Value* value = FindMember(jwk, name);
  if (value == nullptr) return nullptr;
  if (!value->IsString()) return Invalid("member is not a string");
  return value;
}

absl::StatusOr<std::string_view> RequiredString(const rapidjson::Value& jwk,
                                                std::string_view name) {
  TOKEND_ASSIGN_OR_RETURN(const rapidjson::Value* value, OptionalString(jwk, name));
  if (value == nullptr) return Invalid("required member missing");
  return StringOf(*value);
}

// A base64url member decoded into wiping storage, since it may be private.
absl::StatusOr<SecretData> RequiredBytes(const rapidjson::Value& jwk, std::string_view name) {
  TOKEND_ASSIGN_OR_RETURN(std::string_view encoded, RequiredString(jwk, name));
  absl::StatusOr<std::string> decoded = Base64UrlDecode(encoded);
  if (!decoded.ok()) return Invalid("member is not strict base64url");
  SecretData bytes(*decoded);
  OPENSSL_cleanse(decoded->data(), decoded->size());
  return bytes;
}

absl::StatusOr<SecretData> RequiredBytesOfSize(const rapidjson::Value& jwk, std::string_view name,
                                               size_t size) {
  TOKEND_ASSIGN_OR_RETURN(SecretData bytes, RequiredBytes(jwk, name));
  if (bytes.size() != size) return Invalid("member has the wrong length");
  return bytes;
}

const unsigned char* Bytes(const SecretData& data) {
  return reinterpret_cast<const unsigned char*>(data.ExposeSecret().data());
}

// Pushes a big-endian unsigned integer. Private values go into BN_secure_new numbers so that
// OSSL_PARAM_free clears them (they land in the builder's secure block).
absl::Status PushBn(OSSL_PARAM_BLD* bld, const char* key, const SecretData& big_endian, bool secret,
                    std::vector<SecureBignumPtr>& keep) {
  if (big_endian.empty()) return Invalid("empty integer");
  SecureBignumPtr bn(secret ? BN_secure_new() : BN_new());
  if (bn == nullptr ||
      BN_bin2bn(Bytes(big_endian), static_cast<int>(big_endian.size()), bn.get()) == nullptr ||
      OSSL_PARAM_BLD_push_BN(bld, key, bn.get()) != 1) {
    ClearOpenSslErrors();
    return absl::InternalError("jwk: cannot build key parameters");
  }
  keep.push_back(std::move(bn));  // the builder refers to the BIGNUM until to_param
  return absl::OkStatus();
}

absl::StatusOr<EvpPkeyPtr> FromData(const char* type, OSSL_PARAM* params, JwkPart part) {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (ctx == nullptr || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw,
                        part == JwkPart::kPrivate ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
                        params) != 1) {
    ClearOpenSslErrors();
    return Invalid("key parameters rejected");
  }
  return EvpPkeyPtr(raw);
}

absl::StatusOr<EvpPkeyPtr> ParseOkp(const rapidjson::Value& jwk, JwkPart part) {
  TOKEND_ASSIGN_OR_RETURN(std::string_view crv, RequiredString(jwk, "crv"));
  if (crv != "Ed25519") return Invalid("unsupported OKP curve");
  TOKEND_ASSIGN_OR_RETURN(SecretData x, RequiredBytesOfSize(jwk, "x", kEd25519KeyBytes));
  SecretData d;
  OSSL_PARAM params[3];
  size_t n = 0;
  params[n++] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
                                                  const_cast<unsigned char*>(Bytes(x)), x.size());
  if (part == JwkPart::kPrivate) {
    TOKEND_ASSIGN_OR_RETURN(d, RequiredBytesOfSize(jwk, "d", kEd25519KeyBytes));
    // Points into `d`, which wipes itself; nothing private is copied into a builder.
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PRIV_KEY,
                                                    const_cast<unsigned char*>(Bytes(d)), d.size());
  }
  params[n] = OSSL_PARAM_construct_end();
  return FromData("ED25519", params, part);
}

absl::StatusOr<EvpPkeyPtr> ParseEc(const rapidjson::Value& jwk, JwkPart part) {
  TOKEND_ASSIGN_OR_RETURN(std::string_view crv, RequiredString(jwk, "crv"));
  if (crv != "P-256") return Invalid("unsupported EC curve");
  // RFC 7518 §6.2.1.2: coordinates are the full field length, never shortened.
  TOKEND_ASSIGN_OR_RETURN(SecretData x, RequiredBytesOfSize(jwk, "x", kP256FieldBytes));
  TOKEND_ASSIGN_OR_RETURN(SecretData y, RequiredBytesOfSize(jwk, "y", kP256FieldBytes));
  unsigned char point[1 + 2 * kP256FieldBytes];
  point[0] = 0x04;  // uncompressed; OpenSSL checks that the point is on the curve
  std::memcpy(point + 1, Bytes(x), kP256FieldBytes);
  std::memcpy(point + 1 + kP256FieldBytes, Bytes(y), kP256FieldBytes);

  OsslParamBldPtr bld(OSSL_PARAM_BLD_new());
  std::vector<SecureBignumPtr> keep;
  if (bld == nullptr ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) !=
          1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point) !=
          1) {
    ClearOpenSslErrors();
    return absl::InternalError("jwk: cannot build key parameters");
  }
  if (part == JwkPart::kPrivate) {
    TOKEND_ASSIGN_OR_RETURN(SecretData d, RequiredBytesOfSize(jwk, "d", kP256FieldBytes));
    TOKEND_RETURN_IF_ERROR(PushBn(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, d, /*secret=*/true, keep));
  }
  OsslParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  if (params == nullptr) {
    ClearOpenSslErrors();
    return absl::InternalError("jwk: cannot build key parameters");
  }
  TOKEND_ASSIGN_OR_RETURN(EvpPkeyPtr pkey, FromData("EC", params.get(), part));
  // Rejects the point at infinity and points outside the prime-order group.
  EvpPkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (check == nullptr || EVP_PKEY_public_check(check.get()) != 1) {
    ClearOpenSslErrors();
    return Invalid("invalid EC public key");
  }
  return pkey;
}

absl::StatusOr<EvpPkeyPtr> ParseRsa(const rapidjson::Value& jwk, JwkPart part) {
  TOKEND_ASSIGN_OR_RETURN(SecretData n, RequiredBytes(jwk, "n"));
  TOKEND_ASSIGN_OR_RETURN(SecretData e, RequiredBytes(jwk, "e"));
  OsslParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (bld == nullptr) return absl::InternalError("jwk: cannot build key parameters");
  std::vector<SecureBignumPtr> keep;
  TOKEND_RETURN_IF_ERROR(PushBn(bld.get(), OSSL_PKEY_PARAM_RSA_N, n, false, keep));
  TOKEND_RETURN_IF_ERROR(PushBn(bld.get(), OSSL_PKEY_PARAM_RSA_E, e, false, keep));
  if (part == JwkPart::kPrivate) {
    // Multi-prime keys are not supported; a key without CRT members would be slow and is
    // unusual enough to be a mistake.
    if (FindMember(jwk, "oth") != nullptr) return Invalid("multi-prime RSA keys not supported");
    struct Member {
      const char* jwk_name;
      const char* param;
    };
    constexpr Member kPrivateMembers[] = {
        {"d", OSSL_PKEY_PARAM_RSA_D},          {"p", OSSL_PKEY_PARAM_RSA_FACTOR1},
        {"q", OSSL_PKEY_PARAM_RSA_FACTOR2},    {"dp", OSSL_PKEY_PARAM_RSA_EXPONENT1},
        {"dq", OSSL_PKEY_PARAM_RSA_EXPONENT2}, {"qi", OSSL_PKEY_PARAM_RSA_COEFFICIENT1},
    };
    for (const Member& member : kPrivateMembers) {
      TOKEND_ASSIGN_OR_RETURN(SecretData value, RequiredBytes(jwk, member.jwk_name));
      TOKEND_RETURN_IF_ERROR(PushBn(bld.get(), member.param, value, /*secret=*/true, keep));
    }
  }
  OsslParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  if (params == nullptr) {
    ClearOpenSslErrors();
    return absl::InternalError("jwk: cannot build key parameters");
  }
  return FromData("RSA", params.get(), part);
}

// RFC 7517 §4.2/4.3: a key meant for encryption, or whose operations exclude ours, is refused.
absl::Status CheckUse(const rapidjson::Value& jwk, JwkPart part) {
  TOKEND_ASSIGN_OR_RETURN(const rapidjson::Value* use, OptionalString(jwk, "use"));
  if (use != nullptr && StringOf(*use) != "sig") return Invalid(R"("use" is not "sig")");
  const rapidjson::Value* ops = FindMember(jwk, "key_ops");
  if (ops == nullptr) return absl::OkStatus();
  if (!ops->IsArray()) return Invalid("\"key_ops\" is not an array");
  const std::string_view wanted = part == JwkPart::kPrivate ? "sign" : "verify";
  bool found = false;
  for (const rapidjson::Value& op : ops->GetArray()) {
    if (!op.IsString()) return Invalid("\"key_ops\" member is not a string");
    found |= StringOf(op) == wanted;
  }
  if (!found) return Invalid("\"key_ops\" does not allow this use");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ParsedJwk> ParseJwk(std::string_view jwk_json, JwkPart part) {
  StrictJsonDocument document;
  if (!document.Parse(jwk_json, kJwkLimits).ok() || !document.root().IsObject()) {
    return Invalid("not a strict JSON object");
  }
  const rapidjson::Value& jwk = document.root();
  TOKEND_ASSIGN_OR_RETURN(std::string_view kty, RequiredString(jwk, "kty"));
  TOKEND_RETURN_IF_ERROR(CheckUse(jwk, part));

  ParsedJwk parsed;
  if (kty == "OKP") {
    parsed.algorithm = Algorithm::kEdDSA;
    TOKEND_ASSIGN_OR_RETURN(parsed.pkey, ParseOkp(jwk, part));
  } else if (kty == "EC") {
    parsed.algorithm = Algorithm::kES256;
    TOKEND_ASSIGN_OR_RETURN(parsed.pkey, ParseEc(jwk, part));
  } else if (kty == "RSA") {
    parsed.algorithm = Algorithm::kRS256;
    TOKEND_ASSIGN_OR_RETURN(parsed.pkey, ParseRsa(jwk, part));
  } else if (kty == "oct" && part == JwkPart::kPrivate) {
    parsed.algorithm = Algorithm::kHS256;
    TOKEND_ASSIGN_OR_RETURN(parsed.secret, RequiredBytes(jwk, "k"));
  } else {
    // "oct" as a public key would turn a published document into a MAC secret.
    return Invalid("unsupported key type");
  }

  // The key type decides the algorithm; "alg" may only agree with it (RFC 7517 §4.4).
  TOKEND_ASSIGN_OR_RETURN(const rapidjson::Value* alg, OptionalString(jwk, "alg"));
  if (alg != nullptr && StringOf(*alg) != AlgorithmName(parsed.algorithm)) {
    return Invalid("\"alg\" does not match the key type");
  }
  TOKEND_ASSIGN_OR_RETURN(const rapidjson::Value* kid, OptionalString(jwk, "kid"));
  if (kid != nullptr) {
    if (kid->GetStringLength() == 0) return Invalid("empty \"kid\"");
    parsed.kid = std::string(StringOf(*kid));
  }
  return parsed;
}

}  // namespace tokend::jwt::internal
