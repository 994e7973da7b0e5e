// Certificate and policy reload under traffic, against the real tokend binary over mTLS: no
// call fails while files change, new certificates and policies take effect without a restart,
// and a bad policy file keeps the last good one.

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/auth_e2e_support.h"
#include "tests/e2e/tokend_process.h"
#include "tokend/v1/token_service.grpc.pb.h"

namespace tokend::e2e {
namespace {

using ::testing::HasSubstr;

constexpr char kGateway[] = "spiffe://mesh.test/ns/edge/sa/gateway";

constexpr char kAllowIssue[] = R"yaml(
callers:
  - id: "spiffe://mesh.test/ns/edge/sa/gateway"
    rpcs: [Issue, Verify]
    issue: {subjects: ["user:*"], audiences: [orders]}
)yaml";

constexpr char kVerifyOnly[] = R"yaml(
callers:
  - id: "spiffe://mesh.test/ns/edge/sa/gateway"
    rpcs: [Verify]
)yaml";

// How long a reload may take to show (the poll intervals are 1 s).
constexpr absl::Duration kReloadDeadline = absl::Seconds(20);

class AuthReloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<AuthCerts>> certs = AuthCerts::Create();
    ASSERT_TRUE(certs.ok()) << certs.status();
    certs_ = *std::move(certs);
    absl::StatusOr<ClientCert> gateway = certs_->Spiffe("gateway", kGateway);
    ASSERT_TRUE(gateway.ok()) << gateway.status();
    gateway_ = *std::move(gateway);
    policy_path_ = certs_->WriteAtomically("policy.yaml", kAllowIssue);
    TokendProcess::Options options;
    options.insecure = false;
    options.args = certs_->ServerFlags();
    options.args.insert(
        options.args.end(),
        {"--store=memory", "--policy_file=" + policy_path_, "--policy_reload_interval=1s",
         "--tls_reload_interval=1s", "--audit_log=" + certs_->dir().File("audit.jsonl")});
    absl::StatusOr<std::unique_ptr<TokendProcess>> process = TokendProcess::Start(options);
    ASSERT_TRUE(process.ok()) << process.status();
    tokend_ = *std::move(process);
  }

  void TearDown() override {
    StopTraffic();
    if (HasFailure() && tokend_ != nullptr) tokend_->DumpLog();
  }

  static v1::IssueRequest UserIssue() {
    v1::IssueRequest request;
    request.set_subject("user:1");
    request.add_audience("orders");
    return request;
  }

  // Calls Issue in a loop on one channel, counting outcomes, until StopTraffic().
  void StartTraffic() {
    traffic_ = std::thread([this] {
      auto stub = TlsStub(tokend_->grpc_port(), certs_->ca().cert_pem(), &gateway_);
      while (!stop_.load()) {
        v1::TokenResponse response;
        ::grpc::Status status = stub->Issue(ContextWithDeadline().get(), UserIssue(), &response);
        if (status.ok()) {
          ok_.fetch_add(1);
        } else if (status.error_code() == ::grpc::StatusCode::PERMISSION_DENIED) {
          denied_.fetch_add(1);
        } else {
          other_.fetch_add(1);
        }
        // Steady traffic, without starving the server of the machine's two cores.
        absl::SleepFor(absl::Milliseconds(5));
      }
    });
  }
  void StopTraffic() {
    stop_.store(true);
    if (traffic_.joinable()) traffic_.join();
  }

  // Polls `done` until it holds or the deadline passes.
  template <typename F>
  bool Eventually(F done) {
    absl::Time deadline = absl::Now() + kReloadDeadline;
    while (absl::Now() < deadline) {
      if (done()) return true;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return done();
  }

  std::unique_ptr<AuthCerts> certs_;
  ClientCert gateway_;
  std::string policy_path_;
  std::unique_ptr<TokendProcess> tokend_;
  std::thread traffic_;
  std::atomic<bool> stop_{false};
  std::atomic<int> ok_{0}, denied_{0}, other_{0};
};

TEST_F(AuthReloadTest, PolicyChangesApplyUnderTrafficAndABadFileKeepsTheLastGoodOne) {
  StartTraffic();
  ASSERT_TRUE(Eventually([&] { return ok_.load() > 10; }));

  certs_->WriteAtomically("policy.yaml", kVerifyOnly);
  ASSERT_TRUE(Eventually([&] { return denied_.load() > 10; })) << "the new policy never applied";
  const int ok_before_bad_file = ok_.load();

  // A broken edit: reported, counted, and the last good policy (Issue denied) stays.
  certs_->WriteAtomically("policy.yaml", "callers:\n  - id: [unclosed\n");
  ASSERT_TRUE(Eventually([&] {
    return Scrape(tokend_->http_port(), "tokend_policy_reloads_total", {{"result", "error"}})
               .value_or(0) >= 1;
  }));
  const int denied_after_bad_file = denied_.load();
  ASSERT_TRUE(Eventually([&] { return denied_.load() > denied_after_bad_file + 10; }));
  EXPECT_EQ(ok_.load(), ok_before_bad_file);

  // Fixed again: Issue is back.
  certs_->WriteAtomically("policy.yaml", kAllowIssue);
  const int ok_before_fix = ok_.load();
  ASSERT_TRUE(Eventually([&] { return ok_.load() > ok_before_fix + 10; }));
  StopTraffic();

  EXPECT_EQ(other_.load(), 0) << "calls failed with something other than the policy's answer";
  EXPECT_EQ(Scrape(tokend_->http_port(), "tokend_policy_reloads_total", {{"result", "ok"}}), 3);
  const std::string audit = ReadAll(certs_->dir().File("audit.jsonl"));
  EXPECT_THAT(audit, HasSubstr("\"event\":\"policy_reload\",\"caller\":\"\""));
  EXPECT_THAT(audit, HasSubstr("\"outcome\":\"error\""));
  EXPECT_THAT(tokend_->Log(), HasSubstr("keeping the last good policy"));
}

TEST_F(AuthReloadTest, CertificatesRotateUnderTrafficWithoutARestart) {
  StartTraffic();
  ASSERT_TRUE(Eventually([&] { return ok_.load() > 10; }));

  // A client of a new CA is refused until the client CA bundle includes that CA.
  absl::StatusOr<std::unique_ptr<testing::TestCa>> new_ca = testing::TestCa::Create("new CA");
  ASSERT_TRUE(new_ca.ok());
  testing::CertSpec spec;
  spec.uris = {kGateway};
  absl::StatusOr<ClientCert> newcomer = certs_->Client("newcomer", spec, new_ca->get());
  ASSERT_TRUE(newcomer.ok());
  auto issue_as_newcomer = [&] {
    auto stub = TlsStub(tokend_->grpc_port(), certs_->ca().cert_pem(), &*newcomer);
    v1::TokenResponse response;
    return stub->Issue(ContextWithDeadline().get(), UserIssue(), &response).error_code();
  };
  EXPECT_EQ(issue_as_newcomer(), ::grpc::StatusCode::UNAVAILABLE);
  certs_->WriteAtomically("client-ca.crt", certs_->ca().cert_pem() + (*new_ca)->cert_pem());
  EXPECT_TRUE(Eventually([&] { return issue_as_newcomer() == ::grpc::StatusCode::OK; }))
      << "the new client CA was never picked up";

  // The server certificate is replaced: new connections see the new one.
  absl::StatusOr<std::string> rotated = certs_->RotateServerCert();
  ASSERT_TRUE(rotated.ok());
  auto served_certificate = [&] {
    auto stub = TlsStub(tokend_->grpc_port(), certs_->ca().cert_pem(), &gateway_);
    auto context = ContextWithDeadline();
    v1::GetJwksResponse jwks;
    if (!stub->GetJwks(context.get(), v1::GetJwksRequest(), &jwks).ok()) return std::string();
    std::vector<::grpc::string_ref> pems =
        context->auth_context()->FindPropertyValues("x509_pem_cert");
    return pems.empty() ? std::string() : std::string(pems.front().data(), pems.front().size());
  };
  EXPECT_TRUE(Eventually([&] { return served_certificate() == *rotated; }))
      << "the new server certificate was never served";

  // Traffic on the existing connection never noticed.
  const int ok_before_stop = ok_.load();
  ASSERT_TRUE(Eventually([&] { return ok_.load() > ok_before_stop + 10; }));
  StopTraffic();
  EXPECT_EQ(other_.load(), 0);
  EXPECT_EQ(denied_.load(), 0);
}

}  // namespace
}  // namespace tokend::e2e
