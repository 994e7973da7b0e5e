#include <string>

#include "gtest/gtest.h"
#include "jwt/algorithm.h"
#include "jwt/claims.h"
#include "jwt/secret_data.h"
#include "jwt/verify_error.h"

namespace tokend::jwt {
namespace {

TEST(AlgorithmTest, NamesRoundTripExactly) {
  for (Algorithm alg :
       {Algorithm::kEdDSA, Algorithm::kES256, Algorithm::kRS256, Algorithm::kHS256}) {
    EXPECT_EQ(AlgorithmFromName(AlgorithmName(alg)), alg);
  }
}

TEST(AlgorithmTest, NoneAndCaseVariantsSelectNothing) {
  for (const char* name : {"none", "None", "NONE", "", "hs256", "eddsa", "Ed25519", "ES256 ",
                           "RS384", "PS256", "ES512", "HS512"}) {
    EXPECT_FALSE(AlgorithmFromName(name).has_value()) << name;
  }
}

TEST(VerifyErrorTest, StatusCarriesTheReasonAsUnauthenticated) {
  for (VerifyError error :
       {VerifyError::kMalformed, VerifyError::kTooLarge, VerifyError::kAlgorithmNotAllowed,
        VerifyError::kUnknownKey, VerifyError::kBadSignature, VerifyError::kWrongType,
        VerifyError::kExpired, VerifyError::kNotYetValid, VerifyError::kWrongIssuer,
        VerifyError::kWrongAudience, VerifyError::kInsufficientScope,
        VerifyError::kInvalidClaims}) {
    absl::Status status = MakeVerifyError(error, "fixed phrase");
    EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
    EXPECT_EQ(GetVerifyError(status), error);
    EXPECT_NE(VerifyErrorName(error), "UNKNOWN");
  }
  EXPECT_EQ(VerifyErrorName(VerifyError::kInsufficientScope), "INSUFFICIENT_SCOPE");
  EXPECT_EQ(VerifyErrorName(VerifyError::kAlgorithmNotAllowed), "ALGORITHM_NOT_ALLOWED");
}

TEST(VerifyErrorTest, OtherStatusesCarryNoReason) {
  EXPECT_FALSE(GetVerifyError(absl::OkStatus()).has_value());
  EXPECT_FALSE(GetVerifyError(absl::UnauthenticatedError("EXPIRED")).has_value());
  absl::Status wrong_code = absl::InternalError("x");
  wrong_code.SetPayload("type.tokend.dev/jwt.VerifyError", absl::Cord("EXPIRED"));
  EXPECT_FALSE(GetVerifyError(wrong_code).has_value());
}

TEST(SecretDataTest, CopiesMovesAndComparesInConstantTime) {
  SecretData a("0123456789abcdef0123456789abcdef");
  SecretData b = a;
  EXPECT_EQ(b.ExposeSecret(), a.ExposeSecret());
  SecretData c = std::move(b);
  EXPECT_EQ(c.size(), 32u);
  EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move): the source is wiped on purpose
  c = a;
  EXPECT_EQ(c.ExposeSecret(), a.ExposeSecret());
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
}

TEST(ClaimsTest, RegisteredNamesAreExactlyTheOnesTheSignerSets) {
  for (const char* name :
       {"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "client_id", "scope", "sid"}) {
    EXPECT_TRUE(IsRegisteredClaimName(name)) << name;
  }
  for (const char* name : {"roles", "Iss", "exp ", "", "tenant"}) {
    EXPECT_FALSE(IsRegisteredClaimName(name)) << name;
  }
}

}  // namespace
}  // namespace tokend::jwt
