#include <set>
#include <string_view>

#include "gtest/gtest.h"
#include "storage/revocation.h"

namespace tokend::storage {
namespace {

TEST(RevokeTargetTest, NamesAreTheMetricAndAuditSpelling) {
  // tokend_revocations_total{kind} and the audit line's "target" both use these.
  EXPECT_EQ(RevokeTargetName(RevokeTarget::kAccessToken), "access_token");
  EXPECT_EQ(RevokeTargetName(RevokeTarget::kTokenId), "token_id");
  EXPECT_EQ(RevokeTargetName(RevokeTarget::kRefreshToken), "refresh_token");
  EXPECT_EQ(RevokeTargetName(RevokeTarget::kSubject), "subject");
  EXPECT_EQ(RevokeTargetName(static_cast<RevokeTarget>(kRevokeTargetCount)), "unknown");
}

TEST(RevokeTargetTest, EveryTargetHasItsOwnName) {
  std::set<std::string_view> seen;
  for (size_t i = 0; i < kRevokeTargetCount; ++i) {
    EXPECT_TRUE(seen.insert(RevokeTargetName(static_cast<RevokeTarget>(i))).second) << i;
  }
}

}  // namespace
}  // namespace tokend::storage
