#include "jwt/signer.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "jwt/base64url.h"
#include "jwt/json.h"
#include "jwt/verifier.h"

namespace tokend::jwt {
namespace {

using ::testing::HasSubstr;

const SigningKey& Es256Key() {
  static const SigningKey* key = new SigningKey(*SigningKey::Generate(Algorithm::kES256));
  return *key;
}

JwtClaims BaseClaims() {
  JwtClaims claims;
  claims.issuer = "https://issuer.test";
  claims.subject = "alice";
  claims.audiences = {"api"};
  claims.issued_at = absl::FromUnixSeconds(1700000000);
  claims.expires_at = absl::FromUnixSeconds(1700000300);
  return claims;
}

std::string Segment(const std::string& token, int i) {
  std::vector<std::string> parts = absl::StrSplit(token, '.');
  return *Base64UrlDecode(parts[static_cast<size_t>(i)]);
}

TEST(SignerTest, HeaderHasExactlyAlgKidAndTyp) {
  for (Algorithm alg : {Algorithm::kEdDSA, Algorithm::kHS256}) {
    absl::StatusOr<SigningKey> key = SigningKey::Generate(alg);
    ASSERT_TRUE(key.ok());
    absl::StatusOr<std::string> token = SignAccessToken(BaseClaims(), *key);
    ASSERT_TRUE(token.ok()) << token.status();
    EXPECT_EQ(Segment(*token, 0), absl::StrCat(R"({"alg":")", std::string(AlgorithmName(alg)),
                                               R"(","kid":")", key->kid(), R"(","typ":"at+jwt"})"));
  }
}

TEST(SignerTest, PayloadIsCompactWithIntegerNumericDates) {
  JwtClaims claims = BaseClaims();
  claims.issued_at += absl::Milliseconds(999);  // truncated to whole seconds
  claims.not_before = absl::FromUnixSeconds(1699999990);
  claims.jwt_id = "j";
  claims.client_id = "c";
  claims.scopes = {"read", "write"};
  claims.session_id = "s";
  absl::StatusOr<std::string> token = SignAccessToken(claims, Es256Key());
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(Segment(*token, 1),
            R"({"iss":"https://issuer.test","sub":"alice","aud":"api","exp":1700000300,)"
            R"("nbf":1699999990,"iat":1700000000,"jti":"j","client_id":"c","scope":"read write",)"
            R"("sid":"s"})");
}

TEST(SignerTest, SeveralAudiencesBecomeAnArrayAndEmptyFieldsAreOmitted) {
  JwtClaims claims = BaseClaims();
  claims.subject.clear();
  claims.audiences = {"a", "b"};
  absl::StatusOr<std::string> token = SignAccessToken(claims, Es256Key());
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(Segment(*token, 1),
            R"({"iss":"https://issuer.test","aud":["a","b"],"exp":1700000300,"iat":1700000000})");
}

TEST(SignerTest, StringsAreEscapedAndRoundTrip) {
  JwtClaims claims = BaseClaims();
  claims.subject =
      "quote\" backslash\\ newline\n nul" + std::string(1, '\0') + " \xc3\xa9 \xf0\x9f\x98\x80";
  absl::StatusOr<std::string> token = SignAccessToken(claims, Es256Key());
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_TRUE(ValidateStrictJsonObject(Segment(*token, 1)).ok());
  KeySet keys;
  ASSERT_TRUE(keys.Add(Es256Key().verification_key()).ok());
  absl::StatusOr<JwtVerifier> verifier = JwtVerifier::Builder()
                                             .ExpectIssuer("https://issuer.test")
                                             .AllowAlgorithm(Algorithm::kES256)
                                             .Build();
  ASSERT_TRUE(verifier.ok());
  absl::StatusOr<VerifiedJwt> jwt = verifier->VerifyAndDecode(
      *token, keys, Expectations::ForAudience("api"), absl::FromUnixSeconds(1700000100));
  ASSERT_TRUE(jwt.ok()) << jwt.status();
  EXPECT_EQ(jwt->subject(), claims.subject);
}

TEST(SignerTest, InvalidUtf8InAClaimIsRefused) {
  JwtClaims claims = BaseClaims();
  claims.subject = "bad \xff";
  EXPECT_EQ(SignAccessToken(claims, Es256Key()).status().code(),
            absl::StatusCode::kInvalidArgument);
  claims = BaseClaims();
  claims.audiences = {"ok", "\xed\xa0\x80"};
  EXPECT_FALSE(SignAccessToken(claims, Es256Key()).ok());
}

TEST(SignerTest, MissingOrOutOfRangeTimesAreRefused) {
  JwtClaims claims = BaseClaims();
  claims.expires_at = absl::Time();
  EXPECT_EQ(SignAccessToken(claims, Es256Key()).status().code(),
            absl::StatusCode::kInvalidArgument);
  claims.expires_at = absl::InfiniteFuture();
  EXPECT_FALSE(SignAccessToken(claims, Es256Key()).ok());
  claims.expires_at = absl::FromUnixSeconds(253402300800);  // year 10000
  EXPECT_FALSE(SignAccessToken(claims, Es256Key()).ok());
  claims = BaseClaims();
  claims.not_before = absl::FromUnixSeconds(-1);
  EXPECT_FALSE(SignAccessToken(claims, Es256Key()).ok());
}

TEST(SignerTest, ScopesMustBeRfc6749Tokens) {
  for (const char* scope : {"", "a b", "quote\"", "back\\slash", "tab\t", "\xc3\xa9"}) {
    JwtClaims claims = BaseClaims();
    claims.scopes = {"read", scope};
    EXPECT_FALSE(SignAccessToken(claims, Es256Key()).ok()) << scope;
  }
  JwtClaims claims = BaseClaims();
  claims.scopes = {"tokens:read", "https://api.test/x!#$%&'()*+,-./:;<=>?@[]^_`{|}~"};
  EXPECT_TRUE(SignAccessToken(claims, Es256Key()).ok());
}

TEST(SignerTest, EmptyAudienceIsRefused) {
  JwtClaims claims = BaseClaims();
  claims.audiences = {""};
  EXPECT_FALSE(SignAccessToken(claims, Es256Key()).ok());
  claims.audiences = {"a", ""};
  EXPECT_FALSE(SignAccessToken(claims, Es256Key()).ok());
}

TEST(SignerTest, CustomClaimsAreAppendedVerbatim) {
  JwtClaims claims = BaseClaims();
  claims.custom_claims_json = R"( { "roles" : ["a","b"], "n":1.5, "o":{"k":null}, "s":"\u00e9" } )";
  absl::StatusOr<std::string> token = SignAccessToken(claims, Es256Key());
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_THAT(Segment(*token, 1), HasSubstr(R"("iat":1700000000,"roles":)"));
  EXPECT_TRUE(ValidateStrictJsonObject(Segment(*token, 1)).ok());
  EXPECT_THAT(Segment(*token, 1),
              HasSubstr(R"("roles":["a","b"],"n":1.5,"o":{"k":null},"s":"é"})"));
}

TEST(SignerTest, BadCustomClaimsAreRefused) {
  for (const char* custom : {"[]", "1", "\"s\"", "{", R"({"a":1,"a":2})", R"({"exp":9999999999})",
                             R"({"aud":"x"})", R"({"scope":"admin"})", R"({"sid":"x"})",
                             R"({"client_id":"x"})", "{\"a\":\"\xff\"}", R"({"a":"\udc00"})"}) {
    JwtClaims claims = BaseClaims();
    claims.custom_claims_json = custom;
    EXPECT_EQ(SignAccessToken(claims, Es256Key()).status().code(),
              absl::StatusCode::kInvalidArgument)
        << custom;
  }
}

TEST(SignerTest, CompactJwsUsesHeaderAndPayloadByteForByte) {
  absl::StatusOr<std::string> token =
      SignCompactJws("{ \"alg\" : \"ES256\" }", "payload", Es256Key());
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(Segment(*token, 0), "{ \"alg\" : \"ES256\" }");
  EXPECT_EQ(Segment(*token, 1), "payload");
  EXPECT_EQ(Segment(*token, 2).size(), 64u);
}

}  // namespace
}  // namespace tokend::jwt
