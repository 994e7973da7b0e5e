#include "services/tokend/grpc/token_service_grpc.h"

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "storage/memory/memory_token_store.h"
#include "tests/testing/metric_value.h"
#include "tests/unit/core/service_harness.h"
#include "tests/unit/grpc/audit_trail.h"
#include "tokend/v1/token_service.grpc.pb.h"

namespace tokend::grpc {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A MemoryTokenStore whose RotateRefreshToken blocks while `hold` is set, so a test can keep a
// database-bound call in flight.
class HoldingTokenStore : public storage::MemoryTokenStore {
 public:
  absl::StatusOr<storage::RotateResult> RotateRefreshToken(
      const storage::RotateRequest& request) override {
    if (hold) {
      entered.Notify();
      release.WaitForNotification();
    }
    return storage::MemoryTokenStore::RotateRefreshToken(request);
  }
  bool hold = false;
  absl::Notification entered;
  absl::Notification release;
};

class TokenServiceGrpcTest : public ::testing::Test {
 protected:
  void StartServer(TokenServiceGrpc::Options options) {
    adapter_ = std::make_unique<TokenServiceGrpc>(*harness_.service, rpc_metrics_, options);
    ::grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", ::grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(adapter_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = v1::TokenService::NewStub(::grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                                            ::grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    stub_.reset();
    if (server_) server_->Shutdown();
    if (adapter_) adapter_->Shutdown();
  }

  std::optional<double> Handled(const std::string& method, const std::string& code) {
    return tokend::testing::MetricValue(
        harness_.registry, "grpc_server_handled_total",
        {{"grpc_method", method}, {"grpc_code", code}, {"grpc_service", "tokend.v1.TokenService"}});
  }

  // A token pair for `client_id`, minted without the adapter.
  core::IssuedTokens IssueRefreshableInCore(const std::string& client_id) {
    core::IssueParams params = harness_.BasicIssue(/*with_refresh=*/true);
    params.subject = "alice";
    params.client_id = client_id;
    return harness_.MustIssue(params);
  }

  HoldingTokenStore store_;
  core::testing::ServiceHarness harness_{core::testing::TestConfig(), &store_};
  RpcMetrics rpc_metrics_{harness_.registry};
  tokend::testing::AuditTrail trail_;  // the audit trail, when a test asks for one
  std::unique_ptr<TokenServiceGrpc> adapter_;
  std::unique_ptr<::grpc::Server> server_;
  std::unique_ptr<v1::TokenService::Stub> stub_;
};

TEST_F(TokenServiceGrpcTest, IssueAndVerifyRoundTripAndAreCounted) {
  StartServer({});
  v1::IssueRequest issue;
  issue.set_subject("alice");
  issue.add_audience("api");
  v1::TokenResponse issued;
  ::grpc::ClientContext c1;
  ASSERT_TRUE(stub_->Issue(&c1, issue, &issued).ok());

  v1::VerifyRequest verify;
  verify.set_access_token(issued.access_token());
  verify.set_audience("api");
  v1::VerifyResponse verified;
  ::grpc::ClientContext c2;
  ASSERT_TRUE(stub_->Verify(&c2, verify, &verified).ok());
  EXPECT_TRUE(verified.valid());
  EXPECT_EQ(verified.subject(), "alice");

  verify.set_audience("other");
  ::grpc::ClientContext c3;
  ASSERT_TRUE(stub_->Verify(&c3, verify, &verified).ok()) << "a bad token is not an RPC error";
  EXPECT_FALSE(verified.valid());
  EXPECT_EQ(verified.error(), v1::VERIFY_ERROR_WRONG_AUDIENCE);

  verify.clear_audience();
  ::grpc::ClientContext c4;
  EXPECT_EQ(stub_->Verify(&c4, verify, &verified).error_code(),
            ::grpc::StatusCode::INVALID_ARGUMENT);

  EXPECT_EQ(Handled("Issue", "OK"), 1);
  EXPECT_EQ(Handled("Verify", "OK"), 2);
  EXPECT_EQ(Handled("Verify", "InvalidArgument"), 1);
  EXPECT_EQ(tokend::testing::MetricValue(
                harness_.registry, "grpc_server_handling_seconds",
                {{"grpc_method", "Verify"}, {"grpc_service", "tokend.v1.TokenService"}}),
            3);
}

TEST_F(TokenServiceGrpcTest, DatabaseBoundCallsBeyondTheExecutorAreRefusedNotQueued) {
  TokenServiceGrpc::Options options;
  options.blocking_threads = 1;
  options.blocking_queue = 0;
  StartServer(options);
  // The refresh token comes from core directly: the held Refresh must be the executor's first
  // task, since a worker that has just answered a call may not be idle yet.
  const core::IssuedTokens issued = IssueRefreshableInCore(/*client_id=*/"");

  store_.hold = true;
  v1::RefreshRequest refresh;
  refresh.set_refresh_token(issued.refresh_token);
  ::grpc::Status first_status;
  std::thread first([&] {
    v1::TokenResponse response;
    ::grpc::ClientContext context;
    first_status = stub_->Refresh(&context, refresh, &response);
  });
  store_.entered.WaitForNotification();  // the only worker is now busy

  v1::TokenResponse refused;
  ::grpc::ClientContext c2;
  EXPECT_EQ(stub_->Refresh(&c2, refresh, &refused).error_code(),
            ::grpc::StatusCode::RESOURCE_EXHAUSTED);
  // CPU-only calls still run inline.
  v1::GetJwksResponse jwks;
  ::grpc::ClientContext c3;
  EXPECT_TRUE(stub_->GetJwks(&c3, v1::GetJwksRequest(), &jwks).ok());
  EXPECT_EQ(jwks.max_age().seconds(), 600);

  store_.release.Notify();
  first.join();
  EXPECT_TRUE(first_status.ok()) << first_status.error_message();
  EXPECT_EQ(Handled("Refresh", "ResourceExhausted"), 1);
  EXPECT_EQ(Handled("Refresh", "OK"), 1);
}

TEST_F(TokenServiceGrpcTest, TheCallerIdentityHookSetsOrRefusesTheClient) {
  TokenServiceGrpc::Options options;
  options.caller_identity =
      [](const ::grpc::CallbackServerContext& context) -> absl::StatusOr<std::string> {
    auto it = context.client_metadata().find("x-test-client");
    if (it == context.client_metadata().end()) return absl::UnauthenticatedError("who are you");
    return std::string(it->second.data(), it->second.size());
  };
  StartServer(options);
  v1::IssueRequest issue;
  issue.set_subject("alice");
  issue.add_audience("api");
  v1::TokenResponse issued;
  ::grpc::ClientContext anonymous;
  EXPECT_EQ(stub_->Issue(&anonymous, issue, &issued).error_code(),
            ::grpc::StatusCode::UNAUTHENTICATED);

  ::grpc::ClientContext known;
  known.AddMetadata("x-test-client", "client-7");
  ASSERT_TRUE(stub_->Issue(&known, issue, &issued).ok());
  v1::VerifyRequest verify;
  verify.set_access_token(issued.access_token());
  verify.set_audience("api");
  v1::VerifyResponse verified;
  ::grpc::ClientContext c3;
  c3.AddMetadata("x-test-client", "client-7");  // the hook names the caller of every RPC
  ASSERT_TRUE(stub_->Verify(&c3, verify, &verified).ok());
  EXPECT_EQ(verified.client_id(), "client-7");
}

TEST_F(TokenServiceGrpcTest, AuditedCallsAreAuditedOnceOnWhicheverPathTheyEnd) {
  TokenServiceGrpc::Options options;
  options.access_control = trail_.access_control();
  options.blocking_threads = 1;
  options.blocking_queue = 0;
  StartServer(options);

  v1::IssueRequest issue;  // inline: no refresh token
  issue.set_subject("alice");
  issue.add_audience("api");
  v1::TokenResponse issued;
  ::grpc::ClientContext c1;
  ASSERT_TRUE(stub_->Issue(&c1, issue, &issued).ok());
  v1::IssueRequest bad;  // no subject: refused before core
  v1::TokenResponse refused_issue;
  ::grpc::ClientContext c2;
  EXPECT_EQ(stub_->Issue(&c2, bad, &refused_issue).error_code(),
            ::grpc::StatusCode::INVALID_ARGUMENT);
  v1::VerifyRequest verify;  // Verify is not audited
  verify.set_access_token(issued.access_token());
  verify.set_audience("api");
  v1::VerifyResponse verified;
  ::grpc::ClientContext c3;
  ASSERT_TRUE(stub_->Verify(&c3, verify, &verified).ok());
  v1::RevokeRequest revoke;  // names nothing: refused before the executor
  revoke.set_reason("cleanup");
  v1::RevokeResponse revoked;
  ::grpc::ClientContext c4;
  EXPECT_EQ(stub_->Revoke(&c4, revoke, &revoked).error_code(),
            ::grpc::StatusCode::INVALID_ARGUMENT);

  // A Refresh refused because the executor is full is audited too. (The held Refresh is the
  // executor's first task: a worker that has just answered may not be idle yet.)
  // Under access control an anonymous caller is named "anonymous".
  const core::IssuedTokens pair = IssueRefreshableInCore("anonymous");
  store_.hold = true;
  v1::RefreshRequest refresh;
  refresh.set_refresh_token(pair.refresh_token);
  std::thread first([&] {
    v1::TokenResponse response;
    ::grpc::ClientContext context;
    EXPECT_TRUE(stub_->Refresh(&context, refresh, &response).ok());
  });
  store_.entered.WaitForNotification();
  v1::TokenResponse refused;
  ::grpc::ClientContext c5;
  EXPECT_EQ(stub_->Refresh(&c5, refresh, &refused).error_code(),
            ::grpc::StatusCode::RESOURCE_EXHAUSTED);
  store_.release.Notify();
  first.join();

  const std::vector<std::string> lines = trail_.Lines();
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_THAT(lines[0], HasSubstr("\"event\":\"issue\""));
  EXPECT_THAT(lines[0], HasSubstr("\"jti\":\"" + issued.token_id() + "\""));
  EXPECT_THAT(lines[0], HasSubstr("\"code\":\"OK\""));
  EXPECT_THAT(lines[1], HasSubstr("\"event\":\"issue\""));
  EXPECT_THAT(lines[1], HasSubstr("\"code\":\"INVALID_ARGUMENT\""));
  EXPECT_THAT(lines[2], HasSubstr("\"event\":\"revoke\""));
  EXPECT_THAT(lines[2], HasSubstr("\"code\":\"INVALID_ARGUMENT\""));
  EXPECT_THAT(lines[2], HasSubstr("\"revoke_reason\":\"cleanup\""));
  // The refused Refresh ends first: the other one is still waiting for the store.
  EXPECT_THAT(lines[3], HasSubstr("\"event\":\"refresh\""));
  EXPECT_THAT(lines[3], HasSubstr("\"code\":\"RESOURCE_EXHAUSTED\""));
  EXPECT_THAT(lines[4], HasSubstr("\"event\":\"refresh\""));
  EXPECT_THAT(lines[4], HasSubstr("\"code\":\"OK\""));
  EXPECT_THAT(lines[4], HasSubstr("\"subject\":\"alice\""));
  for (const std::string& line : lines) {
    EXPECT_THAT(line, Not(HasSubstr(pair.refresh_token))) << "never a token in the audit";
    EXPECT_THAT(line, Not(HasSubstr(issued.access_token()))) << "never a token in the audit";
  }
  EXPECT_EQ(Handled("Refresh", "ResourceExhausted"), 1);
}

}  // namespace
}  // namespace tokend::grpc
