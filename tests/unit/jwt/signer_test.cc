#include "jwt/signer.h"

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "jwt/base64url.h"
#include "jwt/internal/base64url_append.h"
#include "jwt/internal/json_append.h"
#include "jwt/internal/strict_json.h"
#include "jwt/json.h"
#include "jwt/secret_data.h"
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

// ---- The hand-written JSON writer of the signer (jwt/internal/json_append.h) ----

// What the validating RapidJSON writer, which the signer used before, makes of `s`; nullopt
// when it refuses the string.
std::optional<std::string> RapidJsonString(std::string_view s) {
  rapidjson::StringBuffer buffer;
  internal::JsonWriter writer(buffer);
  if (!internal::WriteString(writer, s)) return std::nullopt;
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::optional<std::string> AppendedString(std::string_view s) {
  std::string out;
  if (!internal::AppendJsonString(s, &out)) return std::nullopt;
  return out;
}

TEST(SignerJsonEscapeTest, EscapesEveryControlCharacter) {
  EXPECT_EQ(AppendedString(std::string_view("\0", 1)), R"("\u0000")");
  EXPECT_EQ(AppendedString("\x01\x1f"), R"("\u0001\u001F")");
  EXPECT_EQ(AppendedString("\b\t\n\f\r"), R"("\b\t\n\f\r")");
  EXPECT_EQ(AppendedString("\x0b\x1b"), R"("\u000B\u001B")");
  for (int c = 0; c < 0x20; ++c) {
    const std::string s(1, static_cast<char>(c));
    std::optional<std::string> out = AppendedString(s);
    ASSERT_TRUE(out.has_value()) << c;
    EXPECT_EQ(out->front(), '"');
    EXPECT_EQ((*out)[1], '\\') << c;
    EXPECT_EQ(out, RapidJsonString(s)) << c;
  }
  // DEL is not a control character for JSON (RFC 8259 §7) and stays as is.
  EXPECT_EQ(AppendedString("\x7f"), "\"\x7f\"");
}

TEST(SignerJsonEscapeTest, EscapesQuotesAndBackslashesOnly) {
  EXPECT_EQ(AppendedString(R"(a"b\c)"), R"("a\"b\\c")");
  EXPECT_EQ(AppendedString(R"(""\\)"), R"("\"\"\\\\")");
  EXPECT_EQ(AppendedString("/<>&'"), "\"/<>&'\"");
  EXPECT_EQ(AppendedString(""), "\"\"");
  // Long enough for the eight-byte scan, with the byte to escape in every position.
  for (size_t i = 0; i < 20; ++i) {
    std::string s(20, 'x');
    s[i] = '"';
    EXPECT_EQ(AppendedString(s), RapidJsonString(s)) << i;
    s[i] = '\\';
    EXPECT_EQ(AppendedString(s), RapidJsonString(s)) << i;
    s[i] = '\n';
    EXPECT_EQ(AppendedString(s), RapidJsonString(s)) << i;
  }
}

TEST(SignerJsonEscapeTest, PassesNonAsciiUtf8ThroughUnchanged) {
  const std::string text = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf";
  EXPECT_EQ(AppendedString(text), "\"" + text + "\"");
  EXPECT_EQ(AppendedString("\xc3\xa9\"\n"), "\"\xc3\xa9\\\"\\n\"");
}

TEST(SignerJsonEscapeTest, RefusesInvalidUtf8AndLeavesTheOutputAlone) {
  for (std::string_view bad : {std::string_view("\xff"), std::string_view("a\xc3"),
                               std::string_view("\xc0\xaf"),          // overlong '/'
                               std::string_view("\xed\xa0\x80"),      // surrogate U+D800
                               std::string_view("\xf4\x90\x80\x80"),  // above U+10FFFF
                               std::string_view("12345678\x80"),      // after a clean word
                               std::string_view("\x80"
                                                "2345678")}) {
    std::string out = "prefix";
    EXPECT_FALSE(internal::AppendJsonString(bad, &out)) << absl::CEscape(std::string(bad));
    EXPECT_EQ(out, "prefix");
    EXPECT_EQ(RapidJsonString(bad), std::nullopt) << absl::CEscape(std::string(bad));
  }
}

TEST(SignerJsonEscapeTest, MatchesTheValidatingRapidJsonWriterByteForByte) {
  // Deterministic pseudo-random strings over a skewed alphabet (ASCII, escapes, UTF-8 lead and
  // continuation bytes), of every length up to 40 so the eight-byte scan meets every tail.
  const std::string alphabet =
      std::string("aZ09 /~\"\\\b\n\x01\x1f\x7f", 15) + std::string(1, '\0') +
      "\xc2\xc3\xdf\xe0\xe2\xed\xef\xf0\xf4\xf5\x80\x8f\x90\x9f\xa0\xbf\xc0\xff";
  uint32_t state = 12345;
  auto next = [&state] {
    state = state * 1103515245u + 12345u;
    return state >> 8;
  };
  int accepted = 0;
  int refused = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string s;
    const size_t length = next() % 41;
    const bool ascii_only = round % 2 == 0;
    for (size_t i = 0; i < length; ++i) {
      s.push_back(alphabet[next() % (ascii_only ? 16 : alphabet.size())]);
    }
    const std::optional<std::string> expected = RapidJsonString(s);
    ASSERT_EQ(AppendedString(s), expected) << absl::CEscape(std::string(s));
    (expected.has_value() ? accepted : refused) += 1;
  }
  // Both outcomes were exercised.
  EXPECT_GT(accepted, 5000);
  EXPECT_GT(refused, 1000);
}

TEST(SignerJsonEscapeTest, ValuesMatchTheRapidJsonWriter) {
  internal::StrictJsonDocument document;
  ASSERT_TRUE(document
                  .Parse(R"({"s":"a\"\u0001\u00e9","n":[0,-1,1.5,-0.25,1e300,2147483648,)"
                         R"(-9223372036854775808,18446744073709551615,1E2,-0,0.1],)"
                         R"("o":{"t":true,"f":false,"z":null,"e":{},"a":[]}})",
                         JsonLimits{})
                  .ok());
  rapidjson::StringBuffer buffer;
  internal::JsonWriter writer(buffer);
  ASSERT_TRUE(document.root().Accept(writer));
  std::string out;
  ASSERT_TRUE(internal::AppendJsonValue(document.root(), &out));
  EXPECT_EQ(out, std::string(buffer.GetString(), buffer.GetSize()));
  EXPECT_THAT(out, HasSubstr(R"("n":[0,-1,1.5,-0.25,1e300,2147483648,)"));
}

TEST(SignerJsonEscapeTest, NonFiniteNumbersAreRefused) {
  rapidjson::Value nan(std::numeric_limits<double>::quiet_NaN());
  rapidjson::Value inf(std::numeric_limits<double>::infinity());
  std::string out;
  EXPECT_FALSE(internal::AppendJsonValue(nan, &out));
  EXPECT_FALSE(internal::AppendJsonValue(inf, &out));
}

TEST(SignerJsonEscapeTest, EscapedClaimsRoundTripThroughTheStrictParser) {
  JwtClaims claims = BaseClaims();
  claims.subject = std::string("\0\x01\x1f\"\\/ \xc3\xa9", 9);
  claims.jwt_id = "j\"1";
  claims.custom_claims_json = R"({"k\"ey":"v\\al\u0000ue","\u00e9":"\ud83d\ude00"})";
  absl::StatusOr<std::string> token = SignAccessToken(claims, Es256Key());
  ASSERT_TRUE(token.ok()) << token.status();
  const std::string payload = Segment(*token, 1);
  EXPECT_THAT(payload, HasSubstr(R"("sub":"\u0000\u0001\u001F\"\\/ )"
                                 "\xc3\xa9\""));
  EXPECT_THAT(payload, HasSubstr(R"("jti":"j\"1")"));
  EXPECT_THAT(payload, HasSubstr(R"("k\"ey":"v\\al\u0000ue",")"
                                 "\xc3\xa9\":\"\xf0\x9f\x98\x80\"}"));
  internal::StrictJsonDocument document;
  ASSERT_TRUE(document.Parse(payload, JsonLimits{}).ok());
  EXPECT_EQ(internal::StringOf(*internal::FindMember(document.root(), "sub")), claims.subject);
}

TEST(SignerJsonEscapeTest, InvalidUtf8AnywhereIsRefused) {
  for (int field = 0; field < 5; ++field) {
    JwtClaims claims = BaseClaims();
    const std::string bad = "ok\xc3(";
    switch (field) {
      case 0:
        claims.issuer = bad;
        break;
      case 1:
        claims.jwt_id = bad;
        break;
      case 2:
        claims.client_id = bad;
        break;
      case 3:
        claims.session_id = bad;
        break;
      case 4:
        claims.audiences = {"a", bad};
        break;
    }
    EXPECT_EQ(SignAccessToken(claims, Es256Key()).status().code(),
              absl::StatusCode::kInvalidArgument)
        << field;
  }
}

// ---- The cached header and the in-place base64url ----

TEST(SignerEncodingTest, AppendBase64UrlAppendsWhatBase64UrlEncodeReturns) {
  std::string all_bytes;
  for (int c = 0; c < 256; ++c) all_bytes.push_back(static_cast<char>(c));
  for (size_t n = 0; n <= all_bytes.size(); n += 7) {
    std::string out = "head.";
    internal::AppendBase64Url(std::string_view(all_bytes).substr(0, n), &out);
    EXPECT_EQ(out, "head." + Base64UrlEncode(std::string_view(all_bytes).substr(0, n)));
  }
}

TEST(SignerEncodingTest, HeaderFollowsTheKeyWhenKeysShareAKidOrOutnumberTheCache) {
  // Six keys, two of them with the same kid and different algorithms: more than the per-thread
  // cache holds, signed with in turn, so entries are both hit and evicted.
  std::vector<SigningKey> keys;
  keys.push_back(*SigningKey::FromHmacSecret(SecretData(std::string(32, 'a')), "shared"));
  keys.push_back(*SigningKey::FromPrivatePkcs8Der(Algorithm::kES256,
                                                  Es256Key().ExportPrivatePkcs8Der(), "shared"));
  for (int i = 0; i < 4; ++i) {
    keys.push_back(*SigningKey::FromHmacSecret(SecretData(std::string(32, 'b')),
                                               absl::StrCat("kid-", i, "-\xc3\xa9\"")));
  }
  for (int round = 0; round < 3; ++round) {
    for (const SigningKey& key : keys) {
      absl::StatusOr<std::string> token = SignAccessToken(BaseClaims(), key);
      ASSERT_TRUE(token.ok()) << token.status();
      EXPECT_EQ(Segment(*token, 0),
                absl::StrCat(R"({"alg":")", std::string(AlgorithmName(key.algorithm())),
                             R"(","kid":)", *AppendedString(key.kid()), R"(,"typ":"at+jwt"})"));
      EXPECT_TRUE(key.verification_key().VerifySignature(token->substr(0, token->rfind('.')),
                                                         Segment(*token, 2)));
    }
  }
}

TEST(SignerEncodingTest, AKidThatIsNotUtf8IsRefusedEveryTime) {
  absl::StatusOr<SigningKey> key =
      SigningKey::FromHmacSecret(SecretData(std::string(32, 'c')), "bad\xff");
  ASSERT_TRUE(key.ok());
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(SignAccessToken(BaseClaims(), *key).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
}

TEST(SignerEncodingTest, ThreadsSigningAtOnceEachGetTheirKeysHeader) {
  std::vector<SigningKey> keys;
  for (int i = 0; i < 6; ++i) {
    keys.push_back(*SigningKey::FromHmacSecret(SecretData(std::string(32, 'd')),
                                               absl::StrCat("thread-kid-", i)));
  }
  std::vector<int> failures(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&keys, &failures, t] {
      for (int i = 0; i < 300; ++i) {
        const SigningKey& key = keys[static_cast<size_t>(i * (t + 1)) % keys.size()];
        absl::StatusOr<std::string> token = SignAccessToken(BaseClaims(), key);
        if (!token.ok() ||
            Segment(*token, 0) !=
                absl::StrCat(R"({"alg":"HS256","kid":")", key.kid(), R"(","typ":"at+jwt"})") ||
            !key.verification_key().VerifySignature(token->substr(0, token->rfind('.')),
                                                    Segment(*token, 2))) {
          ++failures[static_cast<size_t>(t)];
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(failures[static_cast<size_t>(t)], 0) << t;
}

}  // namespace
}  // namespace tokend::jwt
