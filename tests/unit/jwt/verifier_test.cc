#include "jwt/verifier.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "jwt/base64url.h"
#include "jwt/signer.h"
#include "tests/unit/jwt/jwt_test_util.h"

namespace tokend::jwt {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Optional;

constexpr char kIssuer[] = "https://issuer.test";
constexpr Algorithm kAll[] = {Algorithm::kEdDSA, Algorithm::kES256, Algorithm::kRS256,
                              Algorithm::kHS256};

// Keys are generated once for the suite (RSA generation is slow).
const std::vector<SigningKey>& Keys() {
  static const auto* keys = [] {
    auto* v = new std::vector<SigningKey>();
    for (Algorithm a : kAll) v->push_back(*SigningKey::Generate(a));
    return v;
  }();
  return *keys;
}
const SigningKey& KeyFor(Algorithm alg) { return Keys()[static_cast<size_t>(alg)]; }

// The P-256 group order n, big-endian.
const std::string& P256Order() {
  static const std::string* n = new std::string(
      testing::HexDecode("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551"));
  return *n;
}

class VerifierTest : public ::testing::Test {
 protected:
  VerifierTest() {
    for (const SigningKey& key : Keys()) EXPECT_TRUE(keys_.Add(key.verification_key()).ok());
    JwtVerifier::Builder builder;
    builder.ExpectIssuer(kIssuer);
    for (Algorithm alg : kAll) builder.AllowAlgorithm(alg);
    verifier_.emplace(*builder.Build());
  }

  // Seconds since the epoch, relative to the fixed test "now".
  int64_t At(int64_t offset) const { return absl::ToUnixSeconds(now_) + offset; }

  std::string Header(const SigningKey& key, const std::string& typ = "at+jwt") const {
    return absl::StrCat(R"({"alg":")", std::string(AlgorithmName(key.algorithm())), R"(","kid":")",
                        key.kid(), R"(","typ":")", typ, R"("})");
  }

  // A payload that passes every check; `extra` members are appended, the comma-separated names
  // in `drop` removed.
  std::string Payload(const std::string& extra = "", const std::string& drop = "") const {
    std::vector<std::pair<std::string, std::string>> members = {
        {"iss", absl::StrCat("\"", kIssuer, "\"")},
        {"sub", "\"alice\""},
        {"aud", "\"api\""},
        {"exp", absl::StrCat(At(300))},
        {"iat", absl::StrCat(At(0))},
        {"jti", "\"jti-1\""},
        {"client_id", "\"client-1\""},
        {"scope", "\"read write\""},
    };
    std::string out = "{";
    for (const auto& [name, value] : members) {
      if (absl::StrContains(absl::StrCat(",", drop, ","), absl::StrCat(",", name, ","))) continue;
      if (out.size() > 1) out += ",";
      absl::StrAppend(&out, "\"", name, "\":", value);
    }
    if (!extra.empty()) absl::StrAppend(&out, out.size() > 1 ? "," : "", extra);
    return out + "}";
  }

  std::string Mint(const std::string& header, const std::string& payload,
                   Algorithm alg = Algorithm::kES256) const {
    absl::StatusOr<std::string> token = SignCompactJws(header, payload, KeyFor(alg));
    EXPECT_TRUE(token.ok()) << token.status();
    return token.value_or("");
  }

  // A token with the default header for `alg` and the given payload.
  std::string MintPayload(const std::string& payload, Algorithm alg = Algorithm::kES256) const {
    return Mint(Header(KeyFor(alg)), payload, alg);
  }

  absl::StatusOr<VerifiedJwt> Verify(
      const std::string& token,
      const Expectations& expectations = Expectations::ForAudience("api")) const {
    return verifier_->VerifyAndDecode(token, keys_, expectations, now_);
  }

  std::optional<VerifyError> ErrorOf(
      const std::string& token,
      const Expectations& expectations = Expectations::ForAudience("api")) const {
    absl::StatusOr<VerifiedJwt> result = Verify(token, expectations);
    if (result.ok()) return std::nullopt;
    EXPECT_EQ(result.status().code(), absl::StatusCode::kUnauthenticated) << result.status();
    std::optional<VerifyError> error = GetVerifyError(result.status());
    EXPECT_TRUE(error.has_value()) << result.status();
    return error;
  }

  const absl::Time now_ = absl::FromUnixSeconds(1700000000);
  KeySet keys_;
  std::optional<JwtVerifier> verifier_;
};

// Replaces segment `index` (0..2) of a compact token.
std::string WithSegment(const std::string& token, int index, const std::string& segment) {
  std::vector<std::string> parts = absl::StrSplit(token, '.');
  parts[static_cast<size_t>(index)] = std::string(segment);
  return absl::StrJoin(parts, ".");
}

std::string SegmentOf(const std::string& token, int index) {
  std::vector<std::string> parts = absl::StrSplit(token, '.');
  return parts[static_cast<size_t>(index)];
}

// ---- the happy path ----

TEST_F(VerifierTest, SignedAccessTokensVerifyForAllFourAlgorithms) {
  for (Algorithm alg : kAll) {
    JwtClaims claims;
    claims.issuer = kIssuer;
    claims.subject = "alice";
    claims.audiences = {"api", "other"};
    claims.issued_at = now_;
    claims.expires_at = now_ + absl::Minutes(5);
    claims.not_before = now_ - absl::Seconds(1);
    claims.jwt_id = "jti-42";
    claims.client_id = "client-7";
    claims.scopes = {"read", "write"};
    claims.session_id = "family-1";
    claims.custom_claims_json = R"({"tenant":"t1"})";
    absl::StatusOr<std::string> token = SignAccessToken(claims, KeyFor(alg));
    ASSERT_TRUE(token.ok()) << token.status();
    absl::StatusOr<VerifiedJwt> jwt = Verify(*token, Expectations::ForAudience("api", {"write"}));
    ASSERT_TRUE(jwt.ok()) << AlgorithmName(alg) << ": " << jwt.status();
    EXPECT_EQ(jwt->algorithm(), alg);
    EXPECT_EQ(jwt->kid(), KeyFor(alg).kid());
    EXPECT_EQ(jwt->issuer(), kIssuer);
    EXPECT_EQ(jwt->subject(), "alice");
    EXPECT_THAT(jwt->audiences(), ::testing::ElementsAre("api", "other"));
    EXPECT_EQ(jwt->issued_at(), now_);
    EXPECT_EQ(jwt->expires_at(), now_ + absl::Minutes(5));
    EXPECT_THAT(jwt->not_before(), Optional(now_ - absl::Seconds(1)));
    EXPECT_EQ(jwt->jwt_id(), "jti-42");
    EXPECT_EQ(jwt->client_id(), "client-7");
    EXPECT_THAT(jwt->scopes(), ::testing::ElementsAre("read", "write"));
    EXPECT_EQ(jwt->session_id(), "family-1");
    EXPECT_THAT(jwt->payload_json(), HasSubstr(R"("tenant":"t1")"));
  }
}

TEST_F(VerifierTest, AbsentOptionalClaimsDecodeAsEmpty) {
  absl::StatusOr<VerifiedJwt> jwt = Verify(
      MintPayload(absl::StrCat(R"({"iss":")", kIssuer, R"(","aud":["api"],"exp":)", At(60), "}")));
  ASSERT_TRUE(jwt.ok()) << jwt.status();
  EXPECT_EQ(jwt->issued_at(), absl::InfinitePast());
  EXPECT_FALSE(jwt->not_before().has_value());
  EXPECT_TRUE(jwt->subject().empty());
  EXPECT_TRUE(jwt->scopes().empty());
  EXPECT_TRUE(jwt->session_id().empty());
}

TEST_F(VerifierTest, ApplicationPrefixedAndUppercaseTypAreAccepted) {
  for (const char* typ : {"at+jwt", "application/at+jwt", "AT+JWT", "Application/At+Jwt"}) {
    EXPECT_TRUE(Verify(Mint(Header(KeyFor(Algorithm::kES256), typ), Payload())).ok()) << typ;
  }
}

TEST_F(VerifierTest, FractionalNumericDatesAreAccepted) {
  std::string payload = Payload(absl::StrCat(R"("exp":)", At(100), ".5"), "exp");
  absl::StatusOr<VerifiedJwt> jwt = Verify(MintPayload(payload));
  ASSERT_TRUE(jwt.ok()) << jwt.status();
  EXPECT_EQ(jwt->expires_at(), absl::FromUnixMillis(At(100) * 1000 + 500));
}

// ---- TOO_LARGE ----

TEST_F(VerifierTest, OversizedTokenIsTooLarge) {
  std::string token =
      MintPayload(Payload(absl::StrCat(R"("pad":")", std::string(7000, 'x'), "\"")));
  ASSERT_GT(token.size(), 8192u);
  EXPECT_EQ(ErrorOf(token), VerifyError::kTooLarge);
  EXPECT_EQ(ErrorOf(std::string(100000, 'a')), VerifyError::kTooLarge);
}

TEST_F(VerifierTest, MaxTokenSizeIsConfigurable) {
  std::string token = MintPayload(Payload());
  absl::StatusOr<JwtVerifier> small = JwtVerifier::Builder()
                                          .ExpectIssuer(kIssuer)
                                          .AllowAlgorithm(Algorithm::kES256)
                                          .SetMaxTokenSize(token.size() - 1)
                                          .Build();
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(
      GetVerifyError(
          small->VerifyAndDecode(token, keys_, Expectations::ForAudience("api"), now_).status()),
      VerifyError::kTooLarge);
}

// ---- MALFORMED ----

TEST_F(VerifierTest, WrongSegmentCountIsMalformed) {
  std::string token = MintPayload(Payload());
  EXPECT_EQ(ErrorOf(""), VerifyError::kMalformed);
  EXPECT_EQ(ErrorOf("abc"), VerifyError::kMalformed);
  EXPECT_EQ(ErrorOf(token.substr(0, token.rfind('.'))), VerifyError::kMalformed);
  EXPECT_EQ(ErrorOf(token + "."), VerifyError::kMalformed);
  EXPECT_EQ(ErrorOf(token + ".AAAA"), VerifyError::kMalformed);
  EXPECT_EQ(ErrorOf(".."), VerifyError::kMalformed);
  EXPECT_EQ(ErrorOf(WithSegment(token, 1, "")), VerifyError::kMalformed);
  EXPECT_EQ(ErrorOf(WithSegment(token, 0, "")), VerifyError::kMalformed);
}

TEST_F(VerifierTest, NonCanonicalBase64UrlIsMalformed) {
  std::string token = MintPayload(Payload());
  for (int segment = 0; segment < 3; ++segment) {
    const std::string s = SegmentOf(token, segment);
    EXPECT_EQ(ErrorOf(WithSegment(token, segment, s + "=")), VerifyError::kMalformed) << segment;
    EXPECT_EQ(ErrorOf(WithSegment(token, segment, s + "==")), VerifyError::kMalformed);
    EXPECT_EQ(ErrorOf(WithSegment(token, segment, " " + s)), VerifyError::kMalformed);
    EXPECT_EQ(ErrorOf(WithSegment(token, segment, s + "\n")), VerifyError::kMalformed);
    std::string plus = s, slash = s;
    plus[1] = '+';
    slash[1] = '/';
    EXPECT_EQ(ErrorOf(WithSegment(token, segment, plus)), VerifyError::kMalformed);
    EXPECT_EQ(ErrorOf(WithSegment(token, segment, slash)), VerifyError::kMalformed);
  }
  // Non-zero trailing bits: the 64-byte ES256 signature is 86 chars, leaving 4 unused bits.
  std::string sig = SegmentOf(token, 2);
  ASSERT_EQ(sig.size() % 4, 2u);
  std::string decoded = *Base64UrlDecode(sig);
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string tweaked = sig;
  tweaked.back() = alphabet[(alphabet.find(sig.back()) | 1)];
  ASSERT_NE(tweaked, sig);
  EXPECT_EQ(ErrorOf(WithSegment(token, 2, tweaked)), VerifyError::kMalformed);
}

TEST_F(VerifierTest, HeaderThatIsNotAStrictJsonObjectIsMalformed) {
  const std::string payload = Payload();
  const SigningKey& key = KeyFor(Algorithm::kES256);
  const std::string kid = key.kid();
  const std::vector<std::string> headers = {
      "not json", "[]", "\"ES256\"",
      absl::StrCat(R"({"alg":"ES256","kid":")", kid, R"(","typ":"at+jwt",})"),
      // Duplicate members: a second "alg" or "kid" must not be silently chosen.
      absl::StrCat(R"({"alg":"ES256","alg":"ES256","kid":")", kid, R"(","typ":"at+jwt"})"),
      absl::StrCat(R"({"alg":"ES256","kid":")", kid, R"(","kid":")", kid, R"(","typ":"at+jwt"})"),
      absl::StrCat(R"({"alg":"ES256","kid":")", kid, R"(","typ":"at+jwt","x":"\xff"})"),
      absl::StrCat(R"({"alg":"ES256","kid":")", kid, R"(","typ":"at+jwt","x":"\udc00"})"),
      absl::StrCat(R"({"alg":"ES256","kid":")", kid, R"(","typ":"at+jwt","x":)",
                   std::string(40, '['), std::string(40, ']'), "}"),
      absl::StrCat(R"({"kid":")", kid, R"(","typ":"at+jwt"})"),                  // no alg
      absl::StrCat(R"({"alg":["ES256"],"kid":")", kid, R"(","typ":"at+jwt"})"),  // alg not a string
      R"({"alg":"ES256","kid":42,"typ":"at+jwt"})",                              // kid not a string
  };
  for (const std::string& header : headers) {
    EXPECT_EQ(ErrorOf(Mint(header, payload)), VerifyError::kMalformed) << header;
  }
}

TEST_F(VerifierTest, CritHeaderIsRejected) {
  const SigningKey& key = KeyFor(Algorithm::kEdDSA);
  std::string header = absl::StrCat(R"({"alg":"EdDSA","kid":")", key.kid(),
                                    R"(","typ":"at+jwt","crit":["exp"],"exp":1})");
  EXPECT_EQ(ErrorOf(Mint(header, Payload(), Algorithm::kEdDSA)), VerifyError::kMalformed);
  header = absl::StrCat(R"({"alg":"EdDSA","kid":")", key.kid(),
                        R"(","typ":"at+jwt","b64":false,"crit":["b64"]})");
  EXPECT_EQ(ErrorOf(Mint(header, Payload(), Algorithm::kEdDSA)), VerifyError::kMalformed);
}

TEST_F(VerifierTest, HeaderMembersTokendNeverWritesAreMalformed) {
  const SigningKey& key = KeyFor(Algorithm::kEdDSA);
  // Signed by the legitimate key: only {alg, kid, typ} is a header tokend wrote.
  const std::vector<std::string> extras = {
      R"("b64":false)",       R"("cty":"JWT")",     R"("zip":"DEF")", R"("x5t":"AAAA")",
      R"("x5t#S256":"AAAA")", R"("enc":"A256GCM")", R"("foo":1)",
  };
  for (const std::string& extra : extras) {
    std::string header =
        absl::StrCat(R"({"alg":"EdDSA","kid":")", key.kid(), R"(","typ":"at+jwt",)", extra, "}");
    EXPECT_EQ(ErrorOf(Mint(header, Payload(), Algorithm::kEdDSA)), VerifyError::kMalformed)
        << extra;
  }
  // The same token without the extra member verifies: the refusal is the member's doing.
  std::string plain = absl::StrCat(R"({"alg":"EdDSA","kid":")", key.kid(), R"(","typ":"at+jwt"})");
  EXPECT_EQ(ErrorOf(Mint(plain, Payload(), Algorithm::kEdDSA)), std::nullopt);
}

TEST_F(VerifierTest, EmbeddedOrReferencedKeysAreRejected) {
  const SigningKey& key = KeyFor(Algorithm::kES256);
  const std::string jwk = *key.verification_key().PublicJwkJson();
  const std::vector<std::string> extras = {
      absl::StrCat(R"("jwk":)", jwk),
      R"("jku":"https://attacker.test/jwks.json")",
      R"("x5u":"https://attacker.test/cert.pem")",
      R"("x5c":["MIIBszCCAVmgAwIBAgIU"])",
  };
  for (const std::string& extra : extras) {
    std::string header =
        absl::StrCat(R"({"alg":"ES256","kid":")", key.kid(), R"(","typ":"at+jwt",)", extra, "}");
    // Signed by the legitimate key: even a valid signature does not make these acceptable.
    EXPECT_EQ(ErrorOf(Mint(header, Payload())), VerifyError::kMalformed) << extra;
  }
}

// ---- ALGORITHM_NOT_ALLOWED ----

TEST_F(VerifierTest, AlgNoneIsNeverAccepted) {
  const std::string kid = KeyFor(Algorithm::kHS256).kid();
  for (const char* alg : {"none", "None", "NONE", "nOnE"}) {
    std::string header =
        absl::StrCat(R"({"alg":")", alg, R"(","kid":")", kid, R"(","typ":"at+jwt"})");
    std::string unsigned_token =
        absl::StrCat(Base64UrlEncode(header), ".", Base64UrlEncode(Payload()), ".");
    EXPECT_THAT(ErrorOf(unsigned_token), AnyOf(Optional(VerifyError::kMalformed),
                                               Optional(VerifyError::kAlgorithmNotAllowed)))
        << alg;
    // With a signature (an HMAC by a known key), "none" still selects nothing.
    std::string signed_token = Mint(header, Payload(), Algorithm::kHS256);
    EXPECT_EQ(ErrorOf(signed_token), VerifyError::kAlgorithmNotAllowed) << alg;
  }
}

TEST_F(VerifierTest, UnknownAlgorithmNamesAreNotAllowed) {
  const std::string kid = KeyFor(Algorithm::kRS256).kid();
  for (const char* alg : {"RS384", "PS256", "rs256", "RS256 ", "HS512", "ES256K", ""}) {
    std::string header =
        absl::StrCat(R"({"alg":")", alg, R"(","kid":")", kid, R"(","typ":"at+jwt"})");
    EXPECT_EQ(ErrorOf(Mint(header, Payload(), Algorithm::kRS256)),
              VerifyError::kAlgorithmNotAllowed)
        << alg;
  }
}

TEST_F(VerifierTest, AlgorithmOutsideTheAllowListIsRefused) {
  absl::StatusOr<JwtVerifier> eddsa_only =
      JwtVerifier::Builder().ExpectIssuer(kIssuer).AllowAlgorithm(Algorithm::kEdDSA).Build();
  ASSERT_TRUE(eddsa_only.ok());
  std::string token = MintPayload(Payload(), Algorithm::kES256);
  EXPECT_EQ(GetVerifyError(
                eddsa_only->VerifyAndDecode(token, keys_, Expectations::ForAudience("api"), now_)
                    .status()),
            VerifyError::kAlgorithmNotAllowed);
}

TEST_F(VerifierTest, HeaderAlgMustEqualTheKeysAlg) {
  // An EdDSA key's kid with an ES256 header and an ES256 signature by another key.
  std::string header = absl::StrCat(R"({"alg":"ES256","kid":")", KeyFor(Algorithm::kEdDSA).kid(),
                                    R"(","typ":"at+jwt"})");
  EXPECT_EQ(ErrorOf(Mint(header, Payload(), Algorithm::kES256)), VerifyError::kAlgorithmNotAllowed);
}

TEST_F(VerifierTest, PublicKeyBytesUsedAsAnHmacSecretNeverVerify) {
  for (Algorithm alg : {Algorithm::kEdDSA, Algorithm::kES256, Algorithm::kRS256}) {
    const VerificationKey& victim = KeyFor(alg).verification_key();
    for (const std::string& secret : {*victim.PublicPem(), *victim.PublicJwkJson(),
                                      std::string(victim.Thumbprint() + victim.Thumbprint())}) {
      absl::StatusOr<SigningKey> forged =
          SigningKey::FromHmacSecret(SecretData(secret), victim.kid());
      ASSERT_TRUE(forged.ok());
      std::string header =
          absl::StrCat(R"({"alg":"HS256","kid":")", victim.kid(), R"(","typ":"at+jwt"})");
      absl::StatusOr<std::string> token = SignCompactJws(header, Payload(), *forged);
      ASSERT_TRUE(token.ok());
      EXPECT_THAT(ErrorOf(*token), AnyOf(Optional(VerifyError::kAlgorithmNotAllowed),
                                         Optional(VerifyError::kBadSignature)));
      // The asymmetric key itself never accepts the MAC as a signature.
      std::string input = token->substr(0, token->rfind('.'));
      EXPECT_FALSE(victim.VerifySignature(input, *forged->Sign(input)));
      // Nor does a token that claims the victim's own algorithm with the MAC as signature.
      std::string own = absl::StrCat(R"({"alg":")", std::string(AlgorithmName(alg)), R"(","kid":")",
                                     victim.kid(), R"(","typ":"at+jwt"})");
      std::string own_input = Base64UrlEncode(own) + "." + Base64UrlEncode(Payload());
      EXPECT_EQ(ErrorOf(own_input + "." + Base64UrlEncode(*forged->Sign(own_input))),
                VerifyError::kBadSignature);
    }
  }
}

// ---- UNKNOWN_KEY ----

TEST_F(VerifierTest, MissingOrUnknownKidIsUnknownKey) {
  EXPECT_EQ(ErrorOf(Mint(R"({"alg":"ES256","typ":"at+jwt"})", Payload())),
            VerifyError::kUnknownKey);
  EXPECT_EQ(ErrorOf(Mint(R"({"alg":"ES256","kid":"nope","typ":"at+jwt"})", Payload())),
            VerifyError::kUnknownKey);
  EXPECT_EQ(ErrorOf(Mint(R"({"alg":"ES256","kid":"","typ":"at+jwt"})", Payload())),
            VerifyError::kUnknownKey);
}

TEST_F(VerifierTest, KeyNotInTheSetIsUnknownEvenIfValid) {
  absl::StatusOr<SigningKey> stranger = SigningKey::Generate(Algorithm::kEdDSA);
  ASSERT_TRUE(stranger.ok());
  absl::StatusOr<std::string> token = SignCompactJws(Header(*stranger), Payload(), *stranger);
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(ErrorOf(*token), VerifyError::kUnknownKey);
}

// ---- BAD_SIGNATURE ----

TEST_F(VerifierTest, TamperedTokensHaveBadSignatures) {
  for (Algorithm alg : kAll) {
    std::string token = MintPayload(Payload(), alg);
    // Another payload under the original signature.
    std::string other = Base64UrlEncode(Payload(R"("admin":true)"));
    EXPECT_EQ(ErrorOf(WithSegment(token, 1, other)), VerifyError::kBadSignature);
    // Each signature byte matters.
    std::string sig = *Base64UrlDecode(SegmentOf(token, 2));
    for (size_t i : {size_t{0}, sig.size() / 2, sig.size() - 1}) {
      std::string bad = sig;
      bad[i] ^= 0x80;
      EXPECT_EQ(ErrorOf(WithSegment(token, 2, Base64UrlEncode(bad))), VerifyError::kBadSignature)
          << AlgorithmName(alg) << " byte " << i;
    }
    // Truncated and extended signatures.
    EXPECT_EQ(ErrorOf(WithSegment(token, 2, Base64UrlEncode(sig.substr(1)))),
              VerifyError::kBadSignature);
    EXPECT_EQ(ErrorOf(WithSegment(token, 2, Base64UrlEncode(sig + '\0'))),
              VerifyError::kBadSignature);
  }
}

TEST_F(VerifierTest, SignatureByAnotherKeyUnderTheSameKidIsBad) {
  absl::StatusOr<SigningKey> other = SigningKey::Generate(Algorithm::kES256);
  ASSERT_TRUE(other.ok());
  absl::StatusOr<std::string> token =
      SignCompactJws(Header(KeyFor(Algorithm::kES256)), Payload(), *other);
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(ErrorOf(*token), VerifyError::kBadSignature);
}

TEST_F(VerifierTest, DerEncodedEs256SignatureIsRejected) {
  std::string token = MintPayload(Payload());
  std::string raw = *Base64UrlDecode(SegmentOf(token, 2));
  // DER SEQUENCE of the same r and s (what OpenSSL itself would produce).
  auto integer = [](std::string v) {
    while (v.size() > 1 && v[0] == '\0') v.erase(0, 1);
    if (static_cast<unsigned char>(v[0]) & 0x80) v.insert(0, 1, '\0');
    return std::string("\x02", 1) + static_cast<char>(v.size()) + v;
  };
  std::string body = integer(raw.substr(0, 32)) + integer(raw.substr(32));
  std::string der = std::string("\x30", 1) + static_cast<char>(body.size()) + body;
  EXPECT_EQ(ErrorOf(WithSegment(token, 2, Base64UrlEncode(der))), VerifyError::kBadSignature);
  // The raw signature is fine.
  EXPECT_TRUE(Verify(token).ok());
}

TEST_F(VerifierTest, ZeroAndOutOfRangeEcdsaScalarsAreRejected) {
  std::string token = MintPayload(Payload());
  std::string raw = *Base64UrlDecode(SegmentOf(token, 2));
  const std::string zero(32, '\0');
  const std::string& n = P256Order();
  std::string n_plus_r = n;  // r + n would be the same residue; any value >= n is refused
  const std::string ff(32, '\xff');
  const std::vector<std::string> bad = {
      zero + zero,           zero + raw.substr(32), raw.substr(0, 32) + zero, n + raw.substr(32),
      raw.substr(0, 32) + n, ff + raw.substr(32),   raw.substr(0, 32) + ff,   n + n,
  };
  for (const std::string& sig : bad) {
    ASSERT_EQ(sig.size(), 64u);
    EXPECT_EQ(ErrorOf(WithSegment(token, 2, Base64UrlEncode(sig))), VerifyError::kBadSignature);
    EXPECT_FALSE(KeyFor(Algorithm::kES256)
                     .verification_key()
                     .VerifySignature(token.substr(0, token.rfind('.')), sig));
  }
}

TEST_F(VerifierTest, HighSEcdsaSignatureIsStillValidEcdsa) {
  // (r, n - s) is the other valid ECDSA signature of the same message; ES256 does not forbid
  // it, which is why the denylist is keyed on jti, never on the token text.
  std::string token = MintPayload(Payload());
  std::string raw = *Base64UrlDecode(SegmentOf(token, 2));
  const std::string& n = P256Order();
  std::string s = raw.substr(32);
  std::string neg(32, '\0');
  int borrow = 0;
  for (int i = 31; i >= 0; --i) {
    int d = static_cast<unsigned char>(n[i]) - static_cast<unsigned char>(s[i]) - borrow;
    borrow = d < 0;
    neg[i] = static_cast<char>(d < 0 ? d + 256 : d);
  }
  EXPECT_TRUE(Verify(WithSegment(token, 2, Base64UrlEncode(raw.substr(0, 32) + neg))).ok());
}

// ---- WRONG_TYPE ----

TEST_F(VerifierTest, MissingOrWrongTypIsWrongType) {
  const SigningKey& key = KeyFor(Algorithm::kES256);
  EXPECT_EQ(ErrorOf(Mint(absl::StrCat(R"({"alg":"ES256","kid":")", key.kid(), R"("})"), Payload())),
            VerifyError::kWrongType);
  for (const char* typ : {"JWT", "jwt", "at+jwt ", "application/jwt", "applicationat+jwt",
                          "application/application/at+jwt", "at+jwt\\u0000", ""}) {
    EXPECT_EQ(ErrorOf(Mint(Header(key, typ), Payload())), VerifyError::kWrongType) << typ;
  }
  EXPECT_EQ(ErrorOf(Mint(absl::StrCat(R"({"alg":"ES256","kid":")", key.kid(), R"(","typ":1})"),
                         Payload())),
            VerifyError::kWrongType);
}

// ---- INVALID_CLAIMS ----

TEST_F(VerifierTest, PayloadThatIsNotAStrictJsonObjectIsInvalidClaims) {
  const std::vector<std::string> payloads = {
      "not json",
      "[1,2]",
      "\"string\"",
      Payload() + " {}",
      // Duplicate claims: which "exp" or "sub" wins must never be up to the parser.
      Payload(absl::StrCat(R"("exp":)", At(100000))),
      Payload(R"("sub":"mallory")"),
      Payload(R"("x":{"y":1,"y":2})"),
      Payload("\"x\":\"\xc3\x28\""),
      Payload(R"("x":"\ud800")"),
      Payload(absl::StrCat(R"("x":)", std::string(20, '['), std::string(20, ']'))),
  };
  for (const std::string& payload : payloads) {
    EXPECT_EQ(ErrorOf(MintPayload(payload)), VerifyError::kInvalidClaims) << payload;
  }
}

TEST_F(VerifierTest, MissingOrNonNumericExpIsInvalidClaims) {
  const std::vector<std::string> bad_exp = {
      R"("1700000300")", "true", "null", "{}",    "[1700000300]",        R"("NaN")",
      R"("Infinity")",   "-1",   "-1.5", "1e300", "9223372036854775808", "18446744073709551615",
      "253402300800",    "1e20",
  };
  EXPECT_EQ(ErrorOf(MintPayload(Payload("", "exp"))), VerifyError::kInvalidClaims);
  for (const std::string& exp : bad_exp) {
    EXPECT_EQ(ErrorOf(MintPayload(Payload(absl::StrCat(R"("exp":)", exp), "exp"))),
              VerifyError::kInvalidClaims)
        << exp;
  }
  // NaN and Infinity literals are not JSON at all.
  EXPECT_EQ(ErrorOf(MintPayload(Payload(R"("exp":NaN)", "exp"))), VerifyError::kInvalidClaims);
  EXPECT_EQ(ErrorOf(MintPayload(Payload(R"("exp":Infinity)", "exp"))), VerifyError::kInvalidClaims);
}

TEST_F(VerifierTest, NonNumericNbfOrIatIsInvalidClaims) {
  for (const char* value : {R"("0")", "false", "null", "-5", "1e300"}) {
    EXPECT_EQ(ErrorOf(MintPayload(Payload(absl::StrCat(R"("nbf":)", value)))),
              VerifyError::kInvalidClaims)
        << value;
    EXPECT_EQ(ErrorOf(MintPayload(Payload(absl::StrCat(R"("iat":)", value), "iat"))),
              VerifyError::kInvalidClaims)
        << value;
  }
}

TEST_F(VerifierTest, WrongTypedStringClaimsAreInvalidClaims) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"iss", "1"},
      {"iss", "[\"https://issuer.test\"]"},
      {"sub", "7"},
      {"jti", "{}"},
      {"client_id", "1"},
      {"sid", "null"},
      {"aud", "1"},
      {"aud", "[\"api\",1]"},
      {"aud", "{\"api\":true}"},
      {"scope", "[\"read\"]"},
      {"scope", "true"},
  };
  for (const auto& [name, value] : cases) {
    EXPECT_EQ(ErrorOf(MintPayload(Payload(absl::StrCat("\"", name, "\":", value), name))),
              VerifyError::kInvalidClaims)
        << name << "=" << value;
  }
}

// ---- EXPIRED / NOT_YET_VALID ----

TEST_F(VerifierTest, ExpiryHonoursTheClockSkew) {
  auto with_exp = [&](int64_t offset) {
    return MintPayload(Payload(absl::StrCat(R"("exp":)", At(offset)), "exp"));
  };
  EXPECT_TRUE(Verify(with_exp(1)).ok());
  EXPECT_TRUE(Verify(with_exp(-29)).ok()) << "inside the default 30 s skew";
  EXPECT_EQ(ErrorOf(with_exp(-30)), VerifyError::kExpired);
  EXPECT_EQ(ErrorOf(with_exp(-3600)), VerifyError::kExpired);
  EXPECT_EQ(ErrorOf(MintPayload(Payload(R"("exp":0)", "exp"))), VerifyError::kExpired);
}

TEST_F(VerifierTest, FutureNbfOrIatIsNotYetValid) {
  EXPECT_TRUE(Verify(MintPayload(Payload(absl::StrCat(R"("nbf":)", At(30))))).ok());
  EXPECT_EQ(ErrorOf(MintPayload(Payload(absl::StrCat(R"("nbf":)", At(31))))),
            VerifyError::kNotYetValid);
  EXPECT_TRUE(Verify(MintPayload(Payload(absl::StrCat(R"("iat":)", At(30)), "iat"))).ok());
  EXPECT_EQ(ErrorOf(MintPayload(Payload(absl::StrCat(R"("iat":)", At(31)), "iat"))),
            VerifyError::kNotYetValid);
}

TEST_F(VerifierTest, ClockSkewIsConfigurableAndCapped) {
  absl::StatusOr<JwtVerifier> strict = JwtVerifier::Builder()
                                           .ExpectIssuer(kIssuer)
                                           .AllowAlgorithm(Algorithm::kES256)
                                           .SetClockSkew(absl::ZeroDuration())
                                           .Build();
  ASSERT_TRUE(strict.ok());
  std::string token =
      MintPayload(Payload(absl::StrCat(R"("exp":)", At(0), R"(,"iat":)", At(-10)), "exp,iat"));
  EXPECT_EQ(
      GetVerifyError(
          strict->VerifyAndDecode(token, keys_, Expectations::ForAudience("api"), now_).status()),
      VerifyError::kExpired);
  EXPECT_TRUE(
      strict
          ->VerifyAndDecode(token, keys_, Expectations::ForAudience("api"), now_ - absl::Seconds(1))
          .ok());
  EXPECT_TRUE(JwtVerifier::Builder()
                  .ExpectIssuer(kIssuer)
                  .AllowAlgorithm(Algorithm::kES256)
                  .SetClockSkew(absl::Minutes(5))
                  .Build()
                  .ok());
  EXPECT_EQ(JwtVerifier::Builder()
                .ExpectIssuer(kIssuer)
                .AllowAlgorithm(Algorithm::kES256)
                .SetClockSkew(absl::Minutes(5) + absl::Seconds(1))
                .Build()
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(JwtVerifier::Builder()
                   .ExpectIssuer(kIssuer)
                   .AllowAlgorithm(Algorithm::kES256)
                   .SetClockSkew(-absl::Seconds(1))
                   .Build()
                   .ok());
}

// ---- WRONG_ISSUER / WRONG_AUDIENCE / INSUFFICIENT_SCOPE ----

TEST_F(VerifierTest, OtherOrMissingIssuerIsWrongIssuer) {
  EXPECT_EQ(ErrorOf(MintPayload(Payload(R"("iss":"https://evil.test")", "iss"))),
            VerifyError::kWrongIssuer);
  EXPECT_EQ(ErrorOf(MintPayload(Payload(R"("iss":"https://issuer.test/")", "iss"))),
            VerifyError::kWrongIssuer);
  EXPECT_EQ(ErrorOf(MintPayload(Payload("", "iss"))), VerifyError::kWrongIssuer);
}

TEST_F(VerifierTest, AudienceMustContainTheExpectedOne) {
  EXPECT_TRUE(Verify(MintPayload(Payload(R"("aud":["x","api"])", "aud"))).ok());
  EXPECT_EQ(ErrorOf(MintPayload(Payload(R"("aud":"other")", "aud"))), VerifyError::kWrongAudience);
  EXPECT_EQ(ErrorOf(MintPayload(Payload(R"("aud":["x","API"])", "aud"))),
            VerifyError::kWrongAudience);
  EXPECT_EQ(ErrorOf(MintPayload(Payload(R"("aud":[])", "aud"))), VerifyError::kWrongAudience);
  EXPECT_EQ(ErrorOf(MintPayload(Payload("", "aud"))), VerifyError::kWrongAudience);
  // An empty expectation is a caller bug and matches nothing, not even an empty "aud".
  EXPECT_EQ(ErrorOf(MintPayload(Payload(R"("aud":"")", "aud")), Expectations::ForAudience("")),
            VerifyError::kWrongAudience);
}

TEST_F(VerifierTest, AnyAudienceSkipsOnlyTheAudienceCheck) {
  const Expectations any = Expectations::AnyAudienceForRevocation();
  EXPECT_TRUE(Verify(MintPayload(Payload(R"("aud":"other")", "aud")), any).ok());
  EXPECT_TRUE(Verify(MintPayload(Payload("", "aud")), any).ok());
  EXPECT_EQ(ErrorOf(MintPayload(Payload(R"("iss":"x")", "iss")), any), VerifyError::kWrongIssuer);
  EXPECT_EQ(ErrorOf(MintPayload(Payload(absl::StrCat(R"("exp":)", At(-100)), "exp")), any),
            VerifyError::kExpired);
  EXPECT_EQ(ErrorOf(MintPayload(Payload(R"("aud":7)", "aud")), any), VerifyError::kInvalidClaims);
}

TEST_F(VerifierTest, RequiredScopesMustAllBePresent) {
  std::string token = MintPayload(Payload());  // scope "read write"
  EXPECT_TRUE(Verify(token, Expectations::ForAudience("api", {"read"})).ok());
  EXPECT_TRUE(Verify(token, Expectations::ForAudience("api", {"write", "read"})).ok());
  EXPECT_EQ(ErrorOf(token, Expectations::ForAudience("api", {"read", "admin"})),
            VerifyError::kInsufficientScope);
  EXPECT_EQ(ErrorOf(token, Expectations::ForAudience("api", {"rea"})),
            VerifyError::kInsufficientScope);
  EXPECT_EQ(ErrorOf(token, Expectations::ForAudience("api", {"read write"})),
            VerifyError::kInsufficientScope);
  EXPECT_EQ(ErrorOf(token, Expectations::ForAudience("api", {""})),
            VerifyError::kInsufficientScope);
  // A token without "scope" has no scopes.
  EXPECT_EQ(ErrorOf(MintPayload(Payload("", "scope")), Expectations::ForAudience("api", {"read"})),
            VerifyError::kInsufficientScope);
  EXPECT_TRUE(Verify(MintPayload(Payload("", "scope"))).ok());
}

// ---- order and hygiene ----

TEST_F(VerifierTest, ChecksRunInTheDocumentedOrder) {
  const std::string expired_elsewhere =
      Payload(absl::StrCat(R"("exp":)", At(-1000), R"(,"iss":"x","aud":"y")"), "exp,iss,aud");
  // Bad signature wins over expiry.
  std::string token = MintPayload(expired_elsewhere);
  std::string sig = *Base64UrlDecode(SegmentOf(token, 2));
  sig[5] ^= 1;
  EXPECT_EQ(ErrorOf(WithSegment(token, 2, Base64UrlEncode(sig))), VerifyError::kBadSignature);
  // Wrong typ wins over claims.
  EXPECT_EQ(ErrorOf(Mint(Header(KeyFor(Algorithm::kES256), "JWT"), "[]")), VerifyError::kWrongType);
  // Invalid claim types win over expiry.
  EXPECT_EQ(
      ErrorOf(MintPayload(Payload(absl::StrCat(R"("exp":)", At(-1000), R"(,"sub":1)"), "exp"))),
      VerifyError::kInvalidClaims);
  // Expiry wins over issuer and audience.
  EXPECT_EQ(ErrorOf(MintPayload(expired_elsewhere)), VerifyError::kExpired);
  // Issuer wins over audience, audience over scope.
  EXPECT_EQ(ErrorOf(MintPayload(Payload(R"("iss":"x","aud":"y")", "iss,aud")),
                    Expectations::ForAudience("api", {"admin"})),
            VerifyError::kWrongIssuer);
  EXPECT_EQ(ErrorOf(MintPayload(Payload(R"("aud":"y")", "aud")),
                    Expectations::ForAudience("api", {"admin"})),
            VerifyError::kWrongAudience);
}

TEST_F(VerifierTest, ErrorMessagesNeverEchoTokenContent) {
  const std::string secretish = "s3cr3t-subject-value";
  std::string token =
      MintPayload(Payload(absl::StrCat(R"("sub":")", secretish, R"(","aud":"zzz")"), "sub"));
  absl::StatusOr<VerifiedJwt> result = Verify(token);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().ToString(), Not(HasSubstr(secretish)));
  EXPECT_THAT(result.status().ToString(), Not(HasSubstr(KeyFor(Algorithm::kES256).kid())));
  absl::StatusOr<VerifiedJwt> unknown =
      Verify(Mint(R"({"alg":"ES256","kid":"attacker-controlled-kid","typ":"at+jwt"})", Payload()));
  EXPECT_THAT(unknown.status().ToString(), Not(HasSubstr("attacker-controlled-kid")));
}

TEST(VerifierBuilderTest, RequiresIssuerAlgorithmsAndSaneLimits) {
  EXPECT_EQ(JwtVerifier::Builder().AllowAlgorithm(Algorithm::kEdDSA).Build().status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(JwtVerifier::Builder().ExpectIssuer("i").Build().status().code(),
            absl::StatusCode::kInvalidArgument);
  auto base = [] {
    JwtVerifier::Builder b;
    b.ExpectIssuer("i").AllowAlgorithm(Algorithm::kEdDSA);
    return b;
  };
  EXPECT_TRUE(base().Build().ok());
  EXPECT_EQ(base().Build()->clock_skew(), absl::Seconds(30));
  EXPECT_FALSE(base().SetMaxTokenSize(0).Build().ok());
  EXPECT_TRUE(base().SetMaxTokenSize(64 * 1024).Build().ok());
  EXPECT_FALSE(base().SetMaxTokenSize(64 * 1024 + 1).Build().ok());
}

// ---- VerifyCompactJws ----

TEST_F(VerifierTest, CompactJwsVerifiesWithoutJwtSemantics) {
  const SigningKey& key = KeyFor(Algorithm::kEdDSA);
  absl::StatusOr<std::string> jws = SignCompactJws(R"({"alg":"EdDSA"})", "any bytes \x01", key);
  ASSERT_TRUE(jws.ok());
  absl::StatusOr<std::string> payload = VerifyCompactJws(*jws, key.verification_key());
  ASSERT_TRUE(payload.ok()) << payload.status();
  EXPECT_EQ(*payload, "any bytes \x01");
  // Empty payloads are legal JWS.
  absl::StatusOr<std::string> empty = SignCompactJws(R"({"alg":"EdDSA"})", "", key);
  EXPECT_TRUE(VerifyCompactJws(*empty, key.verification_key()).ok());
  // But alg must be the key's, crit is refused, and size is bounded.
  absl::StatusOr<std::string> es = SignCompactJws(R"({"alg":"ES256"})", "x", key);
  EXPECT_EQ(GetVerifyError(VerifyCompactJws(*es, key.verification_key()).status()),
            VerifyError::kAlgorithmNotAllowed);
  absl::StatusOr<std::string> crit =
      SignCompactJws(R"({"alg":"EdDSA","crit":["x"],"x":1})", "x", key);
  EXPECT_EQ(GetVerifyError(VerifyCompactJws(*crit, key.verification_key()).status()),
            VerifyError::kMalformed);
  EXPECT_EQ(GetVerifyError(VerifyCompactJws(*jws, key.verification_key(), 10).status()),
            VerifyError::kTooLarge);
  EXPECT_EQ(
      GetVerifyError(VerifyCompactJws(*jws, KeyFor(Algorithm::kES256).verification_key()).status()),
      VerifyError::kAlgorithmNotAllowed);
}

}  // namespace
}  // namespace tokend::jwt
