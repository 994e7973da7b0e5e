// PostgreSQL stopped and restarted under a running tokend (on a private ScratchPostgresServer,
// so no other test's database goes away): Verify keeps answering from the denylist within its
// staleness limit, Refresh and Revoke fail fast with UNAVAILABLE instead of hanging, /readyz
// says the database is down while staying ready (the replica stays in load balancing), and
// everything recovers by itself once the database is back.

#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/e2e/http_get.h"
#include "tests/e2e/pg_e2e_support.h"
#include "tests/e2e/tokend_process.h"
#include "tests/testing/scratch_postgres_server.h"
#include "tokend/v1/token_service.grpc.pb.h"

namespace tokend::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The longest an RPC may take while the database is down (--db_timeout=1s, plus slack for a
// connect attempt and a loaded 2-core machine).
constexpr absl::Duration kFailFast = absl::Seconds(3);

class TokendOutageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (absl::Status available = PostgresAvailable(); !available.ok()) {
      if (absl::IsFailedPrecondition(available)) GTEST_SKIP() << available.message();
      FAIL() << available;
    }
    absl::StatusOr<std::unique_ptr<testing::ScratchPostgresServer>> server =
        testing::ScratchPostgresServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    ASSERT_TRUE(MigrateWithTokend(server_->dsn()).ok());
  }

  ScratchDir dir_;
  std::unique_ptr<testing::ScratchPostgresServer> server_;
};

struct Timed {
  ::grpc::Status status;
  absl::Duration elapsed;
};

// grpc.health.v1.Health/Check for `service` through a generic stub (no health proto needed):
// the serialized HealthCheckResponse, e.g. "\x08\x01" for SERVING.
std::string HealthCheck(const std::shared_ptr<::grpc::Channel>& channel,
                        const std::string& service) {
  ::grpc::GenericStub stub(channel);
  ::grpc::CompletionQueue cq;
  const std::string request = std::string("\x0a") + static_cast<char>(service.size()) + service;
  ::grpc::Slice slice(request);
  ::grpc::ByteBuffer response;
  ::grpc::Status status;
  auto context = ContextWithDeadline();
  auto call = stub.PrepareUnaryCall(context.get(), "/grpc.health.v1.Health/Check",
                                    ::grpc::ByteBuffer(&slice, 1), &cq);
  call->StartCall();
  call->Finish(&response, &status, reinterpret_cast<void*>(1));
  void* tag = nullptr;
  bool ok = false;
  if (!cq.Next(&tag, &ok) || !status.ok()) return "error: " + status.error_message();
  std::vector<::grpc::Slice> slices;
  if (!response.Dump(&slices).ok()) return "error: dump";
  std::string bytes;
  for (const ::grpc::Slice& s : slices)
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return bytes;
}

template <typename Call>
Timed TimeCall(Call call) {
  absl::Time start = absl::Now();
  ::grpc::Status status = call();
  return {status, absl::Now() - start};
}

TEST_F(TokendOutageTest, DatabaseOutageFailsFastAndRecoversByItself) {
  TokendProcess::Options options;
  options.args = {StoreFlag(server_->dsn()),
                  "--refresh_secret_file=" + WriteRefreshSecret(dir_),
                  "--db_timeout=1s",
                  "--denylist_max_staleness=60s",
                  "--denylist_reload_interval=1s",
                  "--refresh_reuse_grace=30s"};
  absl::StatusOr<std::unique_ptr<TokendProcess>> started = TokendProcess::Start(options);
  ASSERT_TRUE(started.ok()) << started.status();
  TokendProcess& tokend = **started;
  auto stub = tokend.NewStub();

  auto issue = [&](bool refresh, v1::TokenResponse* out) {
    v1::IssueRequest request;
    request.set_subject("alice");
    request.add_audience("api");
    request.set_include_refresh_token(refresh);
    return stub->Issue(ContextWithDeadline().get(), request, out);
  };
  auto verify = [&](const std::string& token, v1::VerifyResponse* out) {
    v1::VerifyRequest request;
    request.set_access_token(token);
    request.set_audience("api");
    return stub->Verify(ContextWithDeadline().get(), request, out);
  };
  auto refresh = [&](const std::string& token, v1::TokenResponse* out) {
    v1::RefreshRequest request;
    request.set_refresh_token(token);
    return stub->Refresh(ContextWithDeadline().get(), request, out);
  };
  auto revoke_jti = [&](const std::string& jti) {
    v1::RevokeRequest request;
    request.set_token_id(jti);
    v1::RevokeResponse out;
    return stub->Revoke(ContextWithDeadline().get(), request, &out);
  };
  auto readyz = [&]() {
    absl::StatusOr<HttpResponse> response = HttpGet(tokend.http_port(), "/readyz");
    return response.ok() ? *response : HttpResponse{};
  };

  v1::TokenResponse issued;
  ASSERT_TRUE(issue(/*refresh=*/true, &issued).ok());
  v1::TokenResponse revoked_before;
  ASSERT_TRUE(issue(/*refresh=*/false, &revoked_before).ok());
  ASSERT_TRUE(revoke_jti(revoked_before.token_id()).ok());

  ASSERT_TRUE(server_->Stop().ok());
  absl::Time down_since = absl::Now();

  // Verify answers from memory: valid tokens stay valid, revoked ones stay revoked.
  v1::VerifyResponse verified;
  Timed t = TimeCall([&] { return verify(issued.access_token(), &verified); });
  ASSERT_TRUE(t.status.ok()) << t.status.error_message();
  EXPECT_TRUE(verified.valid());
  ASSERT_TRUE(verify(revoked_before.access_token(), &verified).ok());
  EXPECT_EQ(verified.error(), v1::VERIFY_ERROR_REVOKED);
  // Issue without a refresh token needs no database either.
  v1::TokenResponse plain;
  EXPECT_TRUE(issue(/*refresh=*/false, &plain).ok());

  // Database-bound calls fail fast with a retryable code.
  v1::TokenResponse ignored;
  Timed refresh_down = TimeCall([&] { return refresh(issued.refresh_token(), &ignored); });
  EXPECT_EQ(refresh_down.status.error_code(), ::grpc::StatusCode::UNAVAILABLE)
      << refresh_down.status.error_message();
  EXPECT_LT(refresh_down.elapsed, kFailFast);
  Timed revoke_down = TimeCall([&] { return revoke_jti(plain.token_id()); });
  EXPECT_EQ(revoke_down.status.error_code(), ::grpc::StatusCode::UNAVAILABLE)
      << revoke_down.status.error_message();
  EXPECT_LT(revoke_down.elapsed, kFailFast);
  Timed issue_down = TimeCall([&] { return issue(/*refresh=*/true, &ignored); });
  EXPECT_EQ(issue_down.status.error_code(), ::grpc::StatusCode::UNAVAILABLE);
  EXPECT_LT(issue_down.elapsed, kFailFast);
  std::cout << "database down: Refresh answered " << refresh_down.status.error_code() << " in "
            << absl::FormatDuration(refresh_down.elapsed) << ", Revoke in "
            << absl::FormatDuration(revoke_down.elapsed) << ", Issue+refresh in "
            << absl::FormatDuration(issue_down.elapsed) << "\n";

  // /readyz names the database in its body but stays 200: the replica keeps its place in load
  // balancing (Verify and Issue need no database). No host, port or libpq text reaches it.
  HttpResponse ready;
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  do {
    ready = readyz();
    if (ready.body.find("database") != std::string::npos) break;
    absl::SleepFor(absl::Milliseconds(100));
  } while (absl::Now() < deadline);
  EXPECT_EQ(ready.status, 200) << ready.body;
  EXPECT_THAT(ready.body, HasSubstr(R"("degraded":{"database":"unreachable"})"));
  EXPECT_THAT(ready.body, Not(HasSubstr("127.0.0.1")));
  EXPECT_THAT(ready.body, Not(HasSubstr(std::to_string(server_->port()))));
  // The gRPC health service (the chart's readiness probe) says SERVING throughout.
  EXPECT_EQ(HealthCheck(tokend.NewChannel(), "tokend.v1.TokenService"), std::string("\x08\x01", 2));

  ASSERT_TRUE(server_->Restart().ok());
  absl::Time restarted = absl::Now();
  std::cout << "database was down for " << absl::FormatDuration(restarted - down_since) << "\n";

  // Both recover by themselves within seconds.
  ::grpc::Status status;
  v1::TokenResponse refreshed;
  deadline = absl::Now() + absl::Seconds(20);
  do {
    status = refresh(issued.refresh_token(), &refreshed);
    if (status.ok()) break;
    EXPECT_EQ(status.error_code(), ::grpc::StatusCode::UNAVAILABLE) << status.error_message();
    absl::SleepFor(absl::Milliseconds(100));
  } while (absl::Now() < deadline);
  ASSERT_TRUE(status.ok()) << "Refresh did not recover: " << status.error_message();
  absl::Duration refresh_recovery = absl::Now() - restarted;
  deadline = absl::Now() + absl::Seconds(20);
  do {
    status = revoke_jti(plain.token_id());
    if (status.ok()) break;
    absl::SleepFor(absl::Milliseconds(100));
  } while (absl::Now() < deadline);
  ASSERT_TRUE(status.ok()) << "Revoke did not recover: " << status.error_message();
  absl::Duration revoke_recovery = absl::Now() - restarted;
  EXPECT_LT(refresh_recovery, absl::Seconds(10));
  EXPECT_LT(revoke_recovery, absl::Seconds(10));
  ASSERT_TRUE(verify(plain.access_token(), &verified).ok());
  EXPECT_EQ(verified.error(), v1::VERIFY_ERROR_REVOKED);

  deadline = absl::Now() + absl::Seconds(10);
  do {
    ready = readyz();
    if (ready.status == 200) break;
    absl::SleepFor(absl::Milliseconds(100));
  } while (absl::Now() < deadline);
  EXPECT_EQ(ready.status, 200) << ready.body;
  std::cout << "after restart: Refresh recovered in " << absl::FormatDuration(refresh_recovery)
            << ", Revoke in " << absl::FormatDuration(revoke_recovery) << "\n";

  EXPECT_EQ(tokend.Terminate(), std::optional<int>(0));
  if (HasFailure()) tokend.DumpLog();
}

TEST_F(TokendOutageTest, VerifyFailsClosedOnceTheDenylistIsTooStale) {
  TokendProcess::Options options;
  options.args = {StoreFlag(server_->dsn()), "--refresh_secret_file=" + WriteRefreshSecret(dir_),
                  "--db_timeout=1s", "--denylist_max_staleness=2s",
                  "--denylist_reload_interval=1s"};
  absl::StatusOr<std::unique_ptr<TokendProcess>> started = TokendProcess::Start(options);
  ASSERT_TRUE(started.ok()) << started.status();
  TokendProcess& tokend = **started;
  auto stub = tokend.NewStub();
  v1::IssueRequest request;
  request.set_subject("alice");
  request.add_audience("api");
  v1::TokenResponse issued;
  ASSERT_TRUE(stub->Issue(ContextWithDeadline().get(), request, &issued).ok());
  ASSERT_TRUE(server_->Stop().ok());

  // Within a few seconds the list is older than 2 s: a revoked token could pass, so no answer.
  v1::VerifyRequest verify;
  verify.set_access_token(issued.access_token());
  verify.set_audience("api");
  v1::VerifyResponse verified;
  ::grpc::Status status;
  absl::Time deadline = absl::Now() + absl::Seconds(15);
  do {
    status = stub->Verify(ContextWithDeadline().get(), verify, &verified);
    if (!status.ok()) break;
    absl::SleepFor(absl::Milliseconds(100));
  } while (absl::Now() < deadline);
  EXPECT_EQ(status.error_code(), ::grpc::StatusCode::UNAVAILABLE);

  ASSERT_TRUE(server_->Restart().ok());
  deadline = absl::Now() + absl::Seconds(20);
  do {
    status = stub->Verify(ContextWithDeadline().get(), verify, &verified);
    if (status.ok()) break;
    absl::SleepFor(absl::Milliseconds(100));
  } while (absl::Now() < deadline);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(verified.valid());
  EXPECT_EQ(tokend.Terminate(), std::optional<int>(0));
  if (HasFailure()) tokend.DumpLog();
}

}  // namespace
}  // namespace tokend::e2e
