#include "services/tokend/grpc/proto_mapping.h"

#include <cmath>
#include <set>
#include <string>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "gtest/gtest.h"
#include "tests/unit/core/service_harness.h"

namespace tokend::grpc {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

v1::IssueRequest BasicIssue() {
  v1::IssueRequest request;
  request.set_subject("alice");
  request.add_audience("api");
  request.add_scopes("read");
  return request;
}

TEST(IssueParamsFromProtoTest, MapsEveryField) {
  v1::IssueRequest request = BasicIssue();
  request.add_audience("billing");
  (*request.mutable_claims()->mutable_fields())["tenant"].set_string_value("acme");
  request.mutable_ttl()->set_seconds(90);
  request.mutable_ttl()->set_nanos(500000000);
  request.set_include_refresh_token(true);
  absl::StatusOr<core::IssueParams> params = IssueParamsFromProto(request);
  ASSERT_TRUE(params.ok()) << params.status();
  EXPECT_EQ(params->subject, "alice");
  EXPECT_THAT(params->audiences, ElementsAre("api", "billing"));
  EXPECT_THAT(params->scopes, ElementsAre("read"));
  EXPECT_EQ(params->custom_claims_json, R"({"tenant":"acme"})");
  EXPECT_EQ(params->ttl, absl::Milliseconds(90500));
  EXPECT_TRUE(params->include_refresh_token);
  EXPECT_TRUE(params->client_id.empty());
}

TEST(IssueParamsFromProtoTest, UnsetTtlAndEmptyClaimsStayUnset) {
  v1::IssueRequest request = BasicIssue();
  request.mutable_claims();  // present but empty
  absl::StatusOr<core::IssueParams> params = IssueParamsFromProto(request);
  ASSERT_TRUE(params.ok()) << params.status();
  EXPECT_FALSE(params->ttl.has_value());
  EXPECT_TRUE(params->custom_claims_json.empty());
}

TEST(IssueParamsFromProtoTest, RejectsMalformedShapes) {
  auto expect_invalid = [](v1::IssueRequest request, const std::string& what) {
    absl::StatusOr<core::IssueParams> params = IssueParamsFromProto(request);
    EXPECT_EQ(params.status().code(), absl::StatusCode::kInvalidArgument) << what;
  };
  v1::IssueRequest r = BasicIssue();
  r.clear_subject();
  expect_invalid(r, "no subject");
  r = BasicIssue();
  r.clear_audience();
  expect_invalid(r, "no audience");
  r = BasicIssue();
  r.add_audience("");
  expect_invalid(r, "empty audience");
  r = BasicIssue();
  r.add_scopes("");
  expect_invalid(r, "empty scope");
  r = BasicIssue();
  r.mutable_ttl()->set_seconds(0);
  expect_invalid(r, "zero ttl");
  r = BasicIssue();
  r.mutable_ttl()->set_seconds(5);
  r.mutable_ttl()->set_nanos(-1);
  expect_invalid(r, "mixed signs");
  r = BasicIssue();
  r.mutable_ttl()->set_seconds(400000000000);
  expect_invalid(r, "out of range");
  r = BasicIssue();
  (*r.mutable_claims()->mutable_fields())["x"];  // a Value with no kind set
  expect_invalid(r, "claim without a value");
  r = BasicIssue();
  (*r.mutable_claims()->mutable_fields())["x"].set_number_value(std::nan(""));
  expect_invalid(r, "NaN claim");
  r = BasicIssue();
  (*(*r.mutable_claims()->mutable_fields())["x"].mutable_list_value()->add_values())
      .set_number_value(HUGE_VAL);
  expect_invalid(r, "infinite number in a list");
}

TEST(RevokeParamsFromProtoTest, MapsEachTargetAndRejectsNone) {
  v1::RevokeRequest request;
  EXPECT_EQ(RevokeParamsFromProto(request).status().code(), absl::StatusCode::kInvalidArgument);
  request.set_token_id("");
  EXPECT_EQ(RevokeParamsFromProto(request).status().code(), absl::StatusCode::kInvalidArgument);

  request.set_access_token("a");
  request.set_reason("why");
  EXPECT_EQ(RevokeParamsFromProto(request)->target, storage::RevokeTarget::kAccessToken);
  EXPECT_EQ(RevokeParamsFromProto(request)->reason, "why");
  request.set_token_id("j");
  EXPECT_EQ(RevokeParamsFromProto(request)->target, storage::RevokeTarget::kTokenId);
  request.set_refresh_token("r");
  EXPECT_EQ(RevokeParamsFromProto(request)->target, storage::RevokeTarget::kRefreshToken);
  request.set_subject("s");
  absl::StatusOr<core::RevokeParams> params = RevokeParamsFromProto(request);
  EXPECT_EQ(params->target, storage::RevokeTarget::kSubject);
  EXPECT_EQ(params->value, "s");
}

TEST(VerifyAndRefreshParamsFromProtoTest, RequireTheirToken) {
  v1::VerifyRequest verify;
  verify.set_audience("api");
  EXPECT_EQ(VerifyParamsFromProto(verify).status().code(), absl::StatusCode::kInvalidArgument);
  verify.set_access_token("t");
  verify.clear_audience();
  EXPECT_EQ(VerifyParamsFromProto(verify).status().code(), absl::StatusCode::kInvalidArgument);
  verify.set_audience("api");
  verify.add_required_scopes("read");
  absl::StatusOr<core::VerifyParams> params = VerifyParamsFromProto(verify);
  ASSERT_TRUE(params.ok());
  EXPECT_THAT(params->required_scopes, ElementsAre("read"));

  v1::RefreshRequest refresh;
  EXPECT_EQ(RefreshParamsFromProto(refresh).status().code(), absl::StatusCode::kInvalidArgument);
  refresh.set_refresh_token("r");
  refresh.add_scopes("read");
  EXPECT_THAT(RefreshParamsFromProto(refresh)->scopes, ElementsAre("read"));
}

TEST(VerifyErrorToProtoTest, EveryReasonHasItsOwnValue) {
  std::set<int> seen;
  for (int i = static_cast<int>(core::InvalidReason::kNone);
       i <= static_cast<int>(core::InvalidReason::kRevoked); ++i) {
    v1::VerifyError error = VerifyErrorToProto(static_cast<core::InvalidReason>(i));
    EXPECT_TRUE(seen.insert(error).second) << "reason " << i;
    // The proto enum follows core's order; names match InvalidReasonName.
    EXPECT_EQ(v1::VerifyError_Name(error),
              i == 0
                  ? "VERIFY_ERROR_UNSPECIFIED"
                  : "VERIFY_ERROR_" +
                        std::string(core::InvalidReasonName(static_cast<core::InvalidReason>(i))));
  }
}

TEST(TimeConversionTest, RoundTripsAndClamps) {
  google::protobuf::Timestamp ts;
  absl::Time t = absl::FromUnixMillis(1700000000123);
  ToProtoTimestamp(t, &ts);
  EXPECT_EQ(ts.seconds(), 1700000000);
  EXPECT_EQ(ts.nanos(), 123000000);
  EXPECT_EQ(FromProtoTimestamp(ts), t);
  ToProtoTimestamp(absl::FromUnixMillis(-1500), &ts);  // before 1970: nanos stay positive
  EXPECT_EQ(ts.seconds(), -2);
  EXPECT_EQ(ts.nanos(), 500000000);
  ToProtoTimestamp(absl::InfiniteFuture(), &ts);
  EXPECT_EQ(ts.seconds(), 253402300799);

  google::protobuf::Duration d;
  ToProtoDuration(absl::Milliseconds(-1500), &d);
  EXPECT_EQ(d.seconds(), -1);
  EXPECT_EQ(d.nanos(), -500000000);
  EXPECT_EQ(*FromProtoDuration(d), absl::Milliseconds(-1500));
  ToProtoDuration(absl::Minutes(10), &d);
  EXPECT_EQ(d.seconds(), 600);
  EXPECT_EQ(d.nanos(), 0);
}

TEST(ResponseFromDomainTest, MapsIssuedTokensAndVerifiedClaims) {
  core::testing::ServiceHarness harness;
  core::IssueParams issue = harness.BasicIssue(/*with_refresh=*/true);
  issue.custom_claims_json = R"({"tenant":"acme","n":3})";
  core::IssuedTokens issued = harness.MustIssue(issue);

  v1::TokenResponse response;
  TokenResponseFromDomain(issued, &response);
  EXPECT_EQ(response.access_token(), issued.access_token);
  EXPECT_EQ(response.token_type(), "Bearer");
  EXPECT_EQ(response.token_id(), issued.token_id);
  EXPECT_EQ(FromProtoTimestamp(response.expires_at()), issued.expires_at);
  EXPECT_EQ(response.refresh_token(), issued.refresh_token);
  EXPECT_TRUE(response.has_refresh_expires_at());

  absl::StatusOr<core::VerifyOutcome> outcome =
      harness.service->Verify({issued.access_token, "api://orders", {}});
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  v1::VerifyResponse verified;
  ASSERT_TRUE(VerifyResponseFromDomain(*outcome, &verified).ok());
  EXPECT_TRUE(verified.valid());
  EXPECT_EQ(verified.subject(), "user-1");
  EXPECT_THAT(verified.audience(), ElementsAre("api://orders"));
  EXPECT_THAT(verified.scopes(), ElementsAre("orders.read", "orders.write"));
  EXPECT_EQ(verified.token_id(), issued.token_id);
  EXPECT_EQ(verified.client_id(), "client-a");
  EXPECT_EQ(FromProtoTimestamp(verified.issued_at()), absl::FromUnixSeconds(1'700'000'000));
  EXPECT_EQ(verified.claims().fields().at("tenant").string_value(), "acme");
  EXPECT_EQ(verified.claims().fields().at("n").number_value(), 3);
  EXPECT_EQ(verified.claims().fields().at("sub").string_value(), "user-1");

  core::VerifyOutcome invalid;
  invalid.reason = core::InvalidReason::kRevoked;
  v1::VerifyResponse refused;
  ASSERT_TRUE(VerifyResponseFromDomain(invalid, &refused).ok());
  EXPECT_FALSE(refused.valid());
  EXPECT_EQ(refused.error(), v1::VERIFY_ERROR_REVOKED);
  EXPECT_TRUE(refused.subject().empty());
}

}  // namespace
}  // namespace tokend::grpc
