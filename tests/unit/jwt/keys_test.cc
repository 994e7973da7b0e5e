#include "jwt/keys.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "jwt/base64url.h"
#include "jwt/json.h"
#include "jwt/key_set.h"
#include "rapidjson/document.h"
#include "tests/unit/jwt/jwt_test_util.h"

namespace tokend::jwt {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr Algorithm kAsymmetric[] = {Algorithm::kEdDSA, Algorithm::kES256, Algorithm::kRS256};
constexpr Algorithm kAll[] = {Algorithm::kEdDSA, Algorithm::kES256, Algorithm::kRS256,
                              Algorithm::kHS256};

// Generated once: RSA key generation is slow.
const SigningKey& KeyFor(Algorithm alg) {
  static const auto* keys = [] {
    auto* v = new std::vector<SigningKey>();
    for (Algorithm a : kAll) v->push_back(*SigningKey::Generate(a));
    return v;
  }();
  return (*keys)[static_cast<size_t>(alg)];
}

TEST(KeysTest, GeneratedKeysAreBoundToTheirAlgorithmAndSignVerifiably) {
  for (Algorithm alg : kAll) {
    const SigningKey& key = KeyFor(alg);
    EXPECT_EQ(key.algorithm(), alg);
    EXPECT_EQ(key.verification_key().algorithm(), alg);
    EXPECT_EQ(key.kid(), key.verification_key().Thumbprint()) << "kid defaults to thumbprint";
    absl::StatusOr<std::string> sig = key.Sign("input");
    ASSERT_TRUE(sig.ok()) << AlgorithmName(alg);
    EXPECT_TRUE(key.verification_key().VerifySignature("input", *sig));
    EXPECT_FALSE(key.verification_key().VerifySignature("inpuT", *sig));
    std::string flipped = *sig;
    flipped[flipped.size() / 2] ^= 0x01;
    EXPECT_FALSE(key.verification_key().VerifySignature("input", flipped));
    EXPECT_FALSE(key.verification_key().VerifySignature("input", ""));
    EXPECT_FALSE(key.verification_key().VerifySignature("input", *sig + "x"));
  }
}

TEST(KeysTest, SignatureSizesMatchJwsFormats) {
  EXPECT_EQ(KeyFor(Algorithm::kEdDSA).Sign("m")->size(), 64u);
  EXPECT_EQ(KeyFor(Algorithm::kES256).Sign("m")->size(), 64u);  // raw r||s, not DER
  EXPECT_EQ(KeyFor(Algorithm::kRS256).Sign("m")->size(), 256u);
  EXPECT_EQ(KeyFor(Algorithm::kHS256).Sign("m")->size(), 32u);
}

TEST(KeysTest, GeneratedRsaKeyIs2048Bits) {
  absl::StatusOr<std::string> jwk = KeyFor(Algorithm::kRS256).verification_key().PublicJwkJson();
  ASSERT_TRUE(jwk.ok());
  rapidjson::Document doc;
  doc.Parse(jwk->c_str());
  EXPECT_EQ(Base64UrlDecode(testing::Str(doc, "n"))->size(), 256u);
}

TEST(KeysTest, PublicPemRoundTripKeepsKidAndVerifies) {
  for (Algorithm alg : kAsymmetric) {
    const SigningKey& key = KeyFor(alg);
    absl::StatusOr<std::string> pem = key.verification_key().PublicPem();
    ASSERT_TRUE(pem.ok());
    EXPECT_THAT(*pem, HasSubstr("-----BEGIN PUBLIC KEY-----"));
    absl::StatusOr<VerificationKey> loaded = VerificationKey::FromPublicPem(*pem);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    EXPECT_EQ(loaded->algorithm(), alg);
    EXPECT_EQ(loaded->kid(), key.kid());
    EXPECT_TRUE(loaded->VerifySignature("x", *key.Sign("x")));
  }
}

TEST(KeysTest, PrivatePemAndPkcs8RoundTripsKeepTheKey) {
  for (Algorithm alg : kAsymmetric) {
    const SigningKey& key = KeyFor(alg);
    SecretData der = key.ExportPrivatePkcs8Der();
    ASSERT_FALSE(der.empty());
    absl::StatusOr<SigningKey> from_der = SigningKey::FromPrivatePkcs8Der(alg, der, key.kid());
    ASSERT_TRUE(from_der.ok()) << from_der.status();
    EXPECT_EQ(from_der->kid(), key.kid());
    EXPECT_TRUE(key.verification_key().VerifySignature("m", *from_der->Sign("m")));

    absl::StatusOr<SigningKey> from_pem =
        SigningKey::FromPrivatePem(testing::Pkcs8DerToPem(der.ExposeSecret()), "custom-kid");
    ASSERT_TRUE(from_pem.ok()) << from_pem.status();
    EXPECT_EQ(from_pem->kid(), "custom-kid");
    EXPECT_EQ(from_pem->verification_key().Thumbprint(), key.verification_key().Thumbprint());
    EXPECT_TRUE(key.verification_key().VerifySignature("m", *from_pem->Sign("m")));
  }
}

TEST(KeysTest, Pkcs8WithTheWrongAlgorithmIsRefused) {
  SecretData der = KeyFor(Algorithm::kES256).ExportPrivatePkcs8Der();
  EXPECT_FALSE(SigningKey::FromPrivatePkcs8Der(Algorithm::kEdDSA, der, "k").ok());
  EXPECT_FALSE(SigningKey::FromPrivatePkcs8Der(Algorithm::kES256, SecretData("junk"), "k").ok());
}

TEST(KeysTest, HmacKeyRoundTripsThroughStorageExport) {
  const SigningKey& key = KeyFor(Algorithm::kHS256);
  SecretData secret = key.ExportPrivatePkcs8Der();
  EXPECT_EQ(secret.size(), 32u);
  absl::StatusOr<SigningKey> copy = SigningKey::FromPrivatePkcs8Der(Algorithm::kHS256, secret, "");
  ASSERT_TRUE(copy.ok());
  EXPECT_EQ(copy->kid(), key.kid());
  EXPECT_EQ(*copy->Sign("m"), *key.Sign("m"));
}

TEST(KeysTest, PublicJwkRoundTripKeepsKidAndThumbprint) {
  for (Algorithm alg : kAsymmetric) {
    const SigningKey& key = KeyFor(alg);
    absl::StatusOr<std::string> jwk = key.verification_key().PublicJwkJson();
    ASSERT_TRUE(jwk.ok());
    EXPECT_TRUE(ValidateStrictJsonObject(*jwk).ok());
    EXPECT_THAT(*jwk, HasSubstr("\"use\":\"sig\""));
    EXPECT_THAT(*jwk, HasSubstr(std::string("\"alg\":\"") + std::string(AlgorithmName(alg))));
    absl::StatusOr<VerificationKey> loaded = VerificationKey::FromJwk(*jwk);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    EXPECT_EQ(loaded->kid(), key.kid());
    EXPECT_EQ(loaded->Thumbprint(), key.verification_key().Thumbprint());
    EXPECT_TRUE(loaded->VerifySignature("x", *key.Sign("x")));
  }
}

TEST(KeysTest, PublicJwkStartsWithKtyAndEndsWithKidAlgUse) {
  absl::StatusOr<std::string> jwk = KeyFor(Algorithm::kES256).verification_key().PublicJwkJson();
  ASSERT_TRUE(jwk.ok());
  EXPECT_THAT(*jwk,
              ::testing::MatchesRegex(
                  R"(\{"kty":"EC","crv":"P-256","x":"[-_A-Za-z0-9]{43}","y":"[-_A-Za-z0-9]{43}",)"
                  R"("kid":"[-_A-Za-z0-9]{43}","alg":"ES256","use":"sig"\})"));
}

TEST(KeysTest, HmacKeysAreNeverPublished) {
  const VerificationKey& key = KeyFor(Algorithm::kHS256).verification_key();
  EXPECT_EQ(key.PublicJwkJson().status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(key.PublicPem().status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(KeysTest, PrivateJwkImportSignsAndItsPublicHalfLoadsAlone) {
  // RFC 7515 A.3 / RFC 8037 A.1 private keys, as JWKs with "d".
  const char* kEcPrivate =
      R"({"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",)"
      R"("y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",)"
      R"("d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"})";
  absl::StatusOr<SigningKey> ec = SigningKey::FromJwk(kEcPrivate);
  ASSERT_TRUE(ec.ok()) << ec.status();
  EXPECT_EQ(ec->algorithm(), Algorithm::kES256);
  // VerificationKey::FromJwk ignores "d".
  absl::StatusOr<VerificationKey> ec_pub = VerificationKey::FromJwk(kEcPrivate);
  ASSERT_TRUE(ec_pub.ok());
  EXPECT_TRUE(ec_pub->VerifySignature("m", *ec->Sign("m")));
  EXPECT_THAT(*ec_pub->PublicJwkJson(), Not(HasSubstr("\"d\"")));
}

TEST(KeysTest, PrivateJwkWhosePrivatePartDoesNotMatchIsRefused) {
  // The RFC 8037 private scalar paired with another public key.
  absl::StatusOr<std::string> jwk = KeyFor(Algorithm::kEdDSA).verification_key().PublicJwkJson();
  ASSERT_TRUE(jwk.ok());
  rapidjson::Document doc;
  doc.Parse(jwk->c_str());
  std::string spliced = R"({"kty":"OKP","crv":"Ed25519","x":")" + testing::Str(doc, "x") +
                        R"(","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"})";
  EXPECT_FALSE(SigningKey::FromJwk(spliced).ok());
  std::string matching =
      R"({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",)"
      R"("d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"})";
  EXPECT_TRUE(SigningKey::FromJwk(matching).ok());
}

TEST(KeysTest, RsaKeysShorterThan2048BitsAreRefusedEverywhere) {
  auto [pub_pem, priv_pem] = testing::RsaPemPair(1024);
  EXPECT_EQ(VerificationKey::FromPublicPem(pub_pem).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(SigningKey::FromPrivatePem(priv_pem).ok());
  auto [pub2047, priv2047] = testing::RsaPemPair(2047);
  EXPECT_FALSE(VerificationKey::FromPublicPem(pub2047).ok());
  EXPECT_FALSE(SigningKey::FromPrivatePem(priv2047).ok());
  // The RFC 7638 example key is 2048 bits and loads; chopping its modulus to 1024 bits must not.
  const std::string n =
      "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
      "BJECPe"
      "bWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_"
      "FDW2QvzqY36"
      "8QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-"
      "bFTWhAI4vMQFh6WeZu0fM4l"
      "Fd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
  EXPECT_TRUE(VerificationKey::FromJwk(R"({"kty":"RSA","e":"AQAB","n":")" + n + "\"}").ok());
  std::string short_n = Base64UrlEncode(Base64UrlDecode(n)->substr(0, 128));
  EXPECT_FALSE(VerificationKey::FromJwk(R"({"kty":"RSA","e":"AQAB","n":")" + short_n + "\"}").ok());
}

TEST(KeysTest, RsaKeyWithUnitOrEvenExponentIsRefused) {
  const std::string n = *KeyFor(Algorithm::kRS256).verification_key().PublicJwkJson();
  rapidjson::Document doc;
  doc.Parse(n.c_str());
  const std::string modulus = testing::Str(doc, "n");
  EXPECT_FALSE(VerificationKey::FromJwk(R"({"kty":"RSA","e":"AQ","n":")" + modulus + "\"}").ok());
  EXPECT_FALSE(VerificationKey::FromJwk(R"({"kty":"RSA","e":"Ag","n":")" + modulus + "\"}").ok());
}

TEST(KeysTest, HmacSecretsShorterThan32BytesAreRefused) {
  EXPECT_EQ(SigningKey::FromHmacSecret(SecretData(std::string(31, 'k'))).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(SigningKey::FromHmacSecret(SecretData("")).ok());
  EXPECT_TRUE(SigningKey::FromHmacSecret(SecretData(std::string(32, 'k'))).ok());
  EXPECT_FALSE(
      SigningKey::FromJwk(R"({"kty":"oct","k":")" + Base64UrlEncode(std::string(16, 'k')) + "\"}")
          .ok());
}

TEST(KeysTest, JwkAlgMustAgreeWithTheKeyType) {
  std::string jwk = *KeyFor(Algorithm::kEdDSA).verification_key().PublicJwkJson();
  std::string wrong = jwk;
  wrong.replace(wrong.find("\"alg\":\"EdDSA\""), 13, "\"alg\":\"HS256\"");
  EXPECT_FALSE(VerificationKey::FromJwk(wrong).ok());
  std::string rsa = *KeyFor(Algorithm::kRS256).verification_key().PublicJwkJson();
  rsa.replace(rsa.find("\"alg\":\"RS256\""), 13, "\"alg\":\"PS256\"");
  EXPECT_FALSE(VerificationKey::FromJwk(rsa).ok());
}

TEST(KeysTest, JwkForEncryptionOrWithoutVerifyOpIsRefused) {
  std::string jwk = *KeyFor(Algorithm::kES256).verification_key().PublicJwkJson();
  std::string enc = jwk;
  enc.replace(enc.find("\"use\":\"sig\""), 11, "\"use\":\"enc\"");
  EXPECT_FALSE(VerificationKey::FromJwk(enc).ok());
  std::string ops = jwk;
  ops.replace(ops.find("\"use\":\"sig\""), 11, "\"key_ops\":[\"encrypt\"]");
  EXPECT_FALSE(VerificationKey::FromJwk(ops).ok());
  std::string verify_ops = jwk;
  verify_ops.replace(verify_ops.find("\"use\":\"sig\""), 11, "\"key_ops\":[\"verify\"]");
  EXPECT_TRUE(VerificationKey::FromJwk(verify_ops).ok());
}

TEST(KeysTest, MalformedJwksAreRefused) {
  const char* kBad[] = {
      "",
      "[]",
      R"({"kty":"EC"})",
      R"({"kty":"EC","crv":"P-384","x":"AA","y":"AA"})",
      R"({"kty":"OKP","crv":"Ed448","x":"AA"})",
      R"({"kty":"OKP","crv":"X25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})",
      R"({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHUR"})",
      R"({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo="})",
      R"({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",)"
      R"("kty":"OKP"})",
      R"({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":7})",
      R"({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":""})",
      // P-256 point not on the curve (y + 1).
      R"({"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",)"
      R"("y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a4"})",
      // Shortened coordinate.
      R"({"kty":"EC","crv":"P-256","x":"83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",)"
      R"("y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"})",
      R"({"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"})",
      R"({"kty":"RSA","n":"AQAB"})",
  };
  for (const char* jwk : kBad) {
    EXPECT_FALSE(VerificationKey::FromJwk(jwk).ok()) << jwk;
  }
}

TEST(KeysTest, JwkKidIsUsedWhenPresent) {
  absl::StatusOr<VerificationKey> key = VerificationKey::FromJwk(
      R"({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",)"
      R"("kid":"key-2024-01"})");
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->kid(), "key-2024-01");
  EXPECT_EQ(key->Thumbprint(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
}

TEST(KeysTest, UnsupportedPemKeysAreRefused) {
  EXPECT_FALSE(VerificationKey::FromPublicPem("").ok());
  EXPECT_FALSE(VerificationKey::FromPublicPem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC "
                                              "KEY-----\n")
                   .ok());
  // A P-384 key: a valid PEM of a curve ES256 does not use.
  EVP_PKEY* p384 = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384");
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, p384);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  EVP_PKEY_free(p384);
  EXPECT_FALSE(VerificationKey::FromPublicPem(pem).ok());
  // A private key PEM is not a public key PEM, and vice versa.
  auto [pub, priv] = testing::RsaPemPair(2048);
  EXPECT_FALSE(VerificationKey::FromPublicPem(priv).ok());
  EXPECT_FALSE(SigningKey::FromPrivatePem(pub).ok());
  EXPECT_TRUE(VerificationKey::FromPublicPem(pub).ok());
  EXPECT_TRUE(SigningKey::FromPrivatePem(priv).ok());
}

TEST(KeysTest, EncryptedPrivatePemIsRefusedWithoutPrompting) {
  EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  BIO* bio = BIO_new(BIO_s_mem());
  const char kPass[] = "password";
  PEM_write_bio_PKCS8PrivateKey(bio, pkey, EVP_aes_128_cbc(), kPass, sizeof kPass - 1, nullptr,
                                nullptr);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  EVP_PKEY_free(pkey);
  ASSERT_THAT(pem, HasSubstr("ENCRYPTED"));
  EXPECT_FALSE(SigningKey::FromPrivatePem(pem).ok());
}

TEST(KeySetTest, FindsKeysByKidAndRefusesDuplicates) {
  KeySet set;
  ASSERT_TRUE(set.Add(KeyFor(Algorithm::kEdDSA).verification_key()).ok());
  ASSERT_TRUE(set.Add(KeyFor(Algorithm::kES256).verification_key()).ok());
  EXPECT_EQ(set.Add(KeyFor(Algorithm::kEdDSA).verification_key()).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(set.size(), 2u);
  ASSERT_NE(set.Find(KeyFor(Algorithm::kES256).kid()), nullptr);
  EXPECT_EQ(set.Find(KeyFor(Algorithm::kES256).kid())->algorithm(), Algorithm::kES256);
  EXPECT_EQ(set.Find("nope"), nullptr);
  EXPECT_EQ(set.Find(""), nullptr);
}

TEST(KeySetTest, PublicJwksHasNoPrivateOrSecretMembersAndRoundTrips) {
  KeySet set;
  for (Algorithm alg : kAll) ASSERT_TRUE(set.Add(KeyFor(alg).verification_key()).ok());
  const std::string jwks = set.ToPublicJwksJson();
  ASSERT_TRUE(ValidateStrictJsonObject(jwks).ok());
  rapidjson::Document doc;
  doc.Parse(jwks.c_str());
  ASSERT_TRUE(doc["keys"].IsArray());
  EXPECT_EQ(doc["keys"].Size(), 3u) << "the HS256 key is skipped";
  std::string previous_kid;
  for (const auto& key : doc["keys"].GetArray()) {
    for (const char* member : {"d", "k", "p", "q", "dp", "dq", "qi", "oth"}) {
      EXPECT_FALSE(key.HasMember(member)) << member;
    }
    EXPECT_NE(testing::Str(key, "kty"), "oct");
    EXPECT_LT(previous_kid, testing::Str(key, "kid")) << "kid order";
    previous_kid = testing::Str(key, "kid");
  }
  absl::StatusOr<KeySet> parsed = KeySet::FromJwksJson(jwks);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->size(), 3u);
  EXPECT_NE(parsed->Find(KeyFor(Algorithm::kRS256).kid()), nullptr);
  EXPECT_EQ(parsed->ToPublicJwksJson(), jwks);
}

TEST(KeySetTest, JwksWithSecretsDuplicatesOrJunkIsRefused) {
  EXPECT_FALSE(
      KeySet::FromJwksJson(
          R"({"keys":[{"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}]})")
          .ok());
  const std::string jwk = *KeyFor(Algorithm::kEdDSA).verification_key().PublicJwkJson();
  EXPECT_EQ(KeySet::FromJwksJson("{\"keys\":[" + jwk + "," + jwk + "]}").status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_FALSE(KeySet::FromJwksJson(R"({"keys":{}})").ok());
  EXPECT_FALSE(KeySet::FromJwksJson(R"({"keys":[1]})").ok());
  EXPECT_FALSE(KeySet::FromJwksJson(R"({})").ok());
  EXPECT_TRUE(KeySet::FromJwksJson(R"({"keys":[]})").ok());
}

}  // namespace
}  // namespace tokend::jwt
