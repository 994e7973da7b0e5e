#include "services/tokend/core/token_types.h"

#include <set>
#include <string_view>

#include "gtest/gtest.h"
#include "jwt/verify_error.h"

namespace tokend::core {
namespace {

constexpr jwt::VerifyError kEveryVerifyError[] = {jwt::VerifyError::kMalformed,
                                                  jwt::VerifyError::kTooLarge,
                                                  jwt::VerifyError::kAlgorithmNotAllowed,
                                                  jwt::VerifyError::kUnknownKey,
                                                  jwt::VerifyError::kBadSignature,
                                                  jwt::VerifyError::kWrongType,
                                                  jwt::VerifyError::kExpired,
                                                  jwt::VerifyError::kNotYetValid,
                                                  jwt::VerifyError::kWrongIssuer,
                                                  jwt::VerifyError::kWrongAudience,
                                                  jwt::VerifyError::kInsufficientScope,
                                                  jwt::VerifyError::kInvalidClaims};

TEST(InvalidReasonTest, EveryReasonHasItsOwnName) {
  std::set<std::string_view> seen;
  for (size_t i = 0; i < kInvalidReasonCount; ++i) {
    const std::string_view name = InvalidReasonName(static_cast<InvalidReason>(i));
    EXPECT_NE(name, "UNKNOWN") << i;
    EXPECT_TRUE(seen.insert(name).second) << name;
  }
  EXPECT_EQ(InvalidReasonName(InvalidReason::kNone), "NONE");
  EXPECT_EQ(InvalidReasonName(static_cast<InvalidReason>(kInvalidReasonCount)), "UNKNOWN");
}

TEST(InvalidReasonTest, EveryVerifyErrorMapsToTheReasonOfTheSameName) {
  std::set<InvalidReason> seen;
  for (jwt::VerifyError error : kEveryVerifyError) {
    const InvalidReason reason = InvalidReasonFromVerifyError(error);
    EXPECT_EQ(InvalidReasonName(reason), jwt::VerifyErrorName(error));
    EXPECT_NE(reason, InvalidReason::kNone);
    EXPECT_NE(reason, InvalidReason::kRevoked) << "only the service knows a token is revoked";
    EXPECT_TRUE(seen.insert(reason).second) << jwt::VerifyErrorName(error);
  }
  // Every reason but kNone and kRevoked comes from the verifier.
  EXPECT_EQ(seen.size(), kInvalidReasonCount - 2);
}

}  // namespace
}  // namespace tokend::core
