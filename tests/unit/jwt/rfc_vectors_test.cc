// Published vectors: RFC 7515 Appendix A.1-A.3 and A.5, RFC 8037 Appendix A, RFC 7638 §3.1.
// Read from tests/data/jose/rfc_vectors.json (see the README there for their source).

#include <map>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "jwt/base64url.h"
#include "jwt/keys.h"
#include "jwt/signer.h"
#include "jwt/verifier.h"
#include "rapidjson/document.h"
#include "tests/unit/jwt/jwt_test_util.h"

namespace tokend::jwt {
namespace {

using testing::JsonText;
using testing::Str;

class RfcVectorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string path = testing::SourceDir() + "/tests/data/jose/rfc_vectors.json";
    std::optional<std::string> text = testing::ReadFile(path);
    ASSERT_TRUE(text.has_value()) << "cannot read " << path;
    doc_.Parse(text->c_str());
    ASSERT_FALSE(doc_.HasParseError());
    for (const auto& example : doc_["examples"].GetArray()) {
      examples_[Str(example, "id")] = &example;
    }
  }

  const rapidjson::Value& Example(const std::string& id) {
    auto it = examples_.find(id);
    EXPECT_NE(it, examples_.end()) << id;
    return *it->second;
  }

  rapidjson::Document doc_;
  std::map<std::string, const rapidjson::Value*> examples_;
};

TEST_F(RfcVectorsTest, Rfc7515A1Hs256VerifiesAndSignsIdentically) {
  const rapidjson::Value& v = Example("rfc7515-A.1");
  absl::StatusOr<SigningKey> key = SigningKey::FromJwk(JsonText(v["key"]));
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->algorithm(), Algorithm::kHS256);
  absl::StatusOr<std::string> payload = VerifyCompactJws(Str(v, "token"), key->verification_key());
  ASSERT_TRUE(payload.ok()) << payload.status();
  EXPECT_EQ(*payload, Str(v, "payload_utf8"));
  // HMAC is deterministic: signing the same bytes reproduces the published token.
  absl::StatusOr<std::string> token =
      SignCompactJws(Str(v, "protected_header_utf8"), Str(v, "payload_utf8"), *key);
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(*token, Str(v, "token"));
}

TEST_F(RfcVectorsTest, Rfc7515A2Rs256VerifiesAndSignsIdentically) {
  const rapidjson::Value& v = Example("rfc7515-A.2");
  absl::StatusOr<VerificationKey> pub = VerificationKey::FromJwk(JsonText(v["key"]));
  ASSERT_TRUE(pub.ok()) << pub.status();
  EXPECT_EQ(pub->algorithm(), Algorithm::kRS256);
  absl::StatusOr<std::string> payload = VerifyCompactJws(Str(v, "token"), *pub);
  ASSERT_TRUE(payload.ok()) << payload.status();
  EXPECT_EQ(*payload, Str(v, "payload_utf8"));
  // RSASSA-PKCS1-v1_5 is deterministic too.
  absl::StatusOr<SigningKey> priv = SigningKey::FromJwk(JsonText(v["key"]));
  ASSERT_TRUE(priv.ok()) << priv.status();
  absl::StatusOr<std::string> token =
      SignCompactJws(Str(v, "protected_header_utf8"), Str(v, "payload_utf8"), *priv);
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(*token, Str(v, "token"));
}

TEST_F(RfcVectorsTest, Rfc7515A3Es256Verifies) {
  const rapidjson::Value& v = Example("rfc7515-A.3");
  absl::StatusOr<VerificationKey> pub = VerificationKey::FromJwk(JsonText(v["key"]));
  ASSERT_TRUE(pub.ok()) << pub.status();
  EXPECT_EQ(pub->algorithm(), Algorithm::kES256);
  absl::StatusOr<std::string> payload = VerifyCompactJws(Str(v, "token"), *pub);
  ASSERT_TRUE(payload.ok()) << payload.status();
  EXPECT_EQ(*payload, Str(v, "payload_utf8"));
  // ECDSA signatures are randomized; a fresh one verifies under the same key.
  absl::StatusOr<SigningKey> priv = SigningKey::FromJwk(JsonText(v["key"]));
  ASSERT_TRUE(priv.ok()) << priv.status();
  absl::StatusOr<std::string> token =
      SignCompactJws(Str(v, "protected_header_utf8"), Str(v, "payload_utf8"), *priv);
  ASSERT_TRUE(token.ok());
  EXPECT_TRUE(VerifyCompactJws(*token, *pub).ok());
  // The published token is a JWT with typ "JWT" and no kid: the access-token verifier refuses it.
  KeySet keys;
  ASSERT_TRUE(keys.Add(*pub).ok());
  absl::StatusOr<JwtVerifier> verifier =
      JwtVerifier::Builder().ExpectIssuer("joe").AllowAlgorithm(Algorithm::kES256).Build();
  ASSERT_TRUE(verifier.ok());
  EXPECT_FALSE(verifier
                   ->VerifyAndDecode(Str(v, "token"), keys,
                                     Expectations::AnyAudienceForRevocation(),
                                     absl::FromUnixSeconds(1300819000))
                   .ok());
}

TEST_F(RfcVectorsTest, Rfc8037Ed25519SignsDeterministicallyAndVerifies) {
  const rapidjson::Value& v = Example("rfc8037-A.4");
  absl::StatusOr<SigningKey> priv = SigningKey::FromJwk(JsonText(v["key"]));
  ASSERT_TRUE(priv.ok()) << priv.status();
  EXPECT_EQ(priv->algorithm(), Algorithm::kEdDSA);
  absl::StatusOr<std::string> token =
      SignCompactJws(R"({"alg":"EdDSA"})", Str(v, "payload_utf8"), *priv);
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(*token, Str(v, "token"));
  absl::StatusOr<VerificationKey> pub = VerificationKey::FromJwk(JsonText(v["public_key"]));
  ASSERT_TRUE(pub.ok()) << pub.status();
  absl::StatusOr<std::string> payload = VerifyCompactJws(Str(v, "token"), *pub);
  ASSERT_TRUE(payload.ok()) << payload.status();
  EXPECT_EQ(*payload, Str(v, "payload_utf8"));
  // RFC 8037 A.3 thumbprint; it is also the default kid.
  EXPECT_EQ(pub->Thumbprint(), Str(v, "jwk_thumbprint_sha256"));
  EXPECT_EQ(pub->kid(), Str(v, "jwk_thumbprint_sha256"));
  EXPECT_EQ(priv->verification_key().Thumbprint(), Str(v, "jwk_thumbprint_sha256"));
}

TEST_F(RfcVectorsTest, Rfc7638ThumbprintOfTheRsaExampleKey) {
  const rapidjson::Value& v = Example("rfc7638-3.1");
  absl::StatusOr<VerificationKey> key = VerificationKey::FromJwk(JsonText(v["key"]));
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->Thumbprint(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
  EXPECT_EQ(key->Thumbprint(), Str(v, "jwk_thumbprint_sha256"));
  EXPECT_EQ(key->kid(), "2011-04-29") << "an explicit JWK kid wins over the thumbprint";
}

TEST_F(RfcVectorsTest, UnsecuredAndCritExamplesAreRefused) {
  for (const char* id : {"rfc7515-A.5", "rfc7515-crit-negative"}) {
    const std::string token = Str(Example(id), "token");
    for (const char* key_id : {"rfc7515-A.1", "rfc7515-A.3"}) {
      absl::StatusOr<SigningKey> key = SigningKey::FromJwk(JsonText(Example(key_id)["key"]));
      ASSERT_TRUE(key.ok());
      absl::Status status = VerifyCompactJws(token, key->verification_key()).status();
      EXPECT_THAT(GetVerifyError(status),
                  ::testing::AnyOf(::testing::Optional(VerifyError::kMalformed),
                                   ::testing::Optional(VerifyError::kAlgorithmNotAllowed)))
          << id;
    }
  }
}

TEST_F(RfcVectorsTest, PublishedTokensFailWithAnotherPublishedKey) {
  absl::StatusOr<VerificationKey> es256 =
      VerificationKey::FromJwk(JsonText(Example("rfc7515-A.3")["key"]));
  absl::StatusOr<VerificationKey> rs256 =
      VerificationKey::FromJwk(JsonText(Example("rfc7515-A.2")["key"]));
  ASSERT_TRUE(es256.ok() && rs256.ok());
  EXPECT_FALSE(VerifyCompactJws(Str(Example("rfc7515-A.2"), "token"), *es256).ok());
  EXPECT_FALSE(VerifyCompactJws(Str(Example("rfc7515-A.3"), "token"), *rs256).ok());
  EXPECT_FALSE(VerifyCompactJws(Str(Example("rfc7515-A.1"), "token"), *rs256).ok());
}

// tests/fuzz/corpus/verifier holds tokens made by python3-jwcrypto/cryptography
// (tests/fuzz/make_seeds.py) with these published keys for the time 1700000000: an independent
// implementation's tokens must verify, and its hostile ones must fail for the expected reason.
TEST_F(RfcVectorsTest, TokensSignedByAnotherImplementationVerify) {
  KeySet keys;
  for (const char* id : {"rfc7515-A.1", "rfc7515-A.2", "rfc7515-A.3", "rfc8037-A.4"}) {
    absl::StatusOr<SigningKey> key = SigningKey::FromJwk(JsonText(Example(id)["key"]));
    ASSERT_TRUE(key.ok()) << id << ": " << key.status();
    ASSERT_TRUE(keys.Add(key->verification_key()).ok());
  }
  JwtVerifier::Builder builder;
  builder.ExpectIssuer("https://issuer.test");
  for (Algorithm alg :
       {Algorithm::kEdDSA, Algorithm::kES256, Algorithm::kRS256, Algorithm::kHS256}) {
    builder.AllowAlgorithm(alg);
  }
  absl::StatusOr<JwtVerifier> verifier = builder.Build();
  ASSERT_TRUE(verifier.ok());
  const std::map<std::string, std::optional<VerifyError>> kExpected = {
      {"valid_EdDSA", std::nullopt},
      {"valid_ES256", std::nullopt},
      {"valid_RS256", std::nullopt},
      {"valid_HS256", std::nullopt},
      {"valid_EdDSA_aud_array", std::nullopt},
      {"valid_ES256_aud_array", std::nullopt},
      {"valid_RS256_aud_array", std::nullopt},
      {"valid_HS256_aud_array", std::nullopt},
      {"exp_float", std::nullopt},
      {"expired", VerifyError::kExpired},
      {"nbf_future", VerifyError::kNotYetValid},
      {"exp_string", VerifyError::kInvalidClaims},
      {"exp_huge", VerifyError::kInvalidClaims},
      {"duplicate_claim", VerifyError::kInvalidClaims},
      {"nested", VerifyError::kInvalidClaims},
      {"wrong_typ", VerifyError::kWrongType},
      {"crit", VerifyError::kMalformed},
      {"embedded_jwk", VerifyError::kMalformed},
      {"alg_none", VerifyError::kMalformed},
      {"padded", VerifyError::kMalformed},
      {"hs256_with_eddsa_kid", VerifyError::kAlgorithmNotAllowed},
      {"der_like", VerifyError::kBadSignature},
  };
  for (const auto& [name, expected] : kExpected) {
    const std::string path = testing::SourceDir() + "/tests/fuzz/corpus/verifier/" + name;
    std::optional<std::string> token = testing::ReadFile(path);
    ASSERT_TRUE(token.has_value()) << path;
    absl::StatusOr<VerifiedJwt> result =
        verifier->VerifyAndDecode(*token, keys, Expectations::ForAudience("api", {"read"}),
                                  absl::FromUnixSeconds(1700000000));
    if (!expected.has_value()) {
      EXPECT_TRUE(result.ok()) << name << ": " << result.status();
    } else {
      EXPECT_EQ(GetVerifyError(result.status()), expected) << name << ": " << result.status();
    }
  }
}

}  // namespace
}  // namespace tokend::jwt
