#include "tests/conformance/token_store_conformance.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/refresh_token.h"
#include "storage/revocation.h"

namespace tokend::storage::conformance {
namespace {

using ::testing::IsEmpty;
using ::testing::SizeIs;

// Stores read no clock: every time is explicit, relative to one fixed instant.
const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);
const absl::Duration kTokenLifetime = absl::Hours(1);
const absl::Duration kFamilyLifetime = absl::Hours(24);

// A 32-byte hash with NUL and high bytes in it, so binary safety is exercised everywhere.
std::string Hash(int n) {
  std::string hash(32, '\0');
  hash[0] = static_cast<char>(0xff);
  hash[5] = static_cast<char>(n & 0xff);
  hash[6] = static_cast<char>((n >> 8) & 0xff);
  hash[31] = static_cast<char>(0x80 | (n % 100));
  return hash;
}

RefreshTokenRecord FirstToken(int hash, const std::string& family,
                              const std::string& subject = "alice", absl::Time issued = kT0) {
  RefreshTokenRecord record;
  record.token_hash = Hash(hash);
  record.family_id = family;
  record.subject = subject;
  record.client_id = "client-a";
  record.audiences = {"api"};
  record.scopes = {"read"};
  record.issued_at = issued;
  record.expires_at = issued + kTokenLifetime;
  record.family_expires_at = kT0 + kFamilyLifetime;
  return record;
}

RotateRequest Rotation(const RefreshTokenRecord& parent, int child_hash, absl::Time now,
                       absl::Duration grace = absl::ZeroDuration()) {
  RotateRequest request;
  request.parent_hash = parent.token_hash;
  request.child = ChildToken{Hash(child_hash), kTokenLifetime};
  request.now = now;
  request.reuse_grace = grace;
  request.reuse_reason = "refresh token reuse";
  return request;
}

// What a rotation of `parent` at `now` must store as the child: spelled out here rather than
// taken from ChildOf, so the suite checks the rule and not only that both stores share it.
RefreshTokenRecord ExpectedChild(const RefreshTokenRecord& parent, int child_hash, absl::Time now) {
  RefreshTokenRecord child;
  child.token_hash = Hash(child_hash);
  child.family_id = parent.family_id;
  child.parent_hash = parent.token_hash;
  child.subject = parent.subject;
  child.client_id = parent.client_id;
  child.audiences = parent.audiences;
  child.scopes = parent.scopes;
  child.custom_claims_json = parent.custom_claims_json;
  child.issued_at = now;
  child.expires_at = std::min(now + kTokenLifetime, parent.family_expires_at);
  child.family_expires_at = parent.family_expires_at;
  return child;
}

Revocation MakeRevocation(Revocation::Kind kind, const std::string& key, absl::Time not_before,
                          absl::Time expires_at, absl::Time revoked_at = kT0,
                          const std::string& reason = "test") {
  Revocation revocation;
  revocation.kind = kind;
  revocation.key = key;
  revocation.not_before = not_before;
  revocation.expires_at = expires_at;
  revocation.revoked_at = revoked_at;
  revocation.reason = reason;
  return revocation;
}

void ExpectSameRecord(const RefreshTokenRecord& actual, const RefreshTokenRecord& expected) {
  EXPECT_EQ(actual.token_hash, expected.token_hash);
  EXPECT_EQ(actual.family_id, expected.family_id);
  EXPECT_EQ(actual.parent_hash, expected.parent_hash);
  EXPECT_EQ(actual.subject, expected.subject);
  EXPECT_EQ(actual.client_id, expected.client_id);
  EXPECT_EQ(actual.audiences, expected.audiences);
  EXPECT_EQ(actual.scopes, expected.scopes);
  EXPECT_EQ(actual.custom_claims_json, expected.custom_claims_json);
  EXPECT_EQ(actual.issued_at, expected.issued_at);
  EXPECT_EQ(actual.expires_at, expected.expires_at);
  EXPECT_EQ(actual.family_expires_at, expected.family_expires_at);
  EXPECT_EQ(actual.spent_at, expected.spent_at);
  EXPECT_EQ(actual.child_hash, expected.child_hash);
  EXPECT_EQ(actual.family_revoked, expected.family_revoked);
}

void ExpectSameRevocation(const Revocation& actual, const Revocation& expected) {
  EXPECT_EQ(actual.kind, expected.kind);
  EXPECT_EQ(actual.key, expected.key);
  EXPECT_EQ(actual.not_before, expected.not_before);
  EXPECT_EQ(actual.expires_at, expected.expires_at);
  EXPECT_EQ(actual.revoked_at, expected.revoked_at);
}

// The record stored for `hash`; a test failure (and an empty record) if there is none.
RefreshTokenRecord MustFind(TokenStore& store, const std::string& hash) {
  absl::StatusOr<std::optional<RefreshTokenRecord>> found = store.FindRefreshToken(hash);
  EXPECT_TRUE(found.ok()) << found.status();
  if (!found.ok() || !found->has_value()) {
    ADD_FAILURE() << "refresh token not found";
    return RefreshTokenRecord();
  }
  return **found;
}

bool Exists(TokenStore& store, const std::string& hash) {
  absl::StatusOr<std::optional<RefreshTokenRecord>> found = store.FindRefreshToken(hash);
  EXPECT_TRUE(found.ok()) << found.status();
  return found.ok() && found->has_value();
}

RotateOutcome MustRotate(TokenStore& store, const RotateRequest& request) {
  absl::StatusOr<RotateResult> result = store.RotateRefreshToken(request);
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? result->outcome : RotateOutcome::kNotFound;
}

std::vector<Revocation> Live(TokenStore& store, absl::Time now) {
  absl::StatusOr<std::vector<Revocation>> live = store.ListLiveRevocations(now);
  EXPECT_TRUE(live.ok()) << live.status();
  if (!live.ok()) return {};
  std::vector<Revocation> sorted = *live;
  std::sort(sorted.begin(), sorted.end(), [](const Revocation& a, const Revocation& b) {
    return std::tie(a.kind, a.key) < std::tie(b.kind, b.key);
  });
  return sorted;
}

// Collects what a feed delivers, for a bounded wait.
class FeedRecorder {
 public:
  RevocationFeed::Callbacks Callbacks() {
    RevocationFeed::Callbacks callbacks;
    callbacks.on_revocation = [this](const Revocation& revocation) {
      absl::MutexLock lock(&mu_);
      received_.push_back(revocation);
    };
    callbacks.on_gap = [this] {
      absl::MutexLock lock(&mu_);
      ++gaps_;
    };
    return callbacks;
  }

  // The first delivered revocation with this key, waiting up to `timeout`.
  std::optional<Revocation> WaitFor(const std::string& key, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    const auto has_key = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return std::any_of(received_.begin(), received_.end(),
                         [&](const Revocation& r) { return r.key == key; });
    };
    const absl::Condition condition(&has_key);
    if (!mu_.AwaitWithTimeout(condition, timeout)) return std::nullopt;
    for (const Revocation& revocation : received_) {
      if (revocation.key == key) return revocation;
    }
    return std::nullopt;
  }

 private:
  absl::Mutex mu_;
  std::vector<Revocation> received_ ABSL_GUARDED_BY(mu_);
  int gaps_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace

void TokenStoreConformanceTest::SetUp() {
  harness_ = GetParam().make();
  if (IsSkipped() || HasFatalFailure()) return;
  ASSERT_NE(harness_, nullptr) << "could not set up " << GetParam().name;
}

void TokenStoreConformanceTest::TearDown() { harness_.reset(); }

std::string ImplementationName(const ::testing::TestParamInfo<StoreImplementation>& info) {
  return info.param.name;
}

void PrintTo(const StoreImplementation& implementation, std::ostream* os) {
  *os << implementation.name;
}

// ---- insert and find -----------------------------------------------------------------------

TEST_P(TokenStoreConformanceTest, InsertedTokenIsFoundWithEveryField) {
  RefreshTokenRecord record = FirstToken(1, "family-1");
  record.audiences = {"api",  "with,comma", "with \"quotes\"", "back\\slash", "{braces}",
                      "NULL", "",           "ünïcødé ✓"};
  record.scopes = {"read", "write", "a b"};
  record.custom_claims_json = R"({"tier":"gold","n":[1,2],"s":"x\"y"})";
  record.issued_at = kT0 + absl::Microseconds(123456);
  record.expires_at = record.issued_at + kTokenLifetime;
  ASSERT_TRUE(store().InsertRefreshToken(record).ok());

  RefreshTokenRecord empty_lists = FirstToken(2, "family-2");
  empty_lists.audiences.clear();
  empty_lists.scopes.clear();
  ASSERT_TRUE(store().InsertRefreshToken(empty_lists).ok());

  ExpectSameRecord(MustFind(store(), record.token_hash), record);
  ExpectSameRecord(MustFind(store(), empty_lists.token_hash), empty_lists);
}

TEST_P(TokenStoreConformanceTest, UnknownHashIsNotFound) {
  ASSERT_TRUE(store().InsertRefreshToken(FirstToken(1, "family-1")).ok());
  EXPECT_FALSE(Exists(store(), Hash(2)));
}

TEST_P(TokenStoreConformanceTest, DuplicateHashIsAlreadyExists) {
  ASSERT_TRUE(store().InsertRefreshToken(FirstToken(1, "family-1")).ok());
  EXPECT_EQ(store().InsertRefreshToken(FirstToken(1, "family-2")).code(),
            absl::StatusCode::kAlreadyExists);
}

TEST_P(TokenStoreConformanceTest, MalformedInputIsInvalidArgument) {
  RefreshTokenRecord no_hash = FirstToken(1, "family-1");
  no_hash.token_hash.clear();
  RefreshTokenRecord no_family = FirstToken(1, "");
  RefreshTokenRecord nul_subject = FirstToken(1, "family-1", std::string("ali\0ce", 6));
  RefreshTokenRecord bad_utf8 = FirstToken(1, "family-1");
  bad_utf8.scopes = {"\xc3\x28"};
  RefreshTokenRecord spent = FirstToken(1, "family-1");
  spent.spent_at = kT0;
  spent.child_hash = Hash(2);
  for (const RefreshTokenRecord& record : {no_hash, no_family, nul_subject, bad_utf8, spent}) {
    EXPECT_EQ(store().InsertRefreshToken(record).code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_FALSE(Exists(store(), Hash(1)));

  EXPECT_EQ(
      store()
          .AddRevocation(MakeRevocation(Revocation::Kind::kTokenId, "", kT0, kT0 + absl::Hours(1)))
          .code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store()
                .AddRevocation(MakeRevocation(Revocation::Kind::kTokenId, std::string("a\0b", 3),
                                              kT0, kT0 + absl::Hours(1)))
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Live(store(), kT0), IsEmpty());

  const RefreshTokenRecord parent = FirstToken(1, "family-1");
  ASSERT_TRUE(store().InsertRefreshToken(parent).ok());
  RotateRequest self_parented = Rotation(parent, 1, kT0 + absl::Minutes(1));
  EXPECT_EQ(store().RotateRefreshToken(self_parented).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store().PruneExpired(kT0, 0).status().code(), absl::StatusCode::kInvalidArgument);
}

// ---- rotation outcomes ---------------------------------------------------------------------

TEST_P(TokenStoreConformanceTest, LiveParentIsRotated) {
  RefreshTokenRecord parent = FirstToken(1, "family-1");
  parent.audiences = {"api", "billing"};
  parent.scopes = {"read", "write"};
  parent.custom_claims_json = R"({"tier":"gold"})";
  ASSERT_TRUE(store().InsertRefreshToken(parent).ok());
  const absl::Time now = kT0 + absl::Minutes(5);
  const RotateRequest request = Rotation(parent, 2, now);

  absl::StatusOr<RotateResult> result = store().RotateRefreshToken(request);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->outcome, RotateOutcome::kRotated);
  ASSERT_TRUE(result->parent.has_value());
  ExpectSameRecord(*result->parent, parent);  // as it was before the call
  // The child inherits family, subject, client, audiences, the full grant and custom claims.
  const RefreshTokenRecord child = ExpectedChild(parent, 2, now);
  ASSERT_TRUE(result->child.has_value());
  ExpectSameRecord(*result->child, child);

  RefreshTokenRecord spent = parent;
  spent.spent_at = now;
  spent.child_hash = request.child.token_hash;
  ExpectSameRecord(MustFind(store(), parent.token_hash), spent);
  ExpectSameRecord(MustFind(store(), request.child.token_hash), child);
  EXPECT_THAT(Live(store(), now), IsEmpty());
}

TEST_P(TokenStoreConformanceTest, ChildLifetimeIsCappedByTheFamily) {
  RefreshTokenRecord parent = FirstToken(1, "family-1");
  parent.family_expires_at = kT0 + absl::Minutes(90);
  ASSERT_TRUE(store().InsertRefreshToken(parent).ok());
  const absl::Time now = kT0 + absl::Minutes(50);  // now + kTokenLifetime is past the family
  ASSERT_EQ(MustRotate(store(), Rotation(parent, 2, now)), RotateOutcome::kRotated);
  EXPECT_EQ(MustFind(store(), Hash(2)).expires_at, parent.family_expires_at);
  ExpectSameRecord(MustFind(store(), Hash(2)), ExpectedChild(parent, 2, now));
}

TEST_P(TokenStoreConformanceTest, RetryWithinGraceWithTheSameChildIsAGraceRetry) {
  const RefreshTokenRecord parent = FirstToken(1, "family-1");
  ASSERT_TRUE(store().InsertRefreshToken(parent).ok());
  const absl::Time first = kT0 + absl::Minutes(5);
  ASSERT_EQ(MustRotate(store(), Rotation(parent, 2, first, absl::Seconds(10))),
            RotateOutcome::kRotated);
  const RefreshTokenRecord child = MustFind(store(), Hash(2));

  const RotateRequest retry = Rotation(parent, 2, first + absl::Seconds(10), absl::Seconds(10));
  absl::StatusOr<RotateResult> result = store().RotateRefreshToken(retry);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->outcome, RotateOutcome::kGraceRetry);
  ASSERT_TRUE(result->parent.has_value());
  EXPECT_EQ(result->parent->spent_at, first);
  EXPECT_EQ(result->parent->child_hash, Hash(2));
  // The child the first call stored, so the caller can hand out the same one again.
  ASSERT_TRUE(result->child.has_value());
  ExpectSameRecord(*result->child, child);

  // Nothing changed.
  ExpectSameRecord(MustFind(store(), Hash(2)), child);
  EXPECT_EQ(MustFind(store(), parent.token_hash).spent_at, first);
  EXPECT_FALSE(MustFind(store(), parent.token_hash).family_revoked);
  EXPECT_THAT(Live(store(), first), IsEmpty());
}

TEST_P(TokenStoreConformanceTest, RetryWithinGraceWithAnotherChildIsReuse) {
  const RefreshTokenRecord parent = FirstToken(1, "family-1");
  ASSERT_TRUE(store().InsertRefreshToken(parent).ok());
  const absl::Time first = kT0 + absl::Minutes(5);
  ASSERT_EQ(MustRotate(store(), Rotation(parent, 2, first, absl::Seconds(10))),
            RotateOutcome::kRotated);

  EXPECT_EQ(MustRotate(store(), Rotation(parent, 3, first + absl::Seconds(1), absl::Seconds(10))),
            RotateOutcome::kReuseDetected);
  EXPECT_FALSE(Exists(store(), Hash(3)));
  EXPECT_TRUE(MustFind(store(), Hash(2)).family_revoked);
}

TEST_P(TokenStoreConformanceTest, ZeroGraceNeverAcceptsARetry) {
  const RefreshTokenRecord parent = FirstToken(1, "family-1");
  ASSERT_TRUE(store().InsertRefreshToken(parent).ok());
  const absl::Time now = kT0 + absl::Minutes(5);
  ASSERT_EQ(MustRotate(store(), Rotation(parent, 2, now)), RotateOutcome::kRotated);
  EXPECT_EQ(MustRotate(store(), Rotation(parent, 2, now)), RotateOutcome::kReuseDetected);
}

TEST_P(TokenStoreConformanceTest, ReuseOutsideGraceRevokesTheWholeFamily) {
  const RefreshTokenRecord parent = FirstToken(1, "family-1");
  const RefreshTokenRecord other = FirstToken(9, "family-9");
  ASSERT_TRUE(store().InsertRefreshToken(parent).ok());
  ASSERT_TRUE(store().InsertRefreshToken(other).ok());
  const absl::Time first = kT0 + absl::Minutes(5);
  ASSERT_EQ(MustRotate(store(), Rotation(parent, 2, first, absl::Seconds(10))),
            RotateOutcome::kRotated);
  const RefreshTokenRecord child = MustFind(store(), Hash(2));
  ASSERT_EQ(MustRotate(store(), Rotation(child, 3, first + absl::Minutes(1), absl::Seconds(10))),
            RotateOutcome::kRotated);

  // The first parent comes back long after the grace window: someone holds a stolen copy.
  const absl::Time replay = first + absl::Minutes(10);
  RotateRequest reuse = Rotation(parent, 2, replay, absl::Seconds(10));
  reuse.reuse_reason = "reuse of a spent refresh token";
  absl::StatusOr<RotateResult> result = store().RotateRefreshToken(reuse);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->outcome, RotateOutcome::kReuseDetected);
  ASSERT_TRUE(result->parent.has_value());
  EXPECT_EQ(result->parent->family_id, "family-1");
  EXPECT_FALSE(result->parent->family_revoked);  // as it was before the call

  // Every token of the family is revoked, the latest child included; other families are not.
  EXPECT_TRUE(MustFind(store(), Hash(1)).family_revoked);
  EXPECT_TRUE(MustFind(store(), Hash(2)).family_revoked);
  EXPECT_TRUE(MustFind(store(), Hash(3)).family_revoked);
  EXPECT_FALSE(MustFind(store(), Hash(9)).family_revoked);
  EXPECT_EQ(MustRotate(store(), Rotation(MustFind(store(), Hash(3)), 4, replay)),
            RotateOutcome::kRevoked);
  EXPECT_EQ(MustRotate(store(), Rotation(other, 10, replay)), RotateOutcome::kRotated);

  // A durable kFamily revocation covers the family's access tokens.
  const std::vector<Revocation> live = Live(store(), replay);
  ASSERT_THAT(live, SizeIs(1));
  Revocation expected = MakeRevocation(Revocation::Kind::kFamily, "family-1", replay,
                                       parent.family_expires_at, replay);
  ExpectSameRevocation(live[0], expected);
  EXPECT_EQ(live[0].reason, "reuse of a spent refresh token");

  // A second replay is still reported as reuse, and adds nothing.
  EXPECT_EQ(MustRotate(store(), Rotation(parent, 2, replay + absl::Minutes(1))),
            RotateOutcome::kReuseDetected);
  ASSERT_THAT(Live(store(), replay), SizeIs(1));
  ExpectSameRevocation(Live(store(), replay)[0], expected);
}

TEST_P(TokenStoreConformanceTest, UnknownParentIsNotFound) {
  ASSERT_TRUE(store().InsertRefreshToken(FirstToken(1, "family-1")).ok());
  absl::StatusOr<RotateResult> result =
      store().RotateRefreshToken(Rotation(FirstToken(5, "family-1"), 6, kT0 + absl::Minutes(1)));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->outcome, RotateOutcome::kNotFound);
  EXPECT_FALSE(result->parent.has_value());
  EXPECT_FALSE(Exists(store(), Hash(6)));
}

TEST_P(TokenStoreConformanceTest, ExpiredParentIsExpiredAndUnchanged) {
  const RefreshTokenRecord parent = FirstToken(1, "family-1");
  ASSERT_TRUE(store().InsertRefreshToken(parent).ok());
  absl::StatusOr<RotateResult> result =
      store().RotateRefreshToken(Rotation(parent, 2, parent.expires_at));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->outcome, RotateOutcome::kExpired);
  ASSERT_TRUE(result->parent.has_value());
  ExpectSameRecord(*result->parent, parent);
  ExpectSameRecord(MustFind(store(), parent.token_hash), parent);
  EXPECT_FALSE(Exists(store(), Hash(2)));
  // One microsecond earlier it was still live.
  EXPECT_EQ(MustRotate(store(), Rotation(parent, 2, parent.expires_at - absl::Microseconds(1))),
            RotateOutcome::kRotated);
}

TEST_P(TokenStoreConformanceTest, ExpiredFamilyIsExpiredEvenForASpentParent) {
  const RefreshTokenRecord parent = FirstToken(1, "family-1");
  ASSERT_TRUE(store().InsertRefreshToken(parent).ok());
  ASSERT_EQ(MustRotate(store(), Rotation(parent, 2, kT0 + absl::Minutes(5))),
            RotateOutcome::kRotated);
  RefreshTokenRecord child = MustFind(store(), Hash(2));

  const absl::Time after_family = parent.family_expires_at;
  EXPECT_EQ(MustRotate(store(), Rotation(child, 3, after_family)), RotateOutcome::kExpired);
  EXPECT_EQ(MustRotate(store(), Rotation(parent, 4, after_family)), RotateOutcome::kExpired);
  EXPECT_FALSE(MustFind(store(), Hash(2)).family_revoked);
  EXPECT_THAT(Live(store(), kT0), IsEmpty());
}

TEST_P(TokenStoreConformanceTest, RevokedFamilyAnswersRevoked) {
  const RefreshTokenRecord parent = FirstToken(1, "family-1");
  ASSERT_TRUE(store().InsertRefreshToken(parent).ok());
  ASSERT_TRUE(store()
                  .AddRevocation(MakeRevocation(Revocation::Kind::kFamily, "family-1", kT0,
                                                parent.family_expires_at))
                  .ok());
  absl::StatusOr<RotateResult> result =
      store().RotateRefreshToken(Rotation(parent, 2, kT0 + absl::Minutes(1)));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->outcome, RotateOutcome::kRevoked);
  ASSERT_TRUE(result->parent.has_value());
  EXPECT_TRUE(result->parent->family_revoked);
  EXPECT_FALSE(Exists(store(), Hash(2)));
  EXPECT_FALSE(MustFind(store(), Hash(1)).spent_at.has_value());
}

TEST_P(TokenStoreConformanceTest, RetryWithinGraceAfterTheFamilyWasRevokedIsRevoked) {
  const RefreshTokenRecord parent = FirstToken(1, "family-1");
  ASSERT_TRUE(store().InsertRefreshToken(parent).ok());
  const absl::Time first = kT0 + absl::Minutes(5);
  ASSERT_EQ(MustRotate(store(), Rotation(parent, 2, first, absl::Seconds(10))),
            RotateOutcome::kRotated);
  ASSERT_TRUE(store()
                  .AddRevocation(MakeRevocation(Revocation::Kind::kFamily, "family-1", first,
                                                parent.family_expires_at))
                  .ok());
  EXPECT_EQ(MustRotate(store(), Rotation(parent, 2, first + absl::Seconds(1), absl::Seconds(10))),
            RotateOutcome::kRevoked);
}

TEST_P(TokenStoreConformanceTest, InvalidRotationIsRejectedWithoutChange) {
  const RefreshTokenRecord parent = FirstToken(1, "family-1");
  ASSERT_TRUE(store().InsertRefreshToken(parent).ok());
  RotateRequest no_lifetime = Rotation(parent, 2, kT0 + absl::Minutes(1));
  no_lifetime.child.lifetime = absl::ZeroDuration();
  RotateRequest negative_margin = Rotation(parent, 2, kT0 + absl::Minutes(1));
  negative_margin.access_token_margin = -absl::Seconds(1);
  for (const RotateRequest& request : {no_lifetime, negative_margin}) {
    EXPECT_EQ(store().RotateRefreshToken(request).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
  ExpectSameRecord(MustFind(store(), parent.token_hash), parent);
  EXPECT_FALSE(Exists(store(), Hash(2)));
}

TEST_P(TokenStoreConformanceTest, ReuseRevocationOutlivesTheFamilyByTheAccessTokenMargin) {
  const RefreshTokenRecord parent = FirstToken(1, "family-1");
  ASSERT_TRUE(store().InsertRefreshToken(parent).ok());
  const absl::Time now = kT0 + absl::Minutes(5);
  ASSERT_EQ(MustRotate(store(), Rotation(parent, 2, now)), RotateOutcome::kRotated);
  const absl::Duration margin = absl::Minutes(15) + absl::Seconds(30);
  RotateRequest reuse = Rotation(parent, 2, now + absl::Minutes(1));
  reuse.access_token_margin = margin;
  ASSERT_EQ(MustRotate(store(), reuse), RotateOutcome::kReuseDetected);

  // An access token minted just before the family ends still verifies for up to the margin.
  const std::vector<Revocation> live = Live(store(), parent.family_expires_at);
  ASSERT_THAT(live, SizeIs(1));
  ExpectSameRevocation(live[0], MakeRevocation(Revocation::Kind::kFamily, "family-1", reuse.now,
                                               parent.family_expires_at + margin, reuse.now));
}

// ---- refused rotations: never spend, never revoke ------------------------------------------

TEST_P(TokenStoreConformanceTest, AnotherClientsRefreshIsRefusedAndTheTokenStaysUsable) {
  const RefreshTokenRecord parent = FirstToken(1, "family-1");  // client-a's
  ASSERT_TRUE(store().InsertRefreshToken(parent).ok());
  const absl::Time now = kT0 + absl::Minutes(5);
  RotateRequest stolen = Rotation(parent, 2, now);
  stolen.presenting_client_id = "client-b";
  absl::StatusOr<RotateResult> result = store().RotateRefreshToken(stolen);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->outcome, RotateOutcome::kClientMismatch);
  EXPECT_FALSE(result->child.has_value());

  // Unspent, no child, no revocation: its owner can still use it.
  ExpectSameRecord(MustFind(store(), parent.token_hash), parent);
  EXPECT_FALSE(Exists(store(), Hash(2)));
  EXPECT_THAT(Live(store(), now), IsEmpty());
  RotateRequest owner = Rotation(parent, 2, now + absl::Seconds(1));
  owner.presenting_client_id = "client-a";
  ASSERT_EQ(MustRotate(store(), owner), RotateOutcome::kRotated);

  // Even a spent token from another client is refused, not treated as reuse: a stolen token
  // must not let anyone else burn its owner's family.
  RotateRequest stolen_spent = Rotation(parent, 3, now + absl::Minutes(5));
  stolen_spent.presenting_client_id = "client-b";
  EXPECT_EQ(MustRotate(store(), stolen_spent), RotateOutcome::kClientMismatch);
  EXPECT_FALSE(MustFind(store(), Hash(2)).family_revoked);
  EXPECT_THAT(Live(store(), now), IsEmpty());
}

TEST_P(TokenStoreConformanceTest, ScopeOutsideTheGrantIsRefusedWithoutSpending) {
  RefreshTokenRecord parent = FirstToken(1, "family-1");
  parent.scopes = {"read", "write"};
  ASSERT_TRUE(store().InsertRefreshToken(parent).ok());
  const absl::Time now = kT0 + absl::Minutes(5);
  RotateRequest wider = Rotation(parent, 2, now);
  wider.requested_scopes = {"read", "admin"};
  absl::StatusOr<RotateResult> result = store().RotateRefreshToken(wider);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->outcome, RotateOutcome::kScopeNotGranted);

  ExpectSameRecord(MustFind(store(), parent.token_hash), parent);
  EXPECT_FALSE(Exists(store(), Hash(2)));
  EXPECT_THAT(Live(store(), now), IsEmpty());
  EXPECT_EQ(MustRotate(store(), Rotation(parent, 2, now + absl::Seconds(1))),
            RotateOutcome::kRotated);
}

TEST_P(TokenStoreConformanceTest, DownScopeToASubsetRotatesAndTheChildKeepsTheGrant) {
  RefreshTokenRecord parent = FirstToken(1, "family-1");
  parent.scopes = {"read", "write"};
  ASSERT_TRUE(store().InsertRefreshToken(parent).ok());
  const absl::Time now = kT0 + absl::Minutes(5);
  RotateRequest narrow = Rotation(parent, 2, now);
  narrow.requested_scopes = {"write"};
  narrow.presenting_client_id = "client-a";
  absl::StatusOr<RotateResult> result = store().RotateRefreshToken(narrow);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->outcome, RotateOutcome::kRotated);
  EXPECT_EQ(MustFind(store(), parent.token_hash).spent_at, now);
  EXPECT_EQ(MustFind(store(), Hash(2)).scopes, parent.scopes);
}

// ---- revocations ---------------------------------------------------------------------------

TEST_P(TokenStoreConformanceTest, FamilyRevocationRevokesOnlyThatFamily) {
  ASSERT_TRUE(store().InsertRefreshToken(FirstToken(1, "family-1")).ok());
  ASSERT_TRUE(store().InsertRefreshToken(FirstToken(2, "family-2")).ok());
  ASSERT_TRUE(store()
                  .AddRevocation(MakeRevocation(Revocation::Kind::kFamily, "family-1", kT0,
                                                kT0 + kFamilyLifetime))
                  .ok());
  EXPECT_TRUE(MustFind(store(), Hash(1)).family_revoked);
  EXPECT_FALSE(MustFind(store(), Hash(2)).family_revoked);
  const absl::Time now = kT0 + absl::Minutes(1);
  EXPECT_EQ(MustRotate(store(), Rotation(FirstToken(1, "family-1"), 11, now)),
            RotateOutcome::kRevoked);
  EXPECT_EQ(MustRotate(store(), Rotation(FirstToken(2, "family-2"), 12, now)),
            RotateOutcome::kRotated);
}

TEST_P(TokenStoreConformanceTest, SubjectRevocationRevokesEveryFamilyOfTheSubject) {
  ASSERT_TRUE(store().InsertRefreshToken(FirstToken(1, "family-1", "alice")).ok());
  ASSERT_TRUE(store().InsertRefreshToken(FirstToken(2, "family-2", "alice")).ok());
  ASSERT_TRUE(store().InsertRefreshToken(FirstToken(3, "family-3", "bob")).ok());
  const absl::Time now = kT0 + absl::Minutes(1);
  ASSERT_EQ(MustRotate(store(), Rotation(FirstToken(2, "family-2", "alice"), 22, now)),
            RotateOutcome::kRotated);

  ASSERT_TRUE(store()
                  .AddRevocation(MakeRevocation(Revocation::Kind::kSubject, "alice", now,
                                                kT0 + kFamilyLifetime, now))
                  .ok());
  EXPECT_TRUE(MustFind(store(), Hash(1)).family_revoked);
  EXPECT_TRUE(MustFind(store(), Hash(22)).family_revoked);
  EXPECT_FALSE(MustFind(store(), Hash(3)).family_revoked);
  const absl::Time later = now + absl::Minutes(1);
  EXPECT_EQ(MustRotate(store(), Rotation(FirstToken(1, "family-1", "alice"), 11, later)),
            RotateOutcome::kRevoked);
  EXPECT_EQ(MustRotate(store(), Rotation(MustFind(store(), Hash(22)), 23, later)),
            RotateOutcome::kRevoked);
  EXPECT_EQ(MustRotate(store(), Rotation(FirstToken(3, "family-3", "bob"), 33, later)),
            RotateOutcome::kRotated);
}

TEST_P(TokenStoreConformanceTest, AddRevocationIsIdempotentAndLaterTimesWin) {
  const Revocation first =
      MakeRevocation(Revocation::Kind::kTokenId, "jti-1", kT0, kT0 + absl::Hours(1), kT0, "first");
  ASSERT_TRUE(store().AddRevocation(first).ok());
  ASSERT_TRUE(store().AddRevocation(first).ok());
  // Earlier times do not shorten the entry.
  ASSERT_TRUE(
      store()
          .AddRevocation(MakeRevocation(Revocation::Kind::kTokenId, "jti-1", kT0 - absl::Hours(1),
                                        kT0 + absl::Minutes(30), kT0 + absl::Minutes(1), "second"))
          .ok());
  std::vector<Revocation> live = Live(store(), kT0);
  ASSERT_THAT(live, SizeIs(1));
  ExpectSameRevocation(live[0], first);
  EXPECT_EQ(live[0].reason, "first");

  // Later times extend it; the first revoked_at and reason stay.
  ASSERT_TRUE(
      store()
          .AddRevocation(MakeRevocation(Revocation::Kind::kTokenId, "jti-1", kT0 + absl::Minutes(5),
                                        kT0 + absl::Hours(2), kT0 + absl::Minutes(5), "third"))
          .ok());
  live = Live(store(), kT0);
  ASSERT_THAT(live, SizeIs(1));
  ExpectSameRevocation(live[0], MakeRevocation(Revocation::Kind::kTokenId, "jti-1",
                                               kT0 + absl::Minutes(5), kT0 + absl::Hours(2), kT0));
  EXPECT_EQ(live[0].reason, "first");

  // The same key under another kind is another entry.
  ASSERT_TRUE(store()
                  .AddRevocation(MakeRevocation(Revocation::Kind::kSubject, "jti-1", kT0,
                                                kT0 + absl::Hours(1)))
                  .ok());
  EXPECT_THAT(Live(store(), kT0), SizeIs(2));
}

TEST_P(TokenStoreConformanceTest, ListLiveRevocationsOmitsExpiredEntries) {
  const Revocation forever = MakeRevocation(Revocation::Kind::kSubject, "forever",
                                            absl::InfinitePast(), absl::InfiniteFuture());
  const Revocation short_lived =
      MakeRevocation(Revocation::Kind::kTokenId, "short", kT0, kT0 + absl::Minutes(10));
  const Revocation long_lived =
      MakeRevocation(Revocation::Kind::kTokenId, "long", kT0, kT0 + absl::Hours(10));
  for (const Revocation& revocation : {forever, short_lived, long_lived}) {
    ASSERT_TRUE(store().AddRevocation(revocation).ok());
  }
  std::vector<Revocation> live = Live(store(), kT0);
  ASSERT_THAT(live, SizeIs(3));

  // Expired at exactly expires_at.
  live = Live(store(), short_lived.expires_at);
  ASSERT_THAT(live, SizeIs(2));
  ExpectSameRevocation(live[0], long_lived);
  ExpectSameRevocation(live[1], forever);  // infinite times round-trip
  EXPECT_EQ(live[1].not_before, absl::InfinitePast());
  EXPECT_EQ(live[1].expires_at, absl::InfiniteFuture());

  live = Live(store(), kT0 + absl::Hours(100));
  ASSERT_THAT(live, SizeIs(1));
  EXPECT_EQ(live[0].key, "forever");
}

// ---- pruning -------------------------------------------------------------------------------

TEST_P(TokenStoreConformanceTest, PruneExpiredDeletesOnlyExpiredRows) {
  RefreshTokenRecord short_family = FirstToken(1, "family-short");
  short_family.expires_at = kT0 + absl::Minutes(30);
  short_family.family_expires_at = kT0 + absl::Hours(1);
  const RefreshTokenRecord long_family = FirstToken(2, "family-long");
  ASSERT_TRUE(store().InsertRefreshToken(short_family).ok());
  ASSERT_TRUE(store().InsertRefreshToken(long_family).ok());
  ASSERT_TRUE(store()
                  .AddRevocation(MakeRevocation(Revocation::Kind::kTokenId, "gone", kT0,
                                                kT0 + absl::Minutes(30)))
                  .ok());
  ASSERT_TRUE(store()
                  .AddRevocation(MakeRevocation(Revocation::Kind::kTokenId, "kept", kT0,
                                                kT0 + absl::Hours(10)))
                  .ok());

  // Nothing has expired yet.
  absl::StatusOr<int64_t> pruned = store().PruneExpired(kT0, 100);
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  EXPECT_EQ(*pruned, 0);

  // One revocation, one token and its (now empty) family.
  pruned = store().PruneExpired(kT0 + absl::Hours(2), 100);
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  EXPECT_EQ(*pruned, 3);
  EXPECT_FALSE(Exists(store(), short_family.token_hash));
  ExpectSameRecord(MustFind(store(), long_family.token_hash), long_family);
  const std::vector<Revocation> live = Live(store(), kT0);  // "gone" would still be live at kT0
  ASSERT_THAT(live, SizeIs(1));
  EXPECT_EQ(live[0].key, "kept");

  pruned = store().PruneExpired(kT0 + absl::Hours(2), 100);
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  EXPECT_EQ(*pruned, 0);
}

TEST_P(TokenStoreConformanceTest, PruneExpiredDeletesAtMostOneBatchPerTable) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(
        store()
            .AddRevocation(MakeRevocation(Revocation::Kind::kTokenId, "jti-" + std::to_string(i),
                                          kT0, kT0 + absl::Minutes(1)))
            .ok());
  }
  for (int expected : {2, 1, 0}) {
    absl::StatusOr<int64_t> pruned = store().PruneExpired(kT0 + absl::Hours(1), 2);
    ASSERT_TRUE(pruned.ok()) << pruned.status();
    EXPECT_EQ(*pruned, expected);
  }
  EXPECT_THAT(Live(store(), kT0), IsEmpty());
}

// ---- concurrency ---------------------------------------------------------------------------

namespace {

// Runs `requests` at once, one thread each; returns the outcomes in request order.
std::vector<RotateOutcome> RotateConcurrently(TokenStore& store,
                                              const std::vector<RotateRequest>& requests) {
  std::vector<absl::StatusOr<RotateResult>> results(requests.size(), absl::UnknownError("not run"));
  absl::Notification start;
  std::vector<std::thread> threads;
  for (size_t i = 0; i < requests.size(); ++i) {
    threads.emplace_back([&, i] {
      start.WaitForNotification();
      results[i] = store.RotateRefreshToken(requests[i]);
    });
  }
  start.Notify();
  for (std::thread& thread : threads) thread.join();
  std::vector<RotateOutcome> outcomes;
  for (const auto& result : results) {
    EXPECT_TRUE(result.ok()) << result.status();
    outcomes.push_back(result.ok() ? result->outcome : RotateOutcome::kNotFound);
  }
  return outcomes;
}

}  // namespace

TEST_P(TokenStoreConformanceTest, ConcurrentRotationsWithoutGraceRotateExactlyOnce) {
  const RefreshTokenRecord parent = FirstToken(1, "family-1");
  ASSERT_TRUE(store().InsertRefreshToken(parent).ok());
  std::vector<RotateRequest> requests;
  for (int i = 0; i < 16; ++i) {
    requests.push_back(Rotation(parent, 100 + i, kT0 + absl::Minutes(1)));
  }
  const std::vector<RotateOutcome> outcomes = RotateConcurrently(store(), requests);
  EXPECT_EQ(std::count(outcomes.begin(), outcomes.end(), RotateOutcome::kRotated), 1);
  EXPECT_EQ(std::count(outcomes.begin(), outcomes.end(), RotateOutcome::kReuseDetected), 15);

  // Exactly the winner's child exists, and the family is revoked once.
  int children = 0;
  for (int i = 0; i < 16; ++i) children += Exists(store(), Hash(100 + i)) ? 1 : 0;
  EXPECT_EQ(children, 1);
  EXPECT_TRUE(MustFind(store(), Hash(1)).family_revoked);
  EXPECT_THAT(Live(store(), kT0 + absl::Minutes(1)), SizeIs(1));
}

TEST_P(TokenStoreConformanceTest, ConcurrentRetriesWithinGraceRotateOnceAndRetryTheRest) {
  const RefreshTokenRecord parent = FirstToken(1, "family-1");
  ASSERT_TRUE(store().InsertRefreshToken(parent).ok());
  const std::vector<RotateRequest> requests(
      16, Rotation(parent, 100, kT0 + absl::Minutes(1), absl::Seconds(10)));
  const std::vector<RotateOutcome> outcomes = RotateConcurrently(store(), requests);
  EXPECT_EQ(std::count(outcomes.begin(), outcomes.end(), RotateOutcome::kRotated), 1);
  EXPECT_EQ(std::count(outcomes.begin(), outcomes.end(), RotateOutcome::kGraceRetry), 15);
  EXPECT_FALSE(MustFind(store(), Hash(100)).family_revoked);
  EXPECT_THAT(Live(store(), kT0), IsEmpty());
}

// ---- the revocation feed -------------------------------------------------------------------

TEST_P(TokenStoreConformanceTest, FeedDeliversARevocationAddedByAnotherReplica) {
  std::unique_ptr<RevocationFeed> feed = harness().NewFeed();
  ASSERT_NE(feed, nullptr);
  FeedRecorder recorder;
  ASSERT_TRUE(feed->Start(recorder.Callbacks()).ok());

  const Revocation revocation = MakeRevocation(Revocation::Kind::kSubject, "subject-42",
                                               kT0 + absl::Seconds(1), absl::InfiniteFuture());
  const auto added = std::chrono::steady_clock::now();
  ASSERT_TRUE(peer().AddRevocation(revocation).ok());
  const std::optional<Revocation> delivered = recorder.WaitFor("subject-42", absl::Seconds(5));
  const auto delay = std::chrono::steady_clock::now() - added;
  ASSERT_TRUE(delivered.has_value()) << "not delivered within 5 s";
  ExpectSameRevocation(*delivered, revocation);
  std::cout << "[ feed     ] " << GetParam().name << ": delivered "
            << std::chrono::duration_cast<std::chrono::microseconds>(delay).count()
            << " us after the commit returned" << std::endl;

  const auto stopping = std::chrono::steady_clock::now();
  feed->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - stopping, std::chrono::seconds(1));
}

TEST_P(TokenStoreConformanceTest, FeedDeliversTheFamilyRevocationOfAReuse) {
  const RefreshTokenRecord parent = FirstToken(1, "family-1");
  ASSERT_TRUE(store().InsertRefreshToken(parent).ok());
  std::unique_ptr<RevocationFeed> feed = harness().NewFeed();
  ASSERT_NE(feed, nullptr);
  FeedRecorder recorder;
  ASSERT_TRUE(feed->Start(recorder.Callbacks()).ok());

  const absl::Time now = kT0 + absl::Minutes(1);
  ASSERT_EQ(MustRotate(peer(), Rotation(parent, 2, now)), RotateOutcome::kRotated);
  ASSERT_EQ(MustRotate(peer(), Rotation(parent, 3, now + absl::Minutes(1))),
            RotateOutcome::kReuseDetected);
  const std::optional<Revocation> delivered = recorder.WaitFor("family-1", absl::Seconds(5));
  ASSERT_TRUE(delivered.has_value()) << "not delivered within 5 s";
  EXPECT_EQ(delivered->kind, Revocation::Kind::kFamily);
  EXPECT_EQ(delivered->expires_at, parent.family_expires_at);
}

TEST_P(TokenStoreConformanceTest, PingSucceeds) { EXPECT_TRUE(store().Ping().ok()); }

}  // namespace tokend::storage::conformance
