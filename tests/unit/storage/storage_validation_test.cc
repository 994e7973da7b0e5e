#include <string>
#include <vector>

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
  parent.client_id = "client-a";
  parent.scopes = {"read", "write"};
  parent.issued_at = kT0;
  parent.expires_at = kT0 + absl::Hours(1);
  parent.family_expires_at = kT0 + absl::Hours(24);
  return parent;
}

RotateRequest Request(absl::Time now, absl::Duration grace, const std::string& child = "child") {
  RotateRequest request;
  request.parent_hash = "parent";
  request.child = ChildToken{child, absl::Hours(1)};
  request.now = now;
  request.reuse_grace = grace;
  return request;
}

TEST(RotationDecisionTest, FamilyExpiryComesBeforeReuseDetection) {
  RefreshTokenRecord spent = Parent();
  spent.spent_at = kT0;
  spent.child_hash = "child";
  EXPECT_EQ(DecideRotation(spent, Request(spent.family_expires_at, absl::ZeroDuration())),
            RotateOutcome::kExpired);
  EXPECT_EQ(DecideRotation(spent, Request(kT0 + absl::Hours(2), absl::ZeroDuration())),
            RotateOutcome::kReuseDetected);  // past its own expiry, but a reuse all the same
}

TEST(RotationDecisionTest, GraceRetryNeedsAPositiveGraceAndTheSameChild) {
  RefreshTokenRecord spent = Parent();
  spent.spent_at = kT0;
  spent.child_hash = "child";
  EXPECT_EQ(DecideRotation(spent, Request(kT0, absl::ZeroDuration())),
            RotateOutcome::kReuseDetected);
  EXPECT_EQ(DecideRotation(spent, Request(kT0 + absl::Seconds(10), absl::Seconds(10))),
            RotateOutcome::kGraceRetry);
  EXPECT_EQ(DecideRotation(spent, Request(kT0 + absl::Seconds(11), absl::Seconds(10))),
            RotateOutcome::kReuseDetected);
  EXPECT_EQ(DecideRotation(spent, Request(kT0, absl::Seconds(10), "other")),
            RotateOutcome::kReuseDetected);
  spent.family_revoked = true;
  EXPECT_EQ(DecideRotation(spent, Request(kT0, absl::Seconds(10))), RotateOutcome::kRevoked);
}

TEST(RotationDecisionTest, RevocationComesBeforeTheParentsOwnExpiry) {
  RefreshTokenRecord revoked = Parent();
  revoked.family_revoked = true;
  EXPECT_EQ(DecideRotation(revoked, Request(kT0 + absl::Hours(2), absl::ZeroDuration())),
            RotateOutcome::kRevoked);
  EXPECT_EQ(DecideRotation(Parent(), Request(kT0 + absl::Hours(1), absl::ZeroDuration())),
            RotateOutcome::kExpired);
  EXPECT_EQ(DecideRotation(Parent(), Request(kT0, absl::ZeroDuration())), RotateOutcome::kRotated);
}

TEST(RotationDecisionTest, AnotherClientIsRefusedWhateverTheTokensState) {
  RotateRequest request = Request(kT0, absl::ZeroDuration());
  request.presenting_client_id = "client-b";
  RefreshTokenRecord spent = Parent();
  spent.spent_at = kT0;
  spent.child_hash = "other";
  RefreshTokenRecord revoked = Parent();
  revoked.family_revoked = true;
  for (const RefreshTokenRecord& parent : {Parent(), spent, revoked}) {
    EXPECT_EQ(DecideRotation(parent, request), RotateOutcome::kClientMismatch);
  }
  request.now = Parent().family_expires_at;
  EXPECT_EQ(DecideRotation(Parent(), request), RotateOutcome::kClientMismatch);
  // The owner, or no named client (no caller identity), passes the check.
  request.now = kT0;
  request.presenting_client_id = "client-a";
  EXPECT_EQ(DecideRotation(Parent(), request), RotateOutcome::kRotated);
  request.presenting_client_id.clear();
  EXPECT_EQ(DecideRotation(Parent(), request), RotateOutcome::kRotated);
}

TEST(RotationDecisionTest, OnlyGrantedScopesMayBeRequested) {
  RotateRequest request = Request(kT0, absl::ZeroDuration());
  for (const std::vector<std::string>& granted :
       {std::vector<std::string>{}, {"read"}, {"write", "read"}}) {
    request.requested_scopes = granted;
    EXPECT_EQ(DecideRotation(Parent(), request), RotateOutcome::kRotated);
  }
  request.requested_scopes = {"read", "admin"};
  EXPECT_EQ(DecideRotation(Parent(), request), RotateOutcome::kScopeNotGranted);
  RefreshTokenRecord spent = Parent();
  spent.spent_at = kT0;
  spent.child_hash = "other";
  EXPECT_EQ(DecideRotation(spent, request), RotateOutcome::kScopeNotGranted) << "not a reuse";
  // The client check comes first.
  request.presenting_client_id = "client-b";
  EXPECT_EQ(DecideRotation(Parent(), request), RotateOutcome::kClientMismatch);
}

TEST(ChildOfTest, InheritsTheFamilyAndIsCappedByItsEnd) {
  RefreshTokenRecord parent = Parent();
  parent.subject = "alice";
  parent.audiences = {"api"};
  parent.custom_claims_json = R"({"tier":"gold"})";
  parent.spent_at = kT0;  // the parent's own state is not inherited
  parent.child_hash = "child";
  parent.family_revoked = true;
  const RefreshTokenRecord child =
      ChildOf(parent, ChildToken{"child", absl::Hours(2)}, kT0 + absl::Minutes(5));
  EXPECT_EQ(child.token_hash, "child");
  EXPECT_EQ(child.parent_hash, "parent");
  EXPECT_EQ(child.family_id, "family");
  EXPECT_EQ(child.subject, "alice");
  EXPECT_EQ(child.client_id, "client-a");
  EXPECT_EQ(child.audiences, parent.audiences);
  EXPECT_EQ(child.scopes, parent.scopes);
  EXPECT_EQ(child.custom_claims_json, parent.custom_claims_json);
  EXPECT_EQ(child.issued_at, kT0 + absl::Minutes(5));
  EXPECT_EQ(child.expires_at, kT0 + absl::Minutes(125));
  EXPECT_EQ(child.family_expires_at, parent.family_expires_at);
  EXPECT_FALSE(child.spent_at.has_value());
  EXPECT_TRUE(child.child_hash.empty());
  EXPECT_FALSE(child.family_revoked);
  EXPECT_EQ(ChildOf(parent, ChildToken{"c", absl::Hours(48)}, kT0).expires_at,
            parent.family_expires_at);
}

TEST(FamilyRevocationTest, OutlivesEveryAccessTokenOfTheFamily) {
  const RefreshTokenRecord member = Parent();
  const absl::Duration margin = absl::Minutes(15) + absl::Seconds(30);
  const Revocation revocation = FamilyRevocation(member, kT0, margin, "reuse");
  EXPECT_EQ(revocation.kind, Revocation::Kind::kFamily);
  EXPECT_EQ(revocation.key, "family");
  EXPECT_EQ(revocation.not_before, kT0);
  EXPECT_EQ(revocation.revoked_at, kT0);
  EXPECT_EQ(revocation.reason, "reuse");
  // The last access token is minted just before the family ends and lives up to the margin.
  EXPECT_EQ(revocation.expires_at, member.family_expires_at + margin);
  // Added after the family ended, it still lasts a full margin.
  const absl::Time late = member.family_expires_at + absl::Hours(1);
  EXPECT_EQ(FamilyRevocation(member, late, margin, "").expires_at, late + margin);
}

TEST(RotateRequestValidationTest, RejectsNegativeGraceAndASelfParentedChild) {
  RotateRequest request = Request(kT0, -absl::Seconds(1));
  EXPECT_EQ(ValidateRotateRequest(request).code(), absl::StatusCode::kInvalidArgument);
  request = Request(kT0, absl::ZeroDuration(), "parent");
  EXPECT_EQ(ValidateRotateRequest(request).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ValidateRotateRequest(Request(kT0, absl::ZeroDuration())).ok());
}

TEST(RotateRequestValidationTest, RejectsAChildWithoutHashOrLifetimeAndANegativeMargin) {
  RotateRequest request = Request(kT0, absl::ZeroDuration(), "");
  EXPECT_EQ(ValidateRotateRequest(request).code(), absl::StatusCode::kInvalidArgument);
  request = Request(kT0, absl::ZeroDuration());
  request.child.lifetime = absl::ZeroDuration();
  EXPECT_EQ(ValidateRotateRequest(request).code(), absl::StatusCode::kInvalidArgument);
  request = Request(kT0, absl::ZeroDuration());
  request.access_token_margin = -absl::Seconds(1);
  EXPECT_EQ(ValidateRotateRequest(request).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tokend::storage
