#include "util/status_code_name.h"

#include <set>
#include <string_view>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace tokend::util {
namespace {

TEST(StatusCodeNameTest, SpellsCodesAsGrpcGoDoes) {
  EXPECT_EQ(StatusCodeName(absl::StatusCode::kOk), "OK");
  EXPECT_EQ(StatusCodeName(absl::StatusCode::kCancelled), "Canceled");
  EXPECT_EQ(StatusCodeName(absl::StatusCode::kInvalidArgument), "InvalidArgument");
  EXPECT_EQ(StatusCodeName(absl::StatusCode::kResourceExhausted), "ResourceExhausted");
  EXPECT_EQ(StatusCodeName(absl::StatusCode::kUnavailable), "Unavailable");
  EXPECT_EQ(StatusCodeName(absl::StatusCode::kUnauthenticated), "Unauthenticated");
}

TEST(StatusCodeNameTest, EveryCodeHasItsOwnNameAndOthersAreUnknown) {
  std::set<std::string_view> seen;
  for (int code = 0; code < kStatusCodeCount; ++code) {
    EXPECT_TRUE(seen.insert(StatusCodeName(code)).second) << code;
  }
  EXPECT_EQ(StatusCodeName(-1), "Unknown");
  EXPECT_EQ(StatusCodeName(kStatusCodeCount), "Unknown");
  EXPECT_EQ(StatusCodeName(static_cast<absl::StatusCode>(42)), "Unknown");
}

}  // namespace
}  // namespace tokend::util
