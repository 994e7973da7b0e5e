// Revoke of core::TokenService: every target, idempotence, RFC 7009 no-ops, durability and
// store failures.

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "jwt/claims.h"
#include "jwt/signer.h"
#include "services/tokend/core/refresh_tokens.h"
#include "services/tokend/core/token_service.h"
#include "tests/testing/metric_value.h"
#include "tests/unit/core/service_harness.h"

namespace tokend::core {
namespace {

using Target = storage::RevokeTarget;
using testing::FailingTokenStore;
using testing::ServiceHarness;
using testing::TestConfig;

RevokeParams Revoke(Target target, std::string value, std::string reason = "") {
  return RevokeParams{target, std::move(value), std::move(reason), ""};
}

std::vector<storage::Revocation> Live(ServiceHarness& h) {
  absl::StatusOr<std::vector<storage::Revocation>> live =
      h.store.ListLiveRevocations(h.clock.Now());
  EXPECT_TRUE(live.ok()) << live.status();
  return live.value_or(std::vector<storage::Revocation>{});
}

TEST(RevokeTest, ByTokenIdIsDurableAppliedLocallyAndBoundedInTime) {
  ServiceHarness h;
  IssuedTokens issued = h.MustIssue(h.BasicIssue());
  ASSERT_TRUE(h.service->Revoke(Revoke(Target::kTokenId, issued.token_id, "leaked")).ok());
  EXPECT_EQ(h.VerifyReason(issued.access_token), InvalidReason::kRevoked);

  std::vector<storage::Revocation> live = Live(h);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].kind, storage::Revocation::Kind::kTokenId);
  EXPECT_EQ(live[0].key, issued.token_id);
  EXPECT_EQ(live[0].reason, "leaked");
  // No token with that jti can live longer than access_ttl_max (+ skew) from now.
  EXPECT_EQ(live[0].expires_at, h.clock.Now() + absl::Minutes(15) + absl::Seconds(30));
  EXPECT_EQ(
      tokend::testing::MetricValue(h.registry, "tokend_revocations_total", {{"kind", "token_id"}}),
      1.0);
}

TEST(RevokeTest, IsIdempotent) {
  ServiceHarness h;
  IssuedTokens issued = h.MustIssue(h.BasicIssue(/*with_refresh=*/true));
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(h.service->Revoke(Revoke(Target::kTokenId, issued.token_id)).ok());
    EXPECT_TRUE(h.service->Revoke(Revoke(Target::kRefreshToken, issued.refresh_token)).ok());
    EXPECT_TRUE(h.service->Revoke(Revoke(Target::kAccessToken, issued.access_token)).ok());
    EXPECT_TRUE(h.service->Revoke(Revoke(Target::kSubject, "user-1")).ok());
  }
  EXPECT_EQ(Live(h).size(), 3u) << "one entry each for the jti, the family and the subject";
  EXPECT_EQ(h.denylist.sizes().token_ids, 1u);
  EXPECT_EQ(h.denylist.sizes().families, 1u);
  EXPECT_EQ(h.denylist.sizes().subjects, 1u);
}

TEST(RevokeTest, ByAccessTokenDenylistsItsJtiUntilItExpires) {
  ServiceHarness h;
  IssueParams params = h.BasicIssue();
  params.ttl = absl::Minutes(2);
  IssuedTokens issued = h.MustIssue(params);
  const std::string other = h.MustIssue(h.BasicIssue()).access_token;
  ASSERT_TRUE(h.service->Revoke(Revoke(Target::kAccessToken, issued.access_token)).ok());
  EXPECT_EQ(h.VerifyReason(issued.access_token), InvalidReason::kRevoked);
  EXPECT_EQ(h.VerifyReason(other), InvalidReason::kNone);
  std::vector<storage::Revocation> live = Live(h);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].key, issued.token_id);
  EXPECT_EQ(live[0].expires_at, issued.expires_at + absl::Seconds(30));
}

TEST(RevokeTest, ByAccessTokenThatDoesNotVerifyIsANoOp) {
  ServiceHarness h;
  // Expired, foreign-signed, tampered or junk: OK and nothing stored (RFC 7009 §2.2).
  IssueParams params = h.BasicIssue();
  params.ttl = absl::Minutes(1);
  const std::string expiring = h.MustIssue(params).access_token;

  absl::StatusOr<jwt::SigningKey> stranger = jwt::SigningKey::Generate(jwt::Algorithm::kEdDSA);
  ASSERT_TRUE(stranger.ok());
  jwt::JwtClaims claims;
  claims.issuer = h.service->config().issuer;
  claims.subject = "user-1";
  claims.audiences = {"api://orders"};
  claims.issued_at = h.clock.Now();
  claims.expires_at = h.clock.Now() + absl::Minutes(5);
  claims.jwt_id = "forged-jti";
  absl::StatusOr<std::string> forged = jwt::SignAccessToken(claims, *stranger);
  ASSERT_TRUE(forged.ok());

  EXPECT_TRUE(h.service->Revoke(Revoke(Target::kAccessToken, *forged)).ok());
  EXPECT_TRUE(h.service->Revoke(Revoke(Target::kAccessToken, "junk")).ok());
  h.clock.Advance(absl::Minutes(2));
  EXPECT_TRUE(h.service->Revoke(Revoke(Target::kAccessToken, expiring)).ok());
  EXPECT_TRUE(Live(h).empty());
  EXPECT_EQ(h.denylist.sizes().token_ids, 0u);
}

TEST(RevokeTest, ByAccessTokenAcceptsAnyOfOurAudiences) {
  ServiceHarness h;
  IssueParams params = h.BasicIssue();
  params.audiences = {"api://somewhere-else"};
  IssuedTokens issued = h.MustIssue(params);
  ASSERT_TRUE(h.service->Revoke(Revoke(Target::kAccessToken, issued.access_token)).ok());
  EXPECT_EQ(h.VerifyReason(issued.access_token, "api://somewhere-else"), InvalidReason::kRevoked);
}

TEST(RevokeTest, ByRefreshTokenRevokesTheFamilyAndItsAccessTokens) {
  ServiceHarness h;
  IssuedTokens first = h.MustIssue(h.BasicIssue(/*with_refresh=*/true));
  absl::StatusOr<IssuedTokens> second =
      h.service->Refresh(RefreshParams{first.refresh_token, {}, ""});
  ASSERT_TRUE(second.ok());
  // Revoking with the current (child) token kills the earlier access tokens too.
  ASSERT_TRUE(h.service->Revoke(Revoke(Target::kRefreshToken, second->refresh_token)).ok());
  EXPECT_EQ(h.VerifyReason(first.access_token), InvalidReason::kRevoked);
  EXPECT_EQ(h.VerifyReason(second->access_token), InvalidReason::kRevoked);
  EXPECT_EQ(h.service->Refresh(RefreshParams{second->refresh_token, {}, ""}).status().code(),
            absl::StatusCode::kUnauthenticated);

  std::vector<storage::Revocation> live = Live(h);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].kind, storage::Revocation::Kind::kFamily);
  // Until the last access token the family could mint has expired.
  EXPECT_EQ(live[0].expires_at,
            h.clock.Now() + absl::Hours(24 * 90) + absl::Minutes(15) + absl::Seconds(30));
}

TEST(RevokeTest, UnknownOrMalformedRefreshTokenIsOk) {
  ServiceHarness h;
  absl::StatusOr<jwt::SecretData> unknown = GenerateRefreshToken();
  ASSERT_TRUE(unknown.ok());
  EXPECT_TRUE(
      h.service->Revoke(Revoke(Target::kRefreshToken, std::string(unknown->ExposeSecret()))).ok());
  EXPECT_TRUE(h.service->Revoke(Revoke(Target::kRefreshToken, "rt1.nope")).ok());
  EXPECT_TRUE(Live(h).empty());
}

TEST(RevokeTest, BySubjectRevokesEarlierTokensAndFamilies) {
  ServiceHarness h;
  IssuedTokens issued = h.MustIssue(h.BasicIssue(/*with_refresh=*/true));
  h.clock.Advance(absl::Milliseconds(200));
  ASSERT_TRUE(h.service->Revoke(Revoke(Target::kSubject, "user-1", "offboarded")).ok());
  EXPECT_EQ(h.VerifyReason(issued.access_token), InvalidReason::kRevoked);
  EXPECT_EQ(h.service->Refresh(RefreshParams{issued.refresh_token, {}, ""}).status().code(),
            absl::StatusCode::kUnauthenticated);

  std::vector<storage::Revocation> live = Live(h);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].kind, storage::Revocation::Kind::kSubject);
  EXPECT_EQ(live[0].not_before, h.clock.Now());
  EXPECT_EQ(live[0].expires_at, h.clock.Now() + absl::Hours(24 * 90) + absl::Seconds(30));

  h.clock.Advance(absl::Seconds(1));
  IssuedTokens later = h.MustIssue(h.BasicIssue(/*with_refresh=*/true));
  EXPECT_EQ(h.VerifyReason(later.access_token), InvalidReason::kNone);
  EXPECT_TRUE(h.service->Refresh(RefreshParams{later.refresh_token, {}, ""}).ok());
}

TEST(RevokeTest, RejectsBadRequests) {
  ServiceHarness h;
  for (Target target :
       {Target::kAccessToken, Target::kTokenId, Target::kRefreshToken, Target::kSubject}) {
    EXPECT_EQ(h.service->Revoke(Revoke(target, "")).code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(h.service->Revoke(Revoke(Target::kTokenId, "jti", std::string(257, 'r'))).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(h.service->Revoke(Revoke(Target::kTokenId, "jti", "line\nbreak")).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(h.service->Revoke(Revoke(Target::kTokenId, std::string(300, 'j'))).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(h.service->Revoke(Revoke(Target::kSubject, "bad\x01subject")).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Live(h).empty());
  EXPECT_TRUE(h.service->Revoke(Revoke(Target::kTokenId, "jti", std::string(256, 'r'))).ok());
}

TEST(RevokeTest, StoreUnavailableFailsRevokeButNotVerifyOrIssue) {
  FailingTokenStore failing;
  ServiceHarness h(TestConfig(), &failing);
  IssuedTokens issued = h.MustIssue(h.BasicIssue());
  for (Target target : {Target::kAccessToken, Target::kTokenId, Target::kSubject}) {
    const std::string value = target == Target::kAccessToken ? issued.access_token
                              : target == Target::kTokenId   ? issued.token_id
                                                             : "user-1";
    EXPECT_EQ(h.service->Revoke(Revoke(target, value)).code(), absl::StatusCode::kUnavailable);
  }
  absl::StatusOr<jwt::SecretData> refresh = GenerateRefreshToken();
  ASSERT_TRUE(refresh.ok());
  EXPECT_EQ(
      h.service->Revoke(Revoke(Target::kRefreshToken, std::string(refresh->ExposeSecret()))).code(),
      absl::StatusCode::kUnavailable);
  // Nothing was applied locally without being durable first.
  EXPECT_EQ(h.VerifyReason(issued.access_token), InvalidReason::kNone);
  EXPECT_TRUE(h.service->Issue(h.BasicIssue()).ok());
  EXPECT_EQ(tokend::testing::MetricValue(h.registry, "tokend_store_errors_total",
                                         {{"operation", "AddRevocation"}, {"code", "Unavailable"}}),
            3.0);
}

TEST(RevokeTest, AnOutageNeverShowsTheDatabasesAddressToTheCaller) {
  FailingTokenStore failing(absl::UnavailableError(
      "connection to server at \"db.internal\" (10.1.2.3), port 5432 failed: Connection refused"));
  ServiceHarness h(TestConfig(), &failing);
  IssuedTokens issued = h.MustIssue(h.BasicIssue());
  absl::Status revoked = h.service->Revoke(Revoke(Target::kTokenId, issued.token_id));
  EXPECT_EQ(revoked.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(revoked.message(), "the token store is unavailable; retry later");
  absl::StatusOr<IssuedTokens> with_refresh = h.service->Issue(h.BasicIssue(/*with_refresh=*/true));
  ASSERT_FALSE(with_refresh.ok());
  EXPECT_EQ(with_refresh.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(with_refresh.status().message().find("10.1.2.3"), absl::string_view::npos);
  EXPECT_EQ(with_refresh.status().message().find("5432"), absl::string_view::npos);
}

TEST(RevokeTest, ClientMismatchOnRefreshTokenIsPermissionDenied) {
  ServiceHarness h;
  IssuedTokens issued = h.MustIssue(h.BasicIssue(/*with_refresh=*/true));
  RevokeParams params = Revoke(Target::kRefreshToken, issued.refresh_token);
  params.client_id = "client-b";
  EXPECT_EQ(h.service->Revoke(params).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(Live(h).empty());
  params.client_id = "client-a";
  EXPECT_TRUE(h.service->Revoke(params).ok());
}

}  // namespace
}  // namespace tokend::core
