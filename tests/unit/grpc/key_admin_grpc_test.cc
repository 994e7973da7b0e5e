// The signing-key administration RPCs (KeyAdminGrpc, served through TokenServiceGrpc, the
// registered service), on an in-process gRPC server with a real KeyManager over a MemoryKeyStore.

#include "services/tokend/grpc/key_admin_grpc.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "services/tokend/grpc/token_service_grpc.h"
#include "services/tokend/keys/key_encryption.h"
#include "services/tokend/keys/key_manager.h"
#include "storage/memory/memory_key_store.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/metric_value.h"
#include "tests/unit/core/service_harness.h"
#include "tests/unit/grpc/audit_trail.h"
#include "tokend/v1/token_service.grpc.pb.h"

namespace tokend::grpc {
namespace {

class KeyAdminGrpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<keys::Kek> kek = keys::Kek::FromBytes(jwt::SecretData(std::string(32, 'k')));
    ASSERT_TRUE(kek.ok());
    absl::StatusOr<std::unique_ptr<keys::KeyManager>> manager = keys::KeyManager::Open(
        key_store_, keys::KekRing(*kek), keys::KeyManagerOptions(), clock_, nullptr);
    ASSERT_TRUE(manager.ok()) << manager.status();
    manager_ = *std::move(manager);
  }

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
  TokenServiceGrpc::Options Enabled() {
    TokenServiceGrpc::Options options;
    options.key_manager = manager_.get();
    options.key_admin_rpcs = true;
    return options;
  }

  void TearDown() override {
    stub_.reset();
    if (server_) server_->Shutdown();
    if (adapter_) adapter_->Shutdown();
  }

  ::grpc::StatusCode Rotate(bool immediate, v1::RotateSigningKeyResponse* response) {
    v1::RotateSigningKeyRequest request;
    request.set_immediate(immediate);
    ::grpc::ClientContext context;
    return stub_->RotateSigningKey(&context, request, response).error_code();
  }
  ::grpc::StatusCode List(v1::ListSigningKeysResponse* response) {
    ::grpc::ClientContext context;
    return stub_->ListSigningKeys(&context, v1::ListSigningKeysRequest(), response).error_code();
  }
  ::grpc::StatusCode Remove(const std::string& kid, const std::string& reason,
                            v1::RemoveSigningKeyResponse* response) {
    v1::RemoveSigningKeyRequest request;
    request.set_kid(kid);
    request.set_reason(reason);
    ::grpc::ClientContext context;
    return stub_->RemoveSigningKey(&context, request, response).error_code();
  }

  testing::FakeClock clock_;
  storage::MemoryKeyStore key_store_;
  std::unique_ptr<keys::KeyManager> manager_;
  core::testing::ServiceHarness harness_;
  RpcMetrics rpc_metrics_{harness_.registry};
  tokend::testing::AuditTrail trail_;  // the audit trail, when a test asks for one
  std::unique_ptr<TokenServiceGrpc> adapter_;
  std::unique_ptr<::grpc::Server> server_;
  std::unique_ptr<v1::TokenService::Stub> stub_;
};

TEST_F(KeyAdminGrpcTest, AdminRpcsAreRefusedUnlessExplicitlyEnabled) {
  TokenServiceGrpc::Options options;
  options.key_manager = manager_.get();  // managed keys, but --key_admin_rpcs not given
  StartServer(options);
  v1::RotateSigningKeyResponse rotated;
  v1::ListSigningKeysResponse listed;
  v1::RemoveSigningKeyResponse removed;
  EXPECT_EQ(Rotate(true, &rotated), ::grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(List(&listed), ::grpc::StatusCode::PERMISSION_DENIED);
  const std::string kid = manager_->key_ring()->ActiveKey().kid();
  EXPECT_EQ(Remove(kid, "", &removed), ::grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(manager_->key_ring()->ActiveKey().kid(), kid) << "nothing may have changed";
  EXPECT_EQ(tokend::testing::MetricValue(harness_.registry, "grpc_server_handled_total",
                                         {{"grpc_method", "RemoveSigningKey"},
                                          {"grpc_code", "PermissionDenied"},
                                          {"grpc_service", "tokend.v1.TokenService"}}),
            1);
}

TEST_F(KeyAdminGrpcTest, WithoutManagedKeysTheyAreFailedPrecondition) {
  TokenServiceGrpc::Options options;
  options.key_admin_rpcs = true;
  StartServer(options);
  v1::ListSigningKeysResponse listed;
  EXPECT_EQ(List(&listed), ::grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(KeyAdminGrpcTest, TheCallerIdentityHookDecidesFirst) {
  TokenServiceGrpc::Options options = Enabled();
  options.caller_identity =
      [](const ::grpc::CallbackServerContext&) -> absl::StatusOr<std::string> {
    return absl::UnauthenticatedError("who are you");
  };
  StartServer(options);
  v1::ListSigningKeysResponse listed;
  EXPECT_EQ(List(&listed), ::grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(KeyAdminGrpcTest, RotateListAndRemoveMapTheKeyManager) {
  StartServer(Enabled());
  const std::string first = manager_->key_ring()->ActiveKey().kid();

  v1::RotateSigningKeyResponse rotated;
  ASSERT_EQ(Rotate(false, &rotated), ::grpc::StatusCode::OK);
  EXPECT_FALSE(rotated.rotated_now());
  EXPECT_NE(rotated.kid(), first);
  EXPECT_EQ(rotated.activates_at().seconds(),
            absl::ToUnixSeconds(clock_.Now() + manager_->policy().publish_lead()));

  v1::ListSigningKeysResponse listed;
  ASSERT_EQ(List(&listed), ::grpc::StatusCode::OK);
  ASSERT_EQ(listed.keys_size(), 2);
  for (const v1::SigningKeyInfo& key : listed.keys()) {
    EXPECT_EQ(key.signing(), key.kid() == first);
    EXPECT_EQ(key.state(),
              key.kid() == first ? v1::SIGNING_KEY_STATE_ACTIVE : v1::SIGNING_KEY_STATE_NEXT);
    EXPECT_EQ(key.algorithm(), "EdDSA");
    EXPECT_FALSE(key.has_removed_at()) << "never: unset, not year 9999";
    EXPECT_FALSE(key.kek_id().empty());
  }

  v1::RemoveSigningKeyResponse removed;
  EXPECT_EQ(Remove("", "", &removed), ::grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Remove(first, "line\nforged log line", &removed), ::grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Remove("no-such-kid", "", &removed), ::grpc::StatusCode::NOT_FOUND);
  ASSERT_EQ(Remove(first, "leaked", &removed), ::grpc::StatusCode::OK);
  EXPECT_EQ(removed.previous_state(), v1::SIGNING_KEY_STATE_ACTIVE);
  EXPECT_EQ(removed.new_active_kid(), rotated.kid());
  EXPECT_EQ(manager_->key_ring()->ActiveKey().kid(), rotated.kid());

  listed.Clear();
  ASSERT_EQ(List(&listed), ::grpc::StatusCode::OK);
  bool found = false;
  for (const v1::SigningKeyInfo& key : listed.keys()) {
    if (key.kid() != first) continue;
    found = true;
    EXPECT_EQ(key.state(), v1::SIGNING_KEY_STATE_REMOVED);
    EXPECT_EQ(key.removal_reason(), "leaked");
    EXPECT_TRUE(key.has_removed_at());
  }
  EXPECT_TRUE(found);

  ASSERT_EQ(Rotate(true, &rotated), ::grpc::StatusCode::OK);
  EXPECT_TRUE(rotated.rotated_now());
  EXPECT_EQ(manager_->key_ring()->ActiveKey().kid(), rotated.kid());
}

TEST_F(KeyAdminGrpcTest, RotateAndRemoveAreAuditedAndCountedUnderTheirOwnNames) {
  TokenServiceGrpc::Options options = Enabled();
  options.access_control = trail_.access_control();
  StartServer(options);
  v1::RotateSigningKeyResponse rotated;
  ASSERT_EQ(Rotate(false, &rotated), ::grpc::StatusCode::OK);
  v1::ListSigningKeysResponse listed;
  ASSERT_EQ(List(&listed), ::grpc::StatusCode::OK);  // a read: not audited
  v1::RemoveSigningKeyResponse removed;
  EXPECT_EQ(Remove("no-such-kid", "", &removed), ::grpc::StatusCode::NOT_FOUND);

  const std::vector<std::string> lines = trail_.Lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[0], ::testing::HasSubstr("\"action\":\"rotate\""));
  EXPECT_THAT(lines[0], ::testing::HasSubstr("\"kid\":\"" + rotated.kid() + "\""));
  EXPECT_THAT(lines[0], ::testing::HasSubstr("\"code\":\"OK\""));
  EXPECT_THAT(lines[1], ::testing::HasSubstr("\"action\":\"remove\""));
  EXPECT_THAT(lines[1], ::testing::HasSubstr("\"kid\":\"no-such-kid\""));
  EXPECT_THAT(lines[1], ::testing::HasSubstr("\"code\":\"NOT_FOUND\""));
  for (const char* method : {"RotateSigningKey", "ListSigningKeys"}) {
    EXPECT_EQ(tokend::testing::MetricValue(harness_.registry, "grpc_server_handled_total",
                                           {{"grpc_method", method},
                                            {"grpc_code", "OK"},
                                            {"grpc_service", "tokend.v1.TokenService"}}),
              1)
        << method;
  }
}

}  // namespace
}  // namespace tokend::grpc
