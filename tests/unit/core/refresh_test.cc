// Refresh of core::TokenService: rotation, reuse detection, grace retries, down-scoping,
// lifetimes, client binding, store failures and concurrency, against a MemoryTokenStore.

#include <atomic>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/barrier.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/tokend/core/refresh_tokens.h"
#include "services/tokend/core/token_service.h"
#include "tests/testing/metric_value.h"
#include "tests/unit/core/service_harness.h"

namespace tokend::core {
namespace {

using ::testing::ElementsAre;
using testing::FailingTokenStore;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::ServiceHarness;
using testing::TestConfig;

RefreshParams Params(const std::string& refresh_token, std::vector<std::string> scopes = {}) {
  RefreshParams params;
  params.refresh_token = refresh_token;
  params.scopes = std::move(scopes);
  return params;
}

double RefreshCount(ServiceHarness& h, const char* outcome) {
  return tokend::testing::MetricValue(h.registry, "tokend_refresh_total", {{"outcome", outcome}})
      .value_or(-1);
}

TEST(RefreshTest, RotatesToANewPairInTheSameFamily) {
  ServiceHarness h;
  IssueParams issue = h.BasicIssue(/*with_refresh=*/true);
  issue.audiences = {"api://orders", "api://billing"};
  issue.custom_claims_json = R"({"tenant":"acme"})";
  IssuedTokens first = h.MustIssue(issue);
  h.clock.Advance(absl::Minutes(1));

  absl::StatusOr<IssuedTokens> second = h.service->Refresh(Params(first.refresh_token));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_NE(second->refresh_token, first.refresh_token);
  EXPECT_TRUE(IsWellFormedRefreshToken(second->refresh_token));
  EXPECT_NE(second->token_id, first.token_id);
  EXPECT_EQ(second->refresh_expires_at, h.clock.Now() + absl::Hours(24 * 14));

  absl::StatusOr<VerifyOutcome> a = h.service->Verify({first.access_token, "api://orders", {}});
  absl::StatusOr<VerifyOutcome> b = h.service->Verify({second->access_token, "api://billing", {}});
  ASSERT_TRUE(a.ok() && a->valid());
  ASSERT_TRUE(b.ok() && b->valid());
  // Same family (sid), audiences, scopes, client and custom claims.
  EXPECT_EQ(b->token->session_id(), a->token->session_id());
  EXPECT_THAT(b->token->audiences(), ElementsAre("api://orders", "api://billing"));
  EXPECT_THAT(b->token->scopes(), ElementsAre("orders.read", "orders.write"));
  EXPECT_EQ(b->token->client_id(), "client-a");
  EXPECT_EQ(b->token->subject(), "user-1");
  EXPECT_THAT(b->token->payload_json(), HasSubstr(R"("tenant":"acme")"));
  EXPECT_EQ(b->token->expires_at(), h.clock.Now() + absl::Minutes(10));

  // The child works once too.
  h.clock.Advance(absl::Minutes(1));
  EXPECT_TRUE(h.service->Refresh(Params(second->refresh_token)).ok());
  EXPECT_EQ(RefreshCount(h, "rotated"), 2.0);
}

TEST(RefreshTest, ReusedTokenRevokesWholeFamily) {
  ServiceHarness h;
  IssuedTokens first = h.MustIssue(h.BasicIssue(/*with_refresh=*/true));
  absl::StatusOr<IssuedTokens> second = h.service->Refresh(Params(first.refresh_token));
  ASSERT_TRUE(second.ok());
  h.clock.Advance(absl::Seconds(11));  // past the 10 s grace

  absl::StatusOr<IssuedTokens> replay = h.service->Refresh(Params(first.refresh_token));
  EXPECT_EQ(replay.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(replay.status().message(), Not(HasSubstr(first.refresh_token)));
  EXPECT_EQ(RefreshCount(h, "reuse_detected"), 1.0);
  EXPECT_EQ(tokend::testing::MetricValue(h.registry, "tokend_refresh_reuse_detected_total"), 1.0);

  // The legitimate child is dead too, and so is every access token of the family.
  EXPECT_EQ(h.service->Refresh(Params(second->refresh_token)).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(h.VerifyReason(first.access_token), InvalidReason::kRevoked);
  EXPECT_EQ(h.VerifyReason(second->access_token), InvalidReason::kRevoked);

  // Durably: a reload from the store keeps the family revoked, well past the family's end.
  absl::StatusOr<std::vector<storage::Revocation>> live =
      h.store.ListLiveRevocations(h.clock.Now());
  ASSERT_TRUE(live.ok());
  ASSERT_EQ(live->size(), 1u);
  EXPECT_EQ((*live)[0].kind, storage::Revocation::Kind::kFamily);
  EXPECT_GE((*live)[0].expires_at, first.refresh_expires_at);
}

TEST(RefreshTest, RetryWithinGraceGetsTheSameChild) {
  ServiceHarness h;
  IssuedTokens first = h.MustIssue(h.BasicIssue(/*with_refresh=*/true));
  absl::StatusOr<IssuedTokens> a = h.service->Refresh(Params(first.refresh_token));
  ASSERT_TRUE(a.ok());
  h.clock.Advance(absl::Seconds(9));
  absl::StatusOr<IssuedTokens> b = h.service->Refresh(Params(first.refresh_token));
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->refresh_token, a->refresh_token);
  EXPECT_EQ(b->refresh_expires_at, a->refresh_expires_at);
  EXPECT_NE(b->token_id, a->token_id) << "a fresh access token each time";
  EXPECT_EQ(h.VerifyReason(b->access_token), InvalidReason::kNone);
  EXPECT_EQ(RefreshCount(h, "grace_retry"), 1.0);
  // The child still works once.
  EXPECT_TRUE(h.service->Refresh(Params(a->refresh_token)).ok());
}

TEST(RefreshTest, ZeroGraceTreatsAnImmediateRetryAsReuse) {
  ServiceConfig config = TestConfig();
  config.refresh_reuse_grace = absl::ZeroDuration();
  ServiceHarness h(config);
  IssuedTokens first = h.MustIssue(h.BasicIssue(/*with_refresh=*/true));
  ASSERT_TRUE(h.service->Refresh(Params(first.refresh_token)).ok());
  EXPECT_EQ(h.service->Refresh(Params(first.refresh_token)).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(RefreshCount(h, "reuse_detected"), 1.0);
}

TEST(RefreshTest, DownScopingToASubsetNarrowsOnlyTheAccessToken) {
  ServiceHarness h;
  IssuedTokens first = h.MustIssue(h.BasicIssue(/*with_refresh=*/true));
  absl::StatusOr<IssuedTokens> narrow =
      h.service->Refresh(Params(first.refresh_token, {"orders.read"}));
  ASSERT_TRUE(narrow.ok()) << narrow.status();
  absl::StatusOr<VerifyOutcome> outcome =
      h.service->Verify({narrow->access_token, "api://orders", {}});
  ASSERT_TRUE(outcome.ok() && outcome->valid());
  EXPECT_THAT(outcome->token->scopes(), ElementsAre("orders.read"));

  // The child keeps the family's full grant.
  absl::StatusOr<IssuedTokens> full = h.service->Refresh(Params(narrow->refresh_token));
  ASSERT_TRUE(full.ok());
  outcome = h.service->Verify({full->access_token, "api://orders", {}});
  ASSERT_TRUE(outcome.ok() && outcome->valid());
  EXPECT_THAT(outcome->token->scopes(), ElementsAre("orders.read", "orders.write"));
}

TEST(RefreshTest, ScopesBeyondTheGrantAreRejectedWithoutSpending) {
  ServiceHarness h;
  IssuedTokens first = h.MustIssue(h.BasicIssue(/*with_refresh=*/true));
  absl::StatusOr<IssuedTokens> wider =
      h.service->Refresh(Params(first.refresh_token, {"orders.read", "orders.admin"}));
  EXPECT_EQ(wider.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(h.service->Refresh(Params(first.refresh_token)).ok()) << "not spent";
}

TEST(RefreshTest, FamilyHasAnAbsoluteLifetime) {
  ServiceConfig config = TestConfig();
  config.refresh_ttl = absl::Hours(10);
  config.refresh_family_ttl = absl::Hours(24);
  ServiceHarness h(config);
  const absl::Time start = h.clock.Now();
  IssuedTokens issued = h.MustIssue(h.BasicIssue(/*with_refresh=*/true));
  EXPECT_EQ(issued.refresh_expires_at, start + absl::Hours(10));

  std::string token = issued.refresh_token;
  for (int i = 0; i < 2; ++i) {
    h.clock.Advance(absl::Hours(9));
    h.SyncDenylist();
    absl::StatusOr<IssuedTokens> next = h.service->Refresh(Params(token));
    ASSERT_TRUE(next.ok()) << i << ": " << next.status();
    // min(now + refresh_ttl, family end): the second child is capped by the family.
    EXPECT_EQ(next->refresh_expires_at,
              std::min(h.clock.Now() + absl::Hours(10), start + absl::Hours(24)));
    token = next->refresh_token;
  }
  h.clock.Advance(absl::Hours(5) + absl::Minutes(59));  // 23:59 after the start
  h.SyncDenylist();
  absl::StatusOr<IssuedTokens> last = h.service->Refresh(Params(token));
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_EQ(last->refresh_expires_at, start + absl::Hours(24));
  h.clock.Advance(absl::Minutes(2));  // the family is over, though refresh_ttl is not
  h.SyncDenylist();
  absl::StatusOr<IssuedTokens> late = h.service->Refresh(Params(last->refresh_token));
  EXPECT_EQ(late.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(RefreshCount(h, "expired"), 1.0);
}

TEST(RefreshTest, TokenPastItsOwnLifetimeIsRejected) {
  ServiceConfig config = TestConfig();
  config.refresh_ttl = absl::Hours(1);
  ServiceHarness h(config);
  IssuedTokens issued = h.MustIssue(h.BasicIssue(/*with_refresh=*/true));
  h.clock.Advance(absl::Hours(1));
  h.SyncDenylist();
  EXPECT_EQ(h.service->Refresh(Params(issued.refresh_token)).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(RefreshCount(h, "expired"), 1.0);
}

TEST(RefreshTest, ClientMismatchIsPermissionDeniedWithoutSpending) {
  ServiceHarness h;
  IssuedTokens issued = h.MustIssue(h.BasicIssue(/*with_refresh=*/true));
  RefreshParams params = Params(issued.refresh_token);
  params.client_id = "client-b";
  EXPECT_EQ(h.service->Refresh(params).status().code(), absl::StatusCode::kPermissionDenied);
  params.client_id = "client-a";
  EXPECT_TRUE(h.service->Refresh(params).ok()) << "the right client may still use it";
}

TEST(RefreshTest, UnknownAndMalformedTokensAreUnauthenticatedWithAFixedMessage) {
  ServiceHarness h;
  absl::StatusOr<jwt::SecretData> unknown = GenerateRefreshToken();
  ASSERT_TRUE(unknown.ok());
  const std::string candidates[] = {
      std::string(unknown->ExposeSecret()),
      "",
      "rt1.short",
      "rt2." + std::string(43, 'A'),
      "rt1." + std::string(42, 'A') + "!",
      "rt1." + std::string(43, 'A') + "A",
  };
  std::set<std::string> messages;
  for (const std::string& token : candidates) {
    absl::StatusOr<IssuedTokens> result = h.service->Refresh(Params(token));
    EXPECT_EQ(result.status().code(), absl::StatusCode::kUnauthenticated) << token;
    if (!token.empty()) {
      EXPECT_THAT(result.status().message(), Not(HasSubstr(token)));
    }
    messages.insert(std::string(result.status().message()));
  }
  EXPECT_EQ(messages.size(), 1u);
}

TEST(RefreshTest, RevokedFamilyIsUnauthenticated) {
  ServiceHarness h;
  IssuedTokens issued = h.MustIssue(h.BasicIssue(/*with_refresh=*/true));
  ASSERT_TRUE(
      h.service->Revoke({storage::RevokeTarget::kRefreshToken, issued.refresh_token, "", ""}).ok());
  EXPECT_EQ(h.service->Refresh(Params(issued.refresh_token)).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(RefreshCount(h, "revoked"), 1.0);
}

TEST(RefreshTest, StoreUnavailablePassesThrough) {
  FailingTokenStore failing;
  ServiceHarness h(TestConfig(), &failing);
  absl::StatusOr<jwt::SecretData> token = GenerateRefreshToken();
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(h.service->Refresh(Params(std::string(token->ExposeSecret()))).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(RefreshCount(h, "error"), 1.0);
}

// A MemoryTokenStore that counts the calls a refresh makes.
class CountingTokenStore : public storage::MemoryTokenStore {
 public:
  absl::StatusOr<std::optional<storage::RefreshTokenRecord>> FindRefreshToken(
      const std::string& token_hash) override {
    ++finds;
    return MemoryTokenStore::FindRefreshToken(token_hash);
  }
  absl::StatusOr<storage::RotateResult> RotateRefreshToken(
      const storage::RotateRequest& request) override {
    ++rotations;
    return MemoryTokenStore::RotateRefreshToken(request);
  }
  absl::Status AddRevocation(const storage::Revocation& revocation) override {
    ++revocations;
    return MemoryTokenStore::AddRevocation(revocation);
  }
  int finds = 0;
  int rotations = 0;
  int revocations = 0;
};

TEST(RefreshTest, EveryRefreshIsOneStoreCall) {
  CountingTokenStore counting;
  ServiceHarness h(TestConfig(), &counting);
  IssuedTokens first = h.MustIssue(h.BasicIssue(/*with_refresh=*/true));
  RefreshParams other_client = Params(first.refresh_token);
  other_client.client_id = "client-b";
  absl::StatusOr<IssuedTokens> second = h.service->Refresh(Params(first.refresh_token));
  ASSERT_TRUE(second.ok());
  h.clock.Advance(absl::Seconds(1));
  EXPECT_TRUE(h.service->Refresh(Params(first.refresh_token)).ok());  // grace retry
  EXPECT_FALSE(h.service->Refresh(other_client).ok());
  EXPECT_FALSE(h.service->Refresh(Params(second->refresh_token, {"orders.admin"})).ok());
  h.clock.Advance(absl::Minutes(1));
  EXPECT_FALSE(h.service->Refresh(Params(first.refresh_token)).ok());  // reuse
  EXPECT_EQ(counting.rotations, 5);
  EXPECT_EQ(counting.finds, 0) << "no lookup before the rotation";
  EXPECT_EQ(counting.revocations, 0) << "the store wrote the reuse revocation itself";
}

TEST(RefreshTest, ReuseRevocationOutlivesTheFamilysLastAccessToken) {
  ServiceHarness h;
  IssuedTokens first = h.MustIssue(h.BasicIssue(/*with_refresh=*/true));
  const absl::Time family_end = h.clock.Now() + absl::Hours(24 * 90);
  ASSERT_TRUE(h.service->Refresh(Params(first.refresh_token)).ok());
  h.clock.Advance(absl::Minutes(1));
  ASSERT_FALSE(h.service->Refresh(Params(first.refresh_token)).ok());

  // Durable (what every replica reloads) and local, with one expiry: the family's end plus
  // access_ttl_max and the clock skew.
  absl::StatusOr<std::vector<storage::Revocation>> live =
      h.store.ListLiveRevocations(h.clock.Now());
  ASSERT_TRUE(live.ok());
  ASSERT_EQ(live->size(), 1u);
  EXPECT_EQ((*live)[0].expires_at, family_end + absl::Minutes(15) + absl::Seconds(30));
  EXPECT_EQ((*live)[0].reason, "refresh token reuse detected");
  h.SyncDenylist();  // a reload yields the same denylist as the local application did
  EXPECT_EQ(h.VerifyReason(first.access_token), InvalidReason::kRevoked);
}

TEST(RefreshTest, AnotherClientCannotBurnTheFamilyWithASpentToken) {
  ServiceHarness h;
  IssuedTokens first = h.MustIssue(h.BasicIssue(/*with_refresh=*/true));
  absl::StatusOr<IssuedTokens> second = h.service->Refresh(Params(first.refresh_token));
  ASSERT_TRUE(second.ok());
  h.clock.Advance(absl::Minutes(1));
  RefreshParams stolen = Params(first.refresh_token);
  stolen.client_id = "client-b";
  EXPECT_EQ(h.service->Refresh(stolen).status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(RefreshCount(h, "client_mismatch"), 1.0);
  EXPECT_EQ(RefreshCount(h, "reuse_detected"), 0.0);
  EXPECT_EQ(h.VerifyReason(second->access_token), InvalidReason::kNone);
  EXPECT_TRUE(h.service->Refresh(Params(second->refresh_token)).ok()) << "the family lives";
}

TEST(RefreshTest, EachRefreshIsCountedOnceUnderItsOutcome) {
  ServiceHarness h;
  IssuedTokens issued = h.MustIssue(h.BasicIssue(/*with_refresh=*/true));
  RefreshParams other_client = Params(issued.refresh_token);
  other_client.client_id = "client-b";
  EXPECT_FALSE(h.service->Refresh(other_client).ok());
  EXPECT_FALSE(h.service->Refresh(Params(issued.refresh_token, {"orders.admin"})).ok());
  EXPECT_FALSE(h.service->Refresh(Params(issued.refresh_token, {""})).ok());
  EXPECT_FALSE(h.service->Refresh(Params("rt1.nope")).ok());
  EXPECT_TRUE(h.service->Refresh(Params(issued.refresh_token)).ok());
  EXPECT_EQ(RefreshCount(h, "client_mismatch"), 1.0);
  EXPECT_EQ(RefreshCount(h, "invalid_request"), 2.0);
  EXPECT_EQ(RefreshCount(h, "not_found"), 1.0);
  EXPECT_EQ(RefreshCount(h, "rotated"), 1.0);
  double total = 0;
  for (const char* outcome : {"rotated", "grace_retry", "reuse_detected", "not_found", "expired",
                              "revoked", "client_mismatch", "invalid_request", "error"}) {
    total += RefreshCount(h, outcome);
  }
  EXPECT_EQ(total, 5.0);
}

TEST(RefreshConcurrencyTest, WithZeroGraceExactlyOneConcurrentRefreshWins) {
  ServiceConfig config = TestConfig();
  config.refresh_reuse_grace = absl::ZeroDuration();
  ServiceHarness h(config);
  IssuedTokens issued = h.MustIssue(h.BasicIssue(/*with_refresh=*/true));
  constexpr int kThreads = 16;
  absl::Barrier* start = new absl::Barrier(kThreads);  // deleted by the last thread through it
  std::atomic<int> ok{0};
  std::atomic<int> unauthenticated{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      if (start->Block()) delete start;
      absl::StatusOr<IssuedTokens> result = h.service->Refresh(Params(issued.refresh_token));
      if (result.ok()) {
        ++ok;
      } else if (result.status().code() == absl::StatusCode::kUnauthenticated) {
        ++unauthenticated;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(unauthenticated.load(), kThreads - 1);
}

TEST(RefreshConcurrencyTest, WithGraceEveryConcurrentRefreshGetsTheSameChild) {
  ServiceHarness h;
  IssuedTokens issued = h.MustIssue(h.BasicIssue(/*with_refresh=*/true));
  constexpr int kThreads = 16;
  absl::Barrier* start = new absl::Barrier(kThreads);
  std::vector<absl::StatusOr<IssuedTokens>> results(kThreads, absl::UnknownError("not run"));
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      if (start->Block()) delete start;
      results[i] = h.service->Refresh(Params(issued.refresh_token));
    });
  }
  for (std::thread& t : threads) t.join();
  std::set<std::string> children;
  std::set<std::string> access_ids;
  for (const auto& result : results) {
    ASSERT_TRUE(result.ok()) << result.status();
    children.insert(result->refresh_token);
    access_ids.insert(result->token_id);
  }
  EXPECT_EQ(children.size(), 1u);
  EXPECT_EQ(access_ids.size(), static_cast<size_t>(kThreads));
  EXPECT_EQ(RefreshCount(h, "rotated"), 1.0);
  EXPECT_EQ(RefreshCount(h, "grace_retry"), kThreads - 1.0);
}

}  // namespace
}  // namespace tokend::core
