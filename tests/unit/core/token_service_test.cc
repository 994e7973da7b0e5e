// Issue and Verify of core::TokenService against the real JWT core, a MemoryTokenStore and a
// FakeClock.

#include "services/tokend/core/token_service.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "jwt/base64url.h"
#include "jwt/claims.h"
#include "jwt/signer.h"
#include "tests/testing/metric_value.h"
#include "tests/unit/core/service_harness.h"

namespace tokend::core {
namespace {

using ::testing::ElementsAre;
using testing::FailingTokenStore;
using ::testing::HasSubstr;
using testing::ServiceHarness;
using testing::TestConfig;

std::vector<std::string> Segments(const std::string& token) { return absl::StrSplit(token, '.'); }

std::string DecodedHeader(const std::string& token) {
  absl::StatusOr<std::string> header = jwt::Base64UrlDecode(Segments(token).at(0));
  EXPECT_TRUE(header.ok());
  return header.value_or("");
}

// A token with the service's key and claims of our choosing.
std::string SignClaims(ServiceHarness& h, const jwt::JwtClaims& claims) {
  absl::StatusOr<std::string> token = jwt::SignAccessToken(claims, h.ring->ActiveKey());
  EXPECT_TRUE(token.ok()) << token.status();
  return token.value_or("");
}

jwt::JwtClaims ValidClaims(ServiceHarness& h) {
  jwt::JwtClaims claims;
  claims.issuer = h.service->config().issuer;
  claims.subject = "user-1";
  claims.audiences = {"api://orders"};
  claims.issued_at = h.clock.Now();
  claims.expires_at = h.clock.Now() + absl::Minutes(5);
  claims.jwt_id = "jti-crafted";
  return claims;
}

std::string SignRaw(ServiceHarness& h, const std::string& header, const std::string& payload) {
  absl::StatusOr<std::string> token = jwt::SignCompactJws(header, payload, h.ring->ActiveKey());
  EXPECT_TRUE(token.ok()) << token.status();
  return token.value_or("");
}

// --- Issue ------------------------------------------------------------------------------------

TEST(IssueTest, AccessTokenFollowsRfc9068) {
  ServiceHarness h;
  IssueParams params = h.BasicIssue();
  params.custom_claims_json = R"({"tenant":"acme"})";
  IssuedTokens issued = h.MustIssue(params);

  const std::string header = DecodedHeader(issued.access_token);
  EXPECT_THAT(header, HasSubstr(R"("typ":"at+jwt")"));
  EXPECT_THAT(header, HasSubstr(absl::StrCat(R"("kid":")", h.ring->ActiveKey().kid(), "\"")));
  EXPECT_TRUE(issued.refresh_token.empty());

  VerifyParams verify{issued.access_token, "api://orders", {"orders.read"}};
  absl::StatusOr<VerifyOutcome> outcome = h.service->Verify(verify);
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  ASSERT_TRUE(outcome->valid()) << InvalidReasonName(outcome->reason);
  const jwt::VerifiedJwt& token = *outcome->token;
  EXPECT_EQ(token.issuer(), "https://tokend.test");
  EXPECT_EQ(token.subject(), "user-1");
  EXPECT_THAT(token.audiences(), ElementsAre("api://orders"));
  EXPECT_THAT(token.scopes(), ElementsAre("orders.read", "orders.write"));
  EXPECT_EQ(token.client_id(), "client-a");
  EXPECT_EQ(token.jwt_id(), issued.token_id);
  EXPECT_TRUE(token.session_id().empty()) << "no refresh token, so no sid";
  EXPECT_EQ(token.issued_at(), h.clock.Now());
  EXPECT_EQ(token.expires_at(), h.clock.Now() + absl::Minutes(10));
  EXPECT_EQ(issued.expires_at, token.expires_at());
  EXPECT_THAT(token.payload_json(), HasSubstr(R"("tenant":"acme")"));
}

TEST(IssueTest, TokenIdsAre128RandomBitsInBase64Url) {
  ServiceHarness h;
  const std::string a = h.MustIssue(h.BasicIssue()).token_id;
  const std::string b = h.MustIssue(h.BasicIssue()).token_id;
  EXPECT_NE(a, b);
  absl::StatusOr<std::string> raw = jwt::Base64UrlDecode(a);
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw->size(), 16u);
}

TEST(IssueTest, DefaultTtlIsConfiguredDefault) {
  ServiceConfig config = TestConfig();
  config.access_ttl_default = absl::Minutes(3);
  ServiceHarness h(config);
  EXPECT_EQ(h.MustIssue(h.BasicIssue()).expires_at, h.clock.Now() + absl::Minutes(3));
}

TEST(IssueTest, ExplicitTtlUpToTheCapIsHonoured) {
  ServiceHarness h;
  IssueParams params = h.BasicIssue();
  params.ttl = absl::Minutes(15);
  EXPECT_EQ(h.MustIssue(params).expires_at, h.clock.Now() + absl::Minutes(15));
}

TEST(IssueTest, TtlAboveTheCapIsInvalidArgument) {
  ServiceHarness h;
  IssueParams params = h.BasicIssue();
  params.ttl = absl::Minutes(15) + absl::Seconds(1);
  absl::StatusOr<IssuedTokens> issued = h.service->Issue(params);
  EXPECT_EQ(issued.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(issued.status().message(), HasSubstr("maximum"));
}

TEST(IssueTest, ZeroNegativeAndSubSecondTtlsAreInvalidArgument) {
  ServiceHarness h;
  for (absl::Duration ttl : {absl::ZeroDuration(), absl::Seconds(-5), absl::Milliseconds(500)}) {
    IssueParams params = h.BasicIssue();
    params.ttl = ttl;
    EXPECT_EQ(h.service->Issue(params).status().code(), absl::StatusCode::kInvalidArgument)
        << absl::FormatDuration(ttl);
  }
}

TEST(IssueTest, RegisteredCustomClaimIsInvalidArgument) {
  ServiceHarness h;
  for (const char* claims : {R"({"sub":"admin"})", R"({"exp":1})", R"({"sid":"x"})",
                             R"({"scope":"all"})", R"({"ok":1,"iss":"evil"})"}) {
    IssueParams params = h.BasicIssue();
    params.custom_claims_json = claims;
    EXPECT_EQ(h.service->Issue(params).status().code(), absl::StatusCode::kInvalidArgument)
        << claims;
  }
}

TEST(IssueTest, MalformedCustomClaimsAreInvalidArgument) {
  ServiceHarness h;
  for (const char* claims : {"[1]", "{", R"({"a":1,"a":2})", "not json"}) {
    IssueParams params = h.BasicIssue();
    params.custom_claims_json = claims;
    EXPECT_EQ(h.service->Issue(params).status().code(), absl::StatusCode::kInvalidArgument)
        << claims;
  }
}

TEST(IssueTest, OversizedCustomClaimsAreInvalidArgument) {
  ServiceHarness h;
  IssueParams params = h.BasicIssue();
  params.custom_claims_json = absl::StrCat(R"({"blob":")", std::string(5000, 'a'), "\"}");
  EXPECT_EQ(h.service->Issue(params).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(IssueTest, RequestShapeIsValidated) {
  ServiceHarness h;
  auto code = [&](auto mutate) {
    IssueParams params = h.BasicIssue();
    mutate(params);
    return h.service->Issue(params).status().code();
  };
  const auto kInvalid = absl::StatusCode::kInvalidArgument;
  EXPECT_EQ(code([](IssueParams& p) { p.subject.clear(); }), kInvalid);
  EXPECT_EQ(code([](IssueParams& p) { p.subject = std::string(257, 's'); }), kInvalid);
  EXPECT_EQ(code([](IssueParams& p) { p.subject = "user\n1"; }), kInvalid);
  EXPECT_EQ(code([](IssueParams& p) { p.subject = "bad\xff utf8"; }), kInvalid);
  EXPECT_EQ(code([](IssueParams& p) { p.audiences.clear(); }), kInvalid);
  EXPECT_EQ(code([](IssueParams& p) { p.audiences = {""}; }), kInvalid);
  EXPECT_EQ(code([](IssueParams& p) { p.audiences.assign(17, "aud"); }), kInvalid);
  EXPECT_EQ(code([](IssueParams& p) { p.scopes = {"two words"}; }), kInvalid);
  EXPECT_EQ(code([](IssueParams& p) { p.scopes = {""}; }), kInvalid);
  EXPECT_EQ(code([](IssueParams& p) { p.scopes.assign(65, "s"); }), kInvalid);
  EXPECT_EQ(code([](IssueParams& p) { p.client_id = "c\x01"; }), kInvalid);
  // And the happy path of the same helper, so the helper itself is proven.
  EXPECT_EQ(code([](IssueParams& p) { p.subject = "ünïcode-user"; }), absl::StatusCode::kOk);
}

TEST(IssueTest, RefreshTokenIsOpaqueAndStoredOnlyAsHash) {
  ServiceHarness h;
  IssuedTokens issued = h.MustIssue(h.BasicIssue(/*with_refresh=*/true));
  ASSERT_EQ(issued.refresh_token.size(), 47u);
  EXPECT_EQ(issued.refresh_token.substr(0, 4), "rt1.");
  EXPECT_EQ(issued.refresh_expires_at, h.clock.Now() + absl::Hours(24 * 14));

  // Not findable by its text; findable by its SHA-256.
  absl::StatusOr<std::optional<storage::RefreshTokenRecord>> by_text =
      h.store.FindRefreshToken(issued.refresh_token);
  ASSERT_TRUE(by_text.ok());
  EXPECT_FALSE(by_text->has_value());

  VerifyParams verify{issued.access_token, "api://orders", {}};
  absl::StatusOr<VerifyOutcome> outcome = h.service->Verify(verify);
  ASSERT_TRUE(outcome.ok() && outcome->valid());
  EXPECT_FALSE(outcome->token->session_id().empty()) << "sid names the refresh family";
}

TEST(IssueTest, IssueWithoutRefreshNeverTouchesTheStore) {
  FailingTokenStore failing;
  ServiceHarness h(TestConfig(), &failing);
  IssuedTokens issued = h.MustIssue(h.BasicIssue());
  EXPECT_FALSE(issued.access_token.empty());
  EXPECT_EQ(h.VerifyReason(issued.access_token), InvalidReason::kNone);
  EXPECT_EQ(failing.calls(), 0);
}

TEST(IssueTest, IssueWithRefreshPassesStoreUnavailableThrough) {
  FailingTokenStore failing;
  ServiceHarness h(TestConfig(), &failing);
  absl::StatusOr<IssuedTokens> issued = h.service->Issue(h.BasicIssue(/*with_refresh=*/true));
  EXPECT_EQ(issued.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(
      tokend::testing::MetricValue(h.registry, "tokend_store_errors_total",
                                   {{"operation", "InsertRefreshToken"}, {"code", "Unavailable"}}),
      1.0);
}

TEST(IssueTest, IssuedTokensAreCounted) {
  ServiceHarness h;
  h.MustIssue(h.BasicIssue());
  h.MustIssue(h.BasicIssue(/*with_refresh=*/true));
  EXPECT_EQ(
      tokend::testing::MetricValue(h.registry, "tokend_tokens_issued_total", {{"kind", "access"}}),
      2.0);
  EXPECT_EQ(
      tokend::testing::MetricValue(h.registry, "tokend_tokens_issued_total", {{"kind", "refresh"}}),
      1.0);
}

// --- Verify -----------------------------------------------------------------------------------

TEST(VerifyTest, EmptyTokenOrAudienceIsInvalidArgument) {
  ServiceHarness h;
  const std::string token = h.MustIssue(h.BasicIssue()).access_token;
  EXPECT_EQ(h.service->Verify({"", "api://orders", {}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(h.service->Verify({token, "", {}}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(VerifyTest, EachJwtFailureMapsToItsReason) {
  ServiceHarness h;
  const std::string good = h.MustIssue(h.BasicIssue()).access_token;
  EXPECT_EQ(h.VerifyReason(good), InvalidReason::kNone);

  EXPECT_EQ(h.VerifyReason("not-a-jwt"), InvalidReason::kMalformed);
  EXPECT_EQ(h.VerifyReason(std::string(9000, 'a')), InvalidReason::kTooLarge);

  const std::string kid = h.ring->ActiveKey().kid();
  const std::string payload = R"({"iss":"https://tokend.test","sub":"u","aud":"api://orders",)"
                              R"("iat":1700000000,"exp":1700000300})";
  EXPECT_EQ(
      h.VerifyReason(SignRaw(
          h, absl::StrCat(R"({"alg":"HS512","kid":")", kid, R"(","typ":"at+jwt"})"), payload)),
      InvalidReason::kAlgorithmNotAllowed);
  EXPECT_EQ(h.VerifyReason(SignRaw(
                h, absl::StrCat(R"({"alg":"EdDSA","kid":")", kid, R"(","typ":"JWT"})"), payload)),
            InvalidReason::kWrongType);
  EXPECT_EQ(h.VerifyReason(SignRaw(
                h, absl::StrCat(R"({"alg":"EdDSA","kid":")", kid, R"(","typ":"at+jwt"})"),
                R"({"iss":"https://tokend.test","sub":"u","aud":"api://orders","exp":"soon"})")),
            InvalidReason::kInvalidClaims);

  absl::StatusOr<jwt::SigningKey> stranger = jwt::SigningKey::Generate(jwt::Algorithm::kEdDSA);
  ASSERT_TRUE(stranger.ok());
  absl::StatusOr<std::string> foreign = jwt::SignAccessToken(ValidClaims(h), *stranger);
  ASSERT_TRUE(foreign.ok());
  EXPECT_EQ(h.VerifyReason(*foreign), InvalidReason::kUnknownKey);

  std::vector<std::string> parts = Segments(good);
  parts[2][5] = parts[2][5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(h.VerifyReason(absl::StrJoin(parts, ".")), InvalidReason::kBadSignature);

  jwt::JwtClaims future = ValidClaims(h);
  future.issued_at = h.clock.Now() + absl::Hours(1);
  future.expires_at = h.clock.Now() + absl::Hours(2);
  EXPECT_EQ(h.VerifyReason(SignClaims(h, future)), InvalidReason::kNotYetValid);

  jwt::JwtClaims other_issuer = ValidClaims(h);
  other_issuer.issuer = "https://evil.test";
  EXPECT_EQ(h.VerifyReason(SignClaims(h, other_issuer)), InvalidReason::kWrongIssuer);

  EXPECT_EQ(h.VerifyReason(good, "api://billing"), InvalidReason::kWrongAudience);
  EXPECT_EQ(h.VerifyReason(good, "api://orders", {"orders.admin"}),
            InvalidReason::kInsufficientScope);
}

TEST(VerifyTest, TokenExpiresAfterTtlPlusSkew) {
  ServiceHarness h;
  IssueParams params = h.BasicIssue();
  params.ttl = absl::Minutes(1);
  const std::string token = h.MustIssue(params).access_token;
  h.clock.Advance(absl::Minutes(1) + absl::Seconds(29));
  h.SyncDenylist();
  EXPECT_EQ(h.VerifyReason(token), InvalidReason::kNone) << "within the 30 s skew";
  h.clock.Advance(absl::Seconds(2));
  EXPECT_EQ(h.VerifyReason(token), InvalidReason::kExpired);
}

TEST(VerifyTest, RevokedByTokenId) {
  ServiceHarness h;
  IssuedTokens issued = h.MustIssue(h.BasicIssue());
  const std::string other = h.MustIssue(h.BasicIssue()).access_token;
  ASSERT_TRUE(
      h.service->Revoke({storage::RevokeTarget::kTokenId, issued.token_id, "test", ""}).ok());
  EXPECT_EQ(h.VerifyReason(issued.access_token), InvalidReason::kRevoked);
  EXPECT_EQ(h.VerifyReason(other), InvalidReason::kNone);
}

TEST(VerifyTest, RevokedByFamilyThroughSid) {
  ServiceHarness h;
  IssuedTokens issued = h.MustIssue(h.BasicIssue(/*with_refresh=*/true));
  const std::string unrelated = h.MustIssue(h.BasicIssue(/*with_refresh=*/true)).access_token;
  ASSERT_TRUE(
      h.service->Revoke({storage::RevokeTarget::kRefreshToken, issued.refresh_token, "", ""}).ok());
  EXPECT_EQ(h.VerifyReason(issued.access_token), InvalidReason::kRevoked);
  EXPECT_EQ(h.VerifyReason(unrelated), InvalidReason::kNone);
}

TEST(VerifyTest, RevokedBySubjectOnlyForTokensIssuedBefore) {
  ServiceHarness h;
  const std::string before = h.MustIssue(h.BasicIssue()).access_token;
  IssueParams someone_else = h.BasicIssue();
  someone_else.subject = "user-2";
  const std::string other_subject = h.MustIssue(someone_else).access_token;

  h.clock.Advance(absl::Milliseconds(300));
  ASSERT_TRUE(
      h.service->Revoke({storage::RevokeTarget::kSubject, "user-1", "offboarded", ""}).ok());
  EXPECT_EQ(h.VerifyReason(before), InvalidReason::kRevoked);
  EXPECT_EQ(h.VerifyReason(other_subject), InvalidReason::kNone);

  h.clock.Advance(absl::Seconds(1));  // iat has whole seconds: the next second is clearly after
  const std::string after = h.MustIssue(h.BasicIssue()).access_token;
  EXPECT_EQ(h.VerifyReason(after), InvalidReason::kNone);
}

TEST(VerifyTest, StaleDenylistFailsClosedByDefault) {
  ServiceHarness h;
  const std::string token = h.MustIssue(h.BasicIssue()).access_token;
  h.clock.Advance(absl::Seconds(60));
  EXPECT_EQ(h.VerifyReason(token), InvalidReason::kNone) << "exactly max_staleness is fresh";
  h.clock.Advance(absl::Seconds(1));
  absl::StatusOr<VerifyOutcome> outcome = h.service->Verify({token, "api://orders", {}});
  EXPECT_EQ(outcome.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(h.service->Ready());
  // An invalid token needs no denylist: it is still answered.
  EXPECT_EQ(h.VerifyReason("garbage"), InvalidReason::kMalformed);
  // A reload makes it fresh again.
  h.SyncDenylist();
  EXPECT_EQ(h.VerifyReason(token), InvalidReason::kNone);
  EXPECT_TRUE(h.service->Ready());
}

TEST(VerifyTest, StaleDenylistFailsOpenWhenConfiguredAndKeepsTheLastList) {
  ServiceHarness h;
  h.denylist.SetFreshnessPolicy({absl::Seconds(60), FailMode::kOpen});
  IssuedTokens revoked = h.MustIssue(h.BasicIssue());
  const std::string kept = h.MustIssue(h.BasicIssue()).access_token;
  ASSERT_TRUE(h.service->Revoke({storage::RevokeTarget::kTokenId, revoked.token_id, "", ""}).ok());
  h.clock.Advance(absl::Minutes(5));
  EXPECT_EQ(h.VerifyReason(kept), InvalidReason::kNone);
  EXPECT_EQ(h.VerifyReason(revoked.access_token), InvalidReason::kRevoked);
  EXPECT_TRUE(h.service->Ready());
}

TEST(VerifyTest, NeverLoadedDenylistIsUnavailableEvenWhenFailingOpen) {
  ServiceHarness h;
  Denylist fresh_start({absl::Seconds(60), FailMode::kOpen});
  TokenService service(TestConfig(), *h.ring, h.store, fresh_start, h.clock, h.metrics);
  const std::string token = h.MustIssue(h.BasicIssue()).access_token;
  EXPECT_EQ(service.Verify({token, "api://orders", {}}).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(service.ReadyStatus().code(), absl::StatusCode::kUnavailable);
}

TEST(VerifyTest, VerifyNeverTouchesTheStore) {
  FailingTokenStore failing;
  ServiceHarness h(TestConfig(), &failing);
  const std::string token = h.MustIssue(h.BasicIssue()).access_token;
  EXPECT_EQ(h.VerifyReason(token), InvalidReason::kNone);
  EXPECT_EQ(h.VerifyReason("x.y.z"), InvalidReason::kMalformed);
  EXPECT_EQ(failing.calls(), 0);
}

TEST(VerifyTest, ResultsAreCountedPerReason) {
  ServiceHarness h;
  const std::string token = h.MustIssue(h.BasicIssue()).access_token;
  h.VerifyReason(token);
  h.VerifyReason(token);
  h.VerifyReason(token, "api://billing");
  h.VerifyReason("junk");
  auto count = [&](const char* result) {
    return tokend::testing::MetricValue(h.registry, "tokend_verify_results_total",
                                        {{"result", result}});
  };
  EXPECT_EQ(count("valid"), 2.0);
  EXPECT_EQ(count("wrong_audience"), 1.0);
  EXPECT_EQ(count("malformed"), 1.0);
  EXPECT_EQ(count("revoked"), 0.0);
}

// --- names, JWKS, config --------------------------------------------------------------------

TEST(InvalidReasonTest, NamesMatchTheProtoSpelling) {
  EXPECT_EQ(InvalidReasonName(InvalidReason::kMalformed), "MALFORMED");
  EXPECT_EQ(InvalidReasonName(InvalidReason::kAlgorithmNotAllowed), "ALGORITHM_NOT_ALLOWED");
  EXPECT_EQ(InvalidReasonName(InvalidReason::kRevoked), "REVOKED");
  EXPECT_EQ(InvalidReasonFromVerifyError(jwt::VerifyError::kInsufficientScope),
            InvalidReason::kInsufficientScope);
  EXPECT_EQ(InvalidReasonFromVerifyError(jwt::VerifyError::kInvalidClaims),
            InvalidReason::kInvalidClaims);
}

TEST(JwksTest, PublishesTheActiveKeyWithoutPrivateMembers) {
  ServiceHarness h;
  const std::string jwks = h.service->JwksJson();
  EXPECT_THAT(jwks, HasSubstr(h.ring->ActiveKey().kid()));
  EXPECT_THAT(jwks, ::testing::Not(HasSubstr(R"("d")")));
  EXPECT_EQ(h.service->jwks_max_age(), absl::Minutes(10));
}

TEST(ConfigTest, RejectsInconsistentConfigs) {
  EXPECT_TRUE(TokenService::ValidateConfig(TestConfig()).ok());
  auto invalid = [](auto mutate) {
    ServiceConfig config = TestConfig();
    mutate(config);
    return TokenService::ValidateConfig(config).code() == absl::StatusCode::kInvalidArgument;
  };
  EXPECT_TRUE(invalid([](ServiceConfig& c) { c.issuer.clear(); }));
  EXPECT_TRUE(invalid([](ServiceConfig& c) { c.access_ttl_default = absl::Hours(1); }));
  EXPECT_TRUE(invalid([](ServiceConfig& c) { c.refresh_family_ttl = absl::Hours(1); }));
  EXPECT_TRUE(invalid([](ServiceConfig& c) { c.clock_skew = absl::Minutes(6); }));
  EXPECT_TRUE(invalid([](ServiceConfig& c) { c.refresh_reuse_grace = absl::Seconds(-1); }));
  EXPECT_TRUE(
      invalid([](ServiceConfig& c) { c.refresh_derivation_secret = jwt::SecretData("short"); }));
}

}  // namespace
}  // namespace tokend::core
