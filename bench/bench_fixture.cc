#include "bench/bench_fixture.h"

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "jwt/base64url.h"
#include "jwt/secret_data.h"
#include "jwt/signer.h"
#include "openssl/bio.h"
#include "openssl/bn.h"
#include "openssl/crypto.h"
#include "openssl/ecdsa.h"
#include "openssl/evp.h"
#include "openssl/pem.h"
#include "openssl/rand.h"
#include "util/status_macros.h"

namespace tokend::bench {
namespace {

// A typical access token (RFC 9068 shape) of a shop's API: one audience, a few scopes, and one
// custom claim. The verifier demands one of the scopes, as a resource server would.
constexpr char kIssuer[] = "https://auth.shop.example.com";
constexpr char kSubject[] = "user-8c5f2e1a-4b7d-4e0b-9a51-3f2d6c1e7b90";
constexpr char kAudience[] = "https://api.shop.example.com";
constexpr char kJwtId[] = "d4f1c0a2-6e3b-4c5d-8f7a-9b0e1d2c3f4a";
constexpr char kClientId[] = "web-checkout";
constexpr char kRequiredScope[] = "orders:read";
constexpr char kStoreId[] = "store-0042";
constexpr absl::Duration kLifetime = absl::Hours(1);
constexpr absl::Duration kVerifyAfter = absl::Minutes(1);

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

absl::StatusOr<std::string> BioToString(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  if (len <= 0 || data == nullptr) return absl::InternalError("empty PEM");
  return std::string(data, static_cast<size_t>(len));
}

absl::StatusOr<std::string> PrivatePem(EVP_PKEY* pkey) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  // PEM_write_bio_PrivateKey writes PKCS#8 ("BEGIN PRIVATE KEY") for every key type.
  if (bio == nullptr ||
      PEM_write_bio_PrivateKey(bio.get(), pkey, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return absl::InternalError("PEM_write_bio_PrivateKey failed");
  }
  return BioToString(bio.get());
}

absl::StatusOr<std::string> PublicPem(EVP_PKEY* pkey) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_PUBKEY(bio.get(), pkey) != 1) {
    return absl::InternalError("PEM_write_bio_PUBKEY failed");
  }
  return BioToString(bio.get());
}

absl::StatusOr<EvpPkeyPtr> ReadPem(const std::string& pem, bool is_private) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return absl::InternalError("BIO_new_mem_buf failed");
  EVP_PKEY* pkey = is_private ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)
                              : PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  if (pkey == nullptr) return absl::InternalError("cannot read back the PEM");
  return EvpPkeyPtr(pkey);
}

absl::StatusOr<EvpPkeyPtr> GenerateOpenSslKey(jwt::Algorithm algorithm) {
  EVP_PKEY* pkey = nullptr;
  switch (algorithm) {
    case jwt::Algorithm::kEdDSA:
      pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
      break;
    case jwt::Algorithm::kES256:
      pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
      break;
    case jwt::Algorithm::kRS256:
      pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
      break;
    case jwt::Algorithm::kHS256:
      return absl::InvalidArgumentError("HS256 has no key pair");
  }
  if (pkey == nullptr) return absl::InternalError("EVP_PKEY_Q_keygen failed");
  return EvpPkeyPtr(pkey);
}

// P-256 raw r||s (JWS) -> DER ECDSA-Sig-Value (OpenSSL's native form).
absl::StatusOr<std::string> RawEcdsaToDer(std::string_view raw) {
  if (raw.size() != 64) return absl::InternalError("ES256 signature is not 64 bytes");
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
  std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig(ECDSA_SIG_new(), &ECDSA_SIG_free);
  BIGNUM* r = BN_bin2bn(bytes, 32, nullptr);
  BIGNUM* s = BN_bin2bn(bytes + 32, 32, nullptr);
  if (sig == nullptr || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return absl::InternalError("ECDSA_SIG_set0 failed");
  }
  unsigned char* der = nullptr;
  const int len = i2d_ECDSA_SIG(sig.get(), &der);
  if (len <= 0) return absl::InternalError("i2d_ECDSA_SIG failed");
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

jwt::JwtClaims TypicalClaims(absl::Time start) {
  jwt::JwtClaims claims;
  claims.issuer = kIssuer;
  claims.subject = kSubject;
  claims.audiences = {kAudience};
  claims.issued_at = start;
  claims.not_before = start;
  claims.expires_at = start + kLifetime;
  claims.jwt_id = kJwtId;
  claims.client_id = kClientId;
  claims.scopes = {"openid", "profile", kRequiredScope, "orders:write"};
  claims.custom_claims_json = absl::StrCat(R"({"store_id":")", kStoreId, R"("})");
  return claims;
}

TokenSpec SpecFor(const jwt::JwtClaims& claims, absl::Time now) {
  TokenSpec spec;
  spec.issuer = claims.issuer;
  spec.subject = claims.subject;
  spec.audience = claims.audiences.front();
  spec.jwt_id = claims.jwt_id;
  spec.client_id = claims.client_id;
  for (const std::string& scope : claims.scopes) {
    if (!spec.scope.empty()) spec.scope += ' ';
    spec.scope += scope;
  }
  spec.required_scope = kRequiredScope;
  spec.store_id = kStoreId;
  spec.issued_at = absl::ToUnixSeconds(claims.issued_at);
  spec.not_before = absl::ToUnixSeconds(*claims.not_before);
  spec.expires_at = absl::ToUnixSeconds(claims.expires_at);
  spec.now = absl::ToUnixSeconds(now);
  return spec;
}

absl::StatusOr<std::unique_ptr<AlgorithmCase>> MakeCase(jwt::Algorithm algorithm,
                                                        const jwt::JwtClaims& claims,
                                                        absl::Time now, jwt::KeySet& key_set) {
  auto c = std::make_unique<AlgorithmCase>();
  c->algorithm = algorithm;
  c->name = std::string(jwt::AlgorithmName(algorithm));
  c->spec = SpecFor(claims, now);
  c->spec.alg = c->name;

  std::string hmac_secret;
  if (algorithm == jwt::Algorithm::kHS256) {
    hmac_secret.resize(32);
    if (RAND_bytes(reinterpret_cast<unsigned char*>(hmac_secret.data()), 32) != 1) {
      return absl::InternalError("RAND_bytes failed");
    }
    TOKEND_ASSIGN_OR_RETURN(jwt::SigningKey key,
                            jwt::SigningKey::FromHmacSecret(jwt::SecretData(hmac_secret)));
    c->signing_key.emplace(std::move(key));
    TOKEND_RETURN_IF_ERROR(key_set.Add(c->signing_key->verification_key()));
    c->spec.hmac_secret = hmac_secret;
  } else {
    TOKEND_ASSIGN_OR_RETURN(EvpPkeyPtr generated, GenerateOpenSslKey(algorithm));
    TOKEND_ASSIGN_OR_RETURN(c->spec.private_pem, PrivatePem(generated.get()));
    TOKEND_ASSIGN_OR_RETURN(c->spec.public_pem, PublicPem(generated.get()));
    TOKEND_ASSIGN_OR_RETURN(c->private_key, ReadPem(c->spec.private_pem, /*is_private=*/true));
    TOKEND_ASSIGN_OR_RETURN(c->public_key, ReadPem(c->spec.public_pem, /*is_private=*/false));
    TOKEND_ASSIGN_OR_RETURN(jwt::SigningKey key,
                            jwt::SigningKey::FromPrivatePem(c->spec.private_pem));
    c->signing_key.emplace(std::move(key));
    // The verifier gets the key through the public PEM, the way a resource server would.
    TOKEND_ASSIGN_OR_RETURN(jwt::VerificationKey public_key,
                            jwt::VerificationKey::FromPublicPem(c->spec.public_pem));
    if (public_key.kid() != c->signing_key->kid()) {
      return absl::InternalError(absl::StrCat(c->name, ": public and private kid differ"));
    }
    TOKEND_RETURN_IF_ERROR(key_set.Add(std::move(public_key)));
  }
  c->spec.kid = c->signing_key->kid();
  TOKEND_ASSIGN_OR_RETURN(
      OpenSslBaseline baseline,
      OpenSslBaseline::Create(algorithm, c->private_key.get(), c->public_key.get(), hmac_secret));
  c->baseline.emplace(std::move(baseline));

  TOKEND_ASSIGN_OR_RETURN(
      jwt::JwtVerifier verifier,
      jwt::JwtVerifier::Builder().ExpectIssuer(claims.issuer).AllowAlgorithm(algorithm).Build());
  c->verifier.emplace(std::move(verifier));

  TOKEND_ASSIGN_OR_RETURN(c->token, jwt::SignAccessToken(claims, *c->signing_key));
  const size_t last_dot = c->token.rfind('.');
  if (last_dot == std::string::npos) return absl::InternalError("token without a dot");
  c->signing_input = c->token.substr(0, last_dot);
  // The bare verification checks the token's own signature (ES256: re-encoded as DER), so both
  // sides do exactly the same arithmetic: ECDSA verification time depends on the signature.
  const size_t first_dot = c->token.find('.');
  TOKEND_ASSIGN_OR_RETURN(c->header_json,
                          jwt::Base64UrlDecode(std::string_view(c->token).substr(0, first_dot)));
  TOKEND_ASSIGN_OR_RETURN(c->payload_json, jwt::Base64UrlDecode(std::string_view(c->token).substr(
                                               first_dot + 1, last_dot - first_dot - 1)));
  TOKEND_ASSIGN_OR_RETURN(std::string signature,
                          jwt::Base64UrlDecode(std::string_view(c->token).substr(last_dot + 1)));
  c->raw_signature = signature;
  if (algorithm == jwt::Algorithm::kES256) {
    TOKEND_ASSIGN_OR_RETURN(signature, RawEcdsaToDer(signature));
  }
  c->bare_signature = std::move(signature);
  if (!c->baseline->Verify(c->signing_input, c->bare_signature)) {
    return absl::InternalError(absl::StrCat(c->name, ": OpenSSL rejects the core's signature"));
  }
  return c;
}

}  // namespace

absl::StatusOr<std::unique_ptr<BenchFixture>> BenchFixture::Create(absl::Time start) {
  std::unique_ptr<BenchFixture> fixture(new BenchFixture());
  start = absl::FromUnixSeconds(absl::ToUnixSeconds(start));  // JWT times are whole seconds
  fixture->claims_ = TypicalClaims(start);
  fixture->now_ = start + kVerifyAfter;
  fixture->expectations_ = jwt::Expectations::ForAudience(kAudience, {kRequiredScope});
  for (jwt::Algorithm algorithm : {jwt::Algorithm::kEdDSA, jwt::Algorithm::kES256,
                                   jwt::Algorithm::kRS256, jwt::Algorithm::kHS256}) {
    TOKEND_ASSIGN_OR_RETURN(
        std::unique_ptr<AlgorithmCase> c,
        MakeCase(algorithm, fixture->claims_, fixture->now_, fixture->key_set_));
    fixture->cases_.push_back(std::move(c));
  }
  return fixture;
}

}  // namespace tokend::bench
