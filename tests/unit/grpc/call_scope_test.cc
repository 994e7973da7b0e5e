#include "services/tokend/grpc/call_scope.h"

#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "services/tokend/auth/call_audit.h"
#include "tests/testing/metric_value.h"
#include "tests/unit/grpc/audit_trail.h"
#include "tokend/v1/token_service.grpc.pb.h"

namespace tokend::grpc {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// A service whose GetJwks runs whatever the test wants to do with a CallScope.
class ScopeService final : public v1::TokenService::CallbackService {
 public:
  using Handler = std::function<::grpc::ServerUnaryReactor*(::grpc::CallbackServerContext*)>;
  Handler handler;

  ::grpc::ServerUnaryReactor* GetJwks(::grpc::CallbackServerContext* context,
                                      const v1::GetJwksRequest* /*request*/,
                                      v1::GetJwksResponse* /*response*/) override {
    return handler(context);
  }
};

class CallScopeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", ::grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = v1::TokenService::NewStub(::grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                                            ::grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    stub_.reset();
    server_->Shutdown();
  }

  CallScope Scope(::grpc::CallbackServerContext* context) {
    return CallScope(context, RpcMethod::kGetJwks, metrics_, trail_.access_control());
  }
  ::grpc::Status Call() {
    v1::GetJwksResponse response;
    ::grpc::ClientContext context;
    return stub_->GetJwks(&context, v1::GetJwksRequest(), &response);
  }
  std::optional<double> Handled(const std::string& code) {
    return tokend::testing::MetricValue(registry_, "grpc_server_handled_total",
                                        {{"grpc_service", "tokend.v1.TokenService"},
                                         {"grpc_method", "GetJwks"},
                                         {"grpc_code", code}});
  }
  std::optional<double> Started() {
    return tokend::testing::MetricValue(
        registry_, "grpc_server_started_total",
        {{"grpc_service", "tokend.v1.TokenService"}, {"grpc_method", "GetJwks"}});
  }

  prometheus::Registry registry_;
  RpcMetrics metrics_{registry_};
  tokend::testing::AuditTrail trail_;
  ScopeService service_;
  std::unique_ptr<::grpc::Server> server_;
  std::unique_ptr<v1::TokenService::Stub> stub_;
};

TEST_F(CallScopeTest, TheFirstFinishAnswersCountsAndAuditsWithTheStatusTheCallEndsWith) {
  service_.handler = [this](::grpc::CallbackServerContext* context) {
    CallScope call = Scope(context);
    call.SetAudit([](const absl::Status& status) {
      return auth::KeyAuditEvent("rotate", "", "caller-1", status);
    });
    call.Finish(absl::PermissionDeniedError("not you"));
    return call.Finish(absl::OkStatus());  // ignored: the call has ended
  };
  const ::grpc::Status status = Call();
  EXPECT_EQ(status.error_code(), ::grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(status.error_message(), "not you");
  EXPECT_EQ(Started(), 1);
  EXPECT_EQ(Handled("PermissionDenied"), 1);
  EXPECT_EQ(Handled("OK"), 0);
  const std::vector<std::string> lines = trail_.Lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], HasSubstr("\"code\":\"PERMISSION_DENIED\""));
  EXPECT_THAT(lines[0], HasSubstr("\"caller\":\"caller-1\""));
}

TEST_F(CallScopeTest, TheLatestAuditDescriptionIsWritten) {
  service_.handler = [this](::grpc::CallbackServerContext* context) {
    CallScope call = Scope(context);
    call.SetAudit(
        [](const absl::Status& status) { return auth::KeyAuditEvent("rotate", "", "c", status); });
    call.SetAudit([](const absl::Status& status) {
      return auth::KeyAuditEvent("rotate", "kid-7", "c", status);
    });
    return call.Finish(absl::OkStatus());
  };
  EXPECT_TRUE(Call().ok());
  const std::vector<std::string> lines = trail_.Lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], HasSubstr("\"kid\":\"kid-7\""));
  EXPECT_THAT(lines[0], HasSubstr("\"code\":\"OK\""));
}

TEST_F(CallScopeTest, ACallWithoutAnAuditDescriptionIsNotAudited) {
  service_.handler = [this](::grpc::CallbackServerContext* context) {
    return Scope(context).Finish(absl::OkStatus());
  };
  EXPECT_TRUE(Call().ok());
  EXPECT_EQ(Handled("OK"), 1);
  EXPECT_THAT(trail_.Lines(), IsEmpty());
}

TEST_F(CallScopeTest, APathThatForgetsToAnswerEndsTheCallInternal) {
  service_.handler = [this](::grpc::CallbackServerContext* context) {
    CallScope call = Scope(context);
    call.SetAudit(
        [](const absl::Status& status) { return auth::KeyAuditEvent("remove", "k", "c", status); });
    return call.reactor();  // the scope's destructor ends the call
  };
  const ::grpc::Status status = Call();
  EXPECT_EQ(status.error_code(), ::grpc::StatusCode::INTERNAL);
  EXPECT_EQ(status.error_message(), "internal error");
  EXPECT_EQ(Handled("Internal"), 1);
  ASSERT_EQ(trail_.Lines().size(), 1u);
  EXPECT_THAT(trail_.Lines()[0], HasSubstr("\"code\":\"INTERNAL\""));
}

TEST_F(CallScopeTest, AMovedFromScopeEndsNothing) {
  service_.handler = [this](::grpc::CallbackServerContext* context) {
    CallScope first = Scope(context);
    ::grpc::ServerUnaryReactor* reactor = first.reactor();
    CallScope second(std::move(first));
    {
      CallScope third(std::move(second));
      third.Finish(absl::NotFoundError("none"));
    }
    return reactor;  // `first` and `second` end nothing when destroyed
  };
  EXPECT_EQ(Call().error_code(), ::grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Started(), 1);
  EXPECT_EQ(Handled("NotFound"), 1);
  EXPECT_EQ(Handled("Internal"), 0);
}

TEST_F(CallScopeTest, WithoutAnAuditTrailNothingIsWrittenButTheCallIsCounted) {
  service_.handler = [this](::grpc::CallbackServerContext* context) {
    CallScope call(context, RpcMethod::kGetJwks, metrics_, /*audit_trail=*/nullptr);
    call.SetAudit(
        [](const absl::Status& status) { return auth::KeyAuditEvent("rotate", "", "c", status); });
    return call.Finish(absl::UnavailableError("later"));
  };
  EXPECT_EQ(Call().error_code(), ::grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Handled("Unavailable"), 1);
  EXPECT_THAT(trail_.Lines(), ElementsAre());
}

}  // namespace
}  // namespace tokend::grpc
