// Caller identity from x-forwarded-client-cert (tokend behind an Envoy/Istio sidecar) against
// the real tokend binary: trusted only when enabled and only from a trusted peer, parsed
// strictly, with the nearest proxy's (last) element deciding.

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/auth_e2e_support.h"
#include "tests/e2e/tokend_process.h"
#include "tokend/v1/token_service.grpc.pb.h"

namespace tokend::e2e {
namespace {

using ::testing::HasSubstr;

constexpr char kGateway[] = "spiffe://mesh.test/ns/edge/sa/gateway";
constexpr char kStranger[] = "spiffe://mesh.test/ns/web/sa/frontend";

constexpr char kPolicy[] = R"yaml(
callers:
  - id: "spiffe://mesh.test/ns/edge/sa/gateway"
    rpcs: [Issue, Verify]
    issue: {subjects: ["user:*"], audiences: [orders], max_ttl: 15m}
)yaml";

constexpr char kPolicyWithAnonymous[] = R"yaml(
callers:
  - id: anonymous
    rpcs: [GetJwks]
)yaml";

// What an Istio sidecar sends for a client whose SVID is `spiffe_id`.
std::string SidecarXfcc(const std::string& spiffe_id) {
  return absl::StrCat(
      "By=spiffe://mesh.test/ns/tokend/sa/tokend;"
      "Hash=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef;Subject=\"\";URI=",
      spiffe_id);
}

class AuthXfccTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure() && tokend_ != nullptr) tokend_->DumpLog();
  }

  void StartTokend(const std::string& policy, std::vector<std::string> flags) {
    TokendProcess::Options options;
    options.args = {"--store=memory", "--policy_file=" + dir_.Write("policy.yaml", policy),
                    "--audit_log=" + dir_.File("audit.jsonl")};
    options.args.insert(options.args.end(), flags.begin(), flags.end());
    absl::StatusOr<std::unique_ptr<TokendProcess>> process = TokendProcess::Start(options);
    ASSERT_TRUE(process.ok()) << process.status();
    tokend_ = *std::move(process);
  }

  // Issue for user:1 / orders with the given x-forwarded-client-cert headers.
  ::grpc::Status IssueWith(const std::vector<std::string>& xfcc,
                           v1::TokenResponse* response = nullptr) {
    auto context = ContextWithDeadline();
    for (const std::string& header : xfcc) context->AddMetadata("x-forwarded-client-cert", header);
    v1::IssueRequest request;
    request.set_subject("user:1");
    request.add_audience("orders");
    v1::TokenResponse ignored;
    return tokend_->NewStub()->Issue(context.get(), request, response ? response : &ignored);
  }

  ScratchDir dir_;
  std::unique_ptr<TokendProcess> tokend_;
};

TEST_F(AuthXfccTest, ATrustedSidecarNamesTheCaller) {
  StartTokend(kPolicy, {"--trust_forwarded_client_cert", "--trusted_proxy=127.0.0.1/32"});
  v1::TokenResponse issued;
  ::grpc::Status status = IssueWith({SidecarXfcc(kGateway)}, &issued);
  ASSERT_TRUE(status.ok()) << status.error_message();

  auto context = ContextWithDeadline();
  context->AddMetadata("x-forwarded-client-cert", SidecarXfcc(kGateway));
  v1::VerifyRequest verify;
  verify.set_access_token(issued.access_token());
  verify.set_audience("orders");
  v1::VerifyResponse verified;
  ASSERT_TRUE(tokend_->NewStub()->Verify(context.get(), verify, &verified).ok());
  EXPECT_TRUE(verified.valid());
  EXPECT_EQ(verified.client_id(), kGateway);
  EXPECT_THAT(ReadAll(dir_.File("audit.jsonl")),
              HasSubstr(absl::StrCat("\"event\":\"issue\",\"caller\":\"", kGateway, "\"")));
}

TEST_F(AuthXfccTest, OnlyTheNearestProxysElementCounts) {
  StartTokend(kPolicy, {"--trust_forwarded_client_cert", "--trusted_proxy=127.0.0.1/32"});
  // The client wrote an element claiming to be the gateway; the sidecar appended the truth.
  ::grpc::Status status = IssueWith({absl::StrCat("URI=", kGateway, ",", SidecarXfcc(kStranger))});
  EXPECT_EQ(status.error_code(), ::grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), HasSubstr(kStranger));
}

TEST_F(AuthXfccTest, MalformedOrRepeatedHeadersAreUnauthenticated) {
  StartTokend(kPolicy, {"--trust_forwarded_client_cert", "--trusted_proxy=127.0.0.1/32"});
  const std::vector<std::vector<std::string>> hostile = {
      {"URI=" + std::string(kGateway) + ";"},                      // trailing separator
      {"URI=" + std::string(kGateway) + ";Subject=\"CN=x"},        // unterminated quote
      {"URI=" + std::string(kGateway) + ";Evil=1"},                // unknown key
      {"URI=spiffe://mesh.test/ns/edge/sa/../sa/gateway"},         // path traversal
      {"URI=spiffe://mesh.test/a;URI=spiffe://mesh.test/b"},       // two identities
      {"DNS=anonymous"},                                           // the reserved name
      {"By=spiffe://mesh.test/ns/tokend/sa/tokend;Subject=\"\""},  // names nobody
      {SidecarXfcc(kGateway), SidecarXfcc(kGateway)},              // two headers
  };
  for (const std::vector<std::string>& headers : hostile) {
    ::grpc::Status status = IssueWith(headers);
    EXPECT_EQ(status.error_code(), ::grpc::StatusCode::UNAUTHENTICATED) << headers.front();
  }
  EXPECT_EQ(Scrape(tokend_->http_port(), "tokend_auth_denied_total",
                   {{"grpc_method", "Issue"}, {"reason", "forwarded_cert"}}),
            static_cast<double>(hostile.size()));
  // Without a header the caller has no identity at all.
  EXPECT_EQ(IssueWith({}).error_code(), ::grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(AuthXfccTest, AnUntrustedPeerCannotForwardAnIdentity) {
  // Loopback is not a trusted proxy here: tokend's direct peer is the test itself.
  StartTokend(kPolicy, {"--trust_forwarded_client_cert", "--trusted_proxy=10.0.0.0/8"});
  ::grpc::Status status = IssueWith({SidecarXfcc(kGateway)});
  EXPECT_EQ(status.error_code(), ::grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(status.error_message(), HasSubstr("trusted proxy"));
}

TEST_F(AuthXfccTest, TheHeaderMeansNothingUnlessEnabled) {
  StartTokend(kPolicy, {});
  // Ignored: the caller is anonymous, and the policy has no anonymous entry.
  EXPECT_EQ(IssueWith({SidecarXfcc(kGateway)}).error_code(), ::grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(AuthXfccTest, AnonymousCallersGetOnlyWhatTheAnonymousEntryGrants) {
  StartTokend(kPolicyWithAnonymous, {"--trust_forwarded_client_cert"});
  auto stub = tokend_->NewStub();
  v1::GetJwksResponse jwks;
  EXPECT_TRUE(stub->GetJwks(ContextWithDeadline().get(), v1::GetJwksRequest(), &jwks).ok());
  EXPECT_EQ(IssueWith({}).error_code(), ::grpc::StatusCode::PERMISSION_DENIED);
  // A forwarded identity is not anonymous and has no entry: the open RPCs only.
  auto context = ContextWithDeadline();
  context->AddMetadata("x-forwarded-client-cert", SidecarXfcc(kStranger));
  EXPECT_TRUE(stub->GetJwks(context.get(), v1::GetJwksRequest(), &jwks).ok());
  EXPECT_EQ(IssueWith({SidecarXfcc(kStranger)}).error_code(),
            ::grpc::StatusCode::PERMISSION_DENIED);
}

}  // namespace
}  // namespace tokend::e2e
