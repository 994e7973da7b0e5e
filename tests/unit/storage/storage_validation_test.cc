#include <string>

#include "gtest/gtest.h"
#include "storage/rotation_decision.h"
#include "storage/validation.h"

namespace tokend::storage {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);

TEST(StorableTextTest, AcceptsUtf8AndRejectsNulAndMalformedSequences) {
  EXPECT_TRUE(IsStorableText(""));
  EXPECT_TRUE(IsStorableText("plain ascii"));
  EXPECT_TRUE(IsStorableText("ünïcødé ✓ 𝄞"));
  EXPECT_FALSE(IsStorableText(std::string("a\0b", 3)));
  EXPECT_FALSE(IsStorableText("\xc3\x28"));          // bad continuation
  EXPECT_FALSE(IsStorableText("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(IsStorableText("\xed\xa0\x80"));      // UTF-16 surrogate (CESU-8)
  EXPECT_FALSE(IsStorableText("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsStorableText("\xe2\x82"));          // truncated
}

RefreshTokenRecord Parent() {
  RefreshTokenRecord parent;
  parent.token_hash = "parent";
  parent.family_id = "family";
  parent.issued_at = kT0;
  parent.expires_at = kT0 + absl::Hours(1);
  parent.family_expires_at = kT0 + absl::Hours(24);
  return parent;
}

RotateRequest Request(absl::Time now, absl::Duration grace, const std::string& child = "child") {
  RotateRequest request;
  request.parent_hash = "parent";
  request.child = Parent();
  request.child.token_hash = child;
  request.child.parent_hash = "parent";
  request.now = now;
  request.reuse_grace = grace;
  return request;
}

TEST(RotationDecisionTest, FamilyExpiryComesBeforeReuseDetection) {
  RefreshTokenRecord spent = Parent();
  spent.spent_at = kT0;
  spent.child_hash = "child";
  EXPECT_EQ(*DecideRotation(spent, Request(spent.family_expires_at, absl::ZeroDuration())),
            RotationStep::kExpired);
  EXPECT_EQ(*DecideRotation(spent, Request(kT0 + absl::Hours(2), absl::ZeroDuration())),
            RotationStep::kReuse);  // past its own expiry, but a reuse all the same
}

TEST(RotationDecisionTest, GraceRetryNeedsAPositiveGraceAndTheSameChild) {
  RefreshTokenRecord spent = Parent();
  spent.spent_at = kT0;
  spent.child_hash = "child";
  EXPECT_EQ(*DecideRotation(spent, Request(kT0, absl::ZeroDuration())), RotationStep::kReuse);
  EXPECT_EQ(*DecideRotation(spent, Request(kT0 + absl::Seconds(10), absl::Seconds(10))),
            RotationStep::kGraceRetry);
  EXPECT_EQ(*DecideRotation(spent, Request(kT0 + absl::Seconds(11), absl::Seconds(10))),
            RotationStep::kReuse);
  EXPECT_EQ(*DecideRotation(spent, Request(kT0, absl::Seconds(10), "other")), RotationStep::kReuse);
  spent.family_revoked = true;
  EXPECT_EQ(*DecideRotation(spent, Request(kT0, absl::Seconds(10))), RotationStep::kRevoked);
}

TEST(RotationDecisionTest, RevocationComesBeforeTheParentsOwnExpiry) {
  RefreshTokenRecord revoked = Parent();
  revoked.family_revoked = true;
  EXPECT_EQ(*DecideRotation(revoked, Request(kT0 + absl::Hours(2), absl::ZeroDuration())),
            RotationStep::kRevoked);
  EXPECT_EQ(*DecideRotation(Parent(), Request(kT0 + absl::Hours(1), absl::ZeroDuration())),
            RotationStep::kExpired);
  EXPECT_EQ(*DecideRotation(Parent(), Request(kT0, absl::ZeroDuration())), RotationStep::kRotate);
}

TEST(RotationDecisionTest, ChildOfAnotherFamilyIsInvalid) {
  RotateRequest request = Request(kT0, absl::ZeroDuration());
  request.child.family_id = "other";
  EXPECT_EQ(DecideRotation(Parent(), request).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(RotateRequestValidationTest, RejectsNegativeGraceAndASelfParentedChild) {
  RotateRequest request = Request(kT0, -absl::Seconds(1));
  EXPECT_EQ(ValidateRotateRequest(request).code(), absl::StatusCode::kInvalidArgument);
  request = Request(kT0, absl::ZeroDuration(), "parent");
  EXPECT_EQ(ValidateRotateRequest(request).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ValidateRotateRequest(Request(kT0, absl::ZeroDuration())).ok());
}

}  // namespace
}  // namespace tokend::storage
