#include "services/tokend/core/denylist.h"

#include <vector>

#include "gtest/gtest.h"

namespace tokend::core {
namespace {

using Kind = storage::Revocation::Kind;

const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);

storage::Revocation Entry(Kind kind, std::string key, absl::Time expires_at,
                          absl::Time not_before = absl::InfinitePast()) {
  storage::Revocation r;
  r.kind = kind;
  r.key = std::move(key);
  r.expires_at = expires_at;
  r.not_before = not_before;
  r.revoked_at = kT0;
  return r;
}

TEST(DenylistTest, MatchesJtiFamilyAndSubjectNotBefore) {
  Denylist list;
  list.Apply(Entry(Kind::kTokenId, "jti-1", kT0 + absl::Hours(1)));
  list.Apply(Entry(Kind::kFamily, "fam-1", kT0 + absl::Hours(1)));
  list.Apply(Entry(Kind::kSubject, "alice", kT0 + absl::Hours(1), kT0));

  EXPECT_TRUE(list.IsRevoked("jti-1", "", "bob", kT0));
  EXPECT_TRUE(list.IsRevoked("jti-2", "fam-1", "bob", kT0));
  EXPECT_TRUE(list.IsRevoked("jti-2", "", "alice", kT0 - absl::Seconds(1)));
  EXPECT_TRUE(list.IsRevoked("jti-2", "", "alice", absl::InfinitePast())) << "no iat";
  EXPECT_FALSE(list.IsRevoked("jti-2", "", "alice", kT0)) << "issued at not_before";
  EXPECT_FALSE(list.IsRevoked("jti-2", "fam-2", "bob", kT0));
  EXPECT_FALSE(list.IsRevoked("", "", "", kT0)) << "empty ids never match";
}

TEST(DenylistTest, MergingKeepsTheLaterNotBeforeAndExpiry) {
  Denylist list;
  list.Apply(Entry(Kind::kSubject, "alice", kT0 + absl::Hours(2), kT0 + absl::Minutes(5)));
  list.Apply(Entry(Kind::kSubject, "alice", kT0 + absl::Hours(1), kT0));
  EXPECT_TRUE(list.IsRevoked("", "", "alice", kT0 + absl::Minutes(4)));
  EXPECT_EQ(list.Prune(kT0 + absl::Hours(1)), 0u) << "the later expiry won";
  EXPECT_EQ(list.Prune(kT0 + absl::Hours(2)), 1u);
}

TEST(DenylistTest, PruneDropsOnlyExpiredEntries) {
  Denylist list;
  list.Apply(Entry(Kind::kTokenId, "old", kT0));
  list.Apply(Entry(Kind::kTokenId, "new", kT0 + absl::Minutes(1)));
  list.Apply(Entry(Kind::kFamily, "fam", kT0));
  EXPECT_EQ(list.Prune(kT0), 2u);
  EXPECT_EQ(list.sizes().token_ids, 1u);
  EXPECT_EQ(list.sizes().families, 0u);
  EXPECT_TRUE(list.IsRevoked("new", "", "", kT0));
  EXPECT_FALSE(list.IsRevoked("old", "", "", kT0));
}

TEST(DenylistTest, ReplaceAllReplacesAndDropsExpired) {
  Denylist list;
  list.Apply(Entry(Kind::kTokenId, "gone", kT0 + absl::Hours(1)));
  list.ReplaceAll(
      {Entry(Kind::kTokenId, "a", kT0 + absl::Hours(1)), Entry(Kind::kTokenId, "expired", kT0)},
      kT0);
  EXPECT_FALSE(list.IsRevoked("gone", "", "", kT0));
  EXPECT_TRUE(list.IsRevoked("a", "", "", kT0));
  EXPECT_FALSE(list.IsRevoked("expired", "", "", kT0));
  EXPECT_EQ(list.last_sync(), kT0);
}

TEST(DenylistTest, ReplaceAllKeepsEntriesAppliedAfterTheReloadBegan) {
  Denylist list;
  list.Apply(Entry(Kind::kTokenId, "before", kT0 + absl::Hours(1)));
  const Denylist::ReloadMark mark = list.BeginReload();
  // A feed event arrives while the (older) full list is being read.
  list.Apply(Entry(Kind::kTokenId, "during", kT0 + absl::Hours(1)));
  list.ReplaceAll({}, kT0, mark);
  EXPECT_TRUE(list.IsRevoked("during", "", "", kT0));
  EXPECT_FALSE(list.IsRevoked("before", "", "", kT0)) << "covered by the list, which lacks it";
  // And the next reload no longer carries it: the list is authoritative again.
  list.ReplaceAll({}, kT0 + absl::Seconds(5), list.BeginReload());
  EXPECT_FALSE(list.IsRevoked("during", "", "", kT0));
}

TEST(DenylistTest, FreshnessAndUsability) {
  Denylist closed({absl::Seconds(60), FailMode::kClosed});
  EXPECT_FALSE(closed.IsFresh(kT0));
  EXPECT_FALSE(closed.IsUsable(kT0)) << "never loaded";
  closed.ReplaceAll({}, kT0);
  EXPECT_TRUE(closed.IsUsable(kT0 + absl::Seconds(60)));
  EXPECT_FALSE(closed.IsUsable(kT0 + absl::Seconds(61)));
  EXPECT_FALSE(closed.IsFresh(kT0 + absl::Seconds(61)));

  Denylist open({absl::Seconds(60), FailMode::kOpen});
  EXPECT_FALSE(open.IsUsable(kT0)) << "fail-open tolerates staleness, not absence";
  open.ReplaceAll({}, kT0);
  EXPECT_FALSE(open.IsFresh(kT0 + absl::Hours(1)));
  EXPECT_TRUE(open.IsUsable(kT0 + absl::Hours(1)));
}

TEST(DenylistTest, ApplyDoesNotCountAsASync) {
  Denylist list;
  list.Apply(Entry(Kind::kTokenId, "a", kT0 + absl::Hours(1)));
  EXPECT_EQ(list.last_sync(), absl::InfinitePast());
  EXPECT_FALSE(list.IsUsable(kT0));
}

}  // namespace
}  // namespace tokend::core
