// Two tokend replicas sharing one PostgreSQL database, one signing key and one refresh secret:
// what one revokes the other must refuse (and how fast), and refresh tokens work across them.

#include <algorithm>
#include <atomic>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "jwt/algorithm.h"
#include "tests/e2e/pg_e2e_support.h"
#include "tests/e2e/test_keys.h"
#include "tests/e2e/tokend_process.h"
#include "tests/testing/pg_test_database.h"
#include "tokend/v1/token_service.grpc.pb.h"

namespace tokend::e2e {
namespace {

class TokendReplicasTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<testing::PgTestDatabase>> database = FreshEmptyDatabase();
    if (!database.ok()) {
      if (absl::IsFailedPrecondition(database.status())) {
        GTEST_SKIP() << database.status().message();
      }
      FAIL() << database.status();
    }
    database_ = *std::move(database);
    ASSERT_TRUE(MigrateWithTokend(database_->dsn()).ok());
    absl::StatusOr<std::string> pem = GeneratePrivateKeyPem(jwt::Algorithm::kES256);
    ASSERT_TRUE(pem.ok()) << pem.status();
    key_file_ = dir_.Write("key.pem", *pem);
    secret_file_ = WriteRefreshSecret(dir_);
  }

  void TearDown() override {
    // Idle client connections would make the server's graceful GOAWAY wait (~5 s in gRPC 1.51).
    a_.reset();
    b_.reset();
    for (auto& replica : replicas_) {
      EXPECT_EQ(replica->Terminate(), std::optional<int>(0));
      if (HasFailure()) replica->DumpLog();
    }
  }

  // Starts two replicas on the shared database with `flags`.
  void StartReplicas(std::vector<std::string> flags = {}) {
    for (int i = 0; i < 2; ++i) {
      TokendProcess::Options options;
      options.args = {StoreFlag(database_->dsn()), "--signing_key=" + key_file_,
                      "--refresh_secret_file=" + secret_file_};
      options.args.insert(options.args.end(), flags.begin(), flags.end());
      absl::StatusOr<std::unique_ptr<TokendProcess>> replica = TokendProcess::Start(options);
      ASSERT_TRUE(replica.ok()) << replica.status();
      replicas_.push_back(*std::move(replica));
    }
    a_ = replicas_[0]->NewStub();
    b_ = replicas_[1]->NewStub();
  }

  v1::TokenResponse IssueOn(v1::TokenService::Stub& stub, const std::string& subject,
                            bool refresh) {
    v1::IssueRequest request;
    request.set_subject(subject);
    request.add_audience("api");
    request.set_include_refresh_token(refresh);
    v1::TokenResponse response;
    ::grpc::Status status = stub.Issue(ContextWithDeadline().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  ::grpc::Status VerifyOn(v1::TokenService::Stub& stub, const std::string& token,
                          v1::VerifyResponse* response) {
    v1::VerifyRequest request;
    request.set_access_token(token);
    request.set_audience("api");
    return stub.Verify(ContextWithDeadline().get(), request, response);
  }

  ::grpc::Status RefreshOn(v1::TokenService::Stub& stub, const std::string& token,
                           v1::TokenResponse* response) {
    v1::RefreshRequest request;
    request.set_refresh_token(token);
    return stub.Refresh(ContextWithDeadline().get(), request, response);
  }

  ScratchDir dir_;
  std::unique_ptr<testing::PgTestDatabase> database_;
  std::string key_file_;
  std::string secret_file_;
  std::vector<std::unique_ptr<TokendProcess>> replicas_;
  std::unique_ptr<v1::TokenService::Stub> a_;
  std::unique_ptr<v1::TokenService::Stub> b_;
};

TEST_F(TokendReplicasTest, RevocationOnOneReplicaIsSeenByTheOtherWithinMilliseconds) {
  // A reload interval far above the measured delay: the push (LISTEN/NOTIFY) must do the work.
  StartReplicas({"--denylist_reload_interval=30s"});
  ASSERT_FALSE(HasFatalFailure());
  constexpr int kSamples = 10;
  std::vector<double> delays_ms;
  for (int i = 0; i < kSamples; ++i) {
    v1::TokenResponse issued = IssueOn(*a_, absl::StrCat("user-", i), /*refresh=*/false);
    v1::VerifyResponse verified;
    ASSERT_TRUE(VerifyOn(*b_, issued.access_token(), &verified).ok());
    ASSERT_TRUE(verified.valid()) << "replica B must accept replica A's tokens";

    v1::RevokeRequest revoke;
    revoke.set_token_id(issued.token_id());
    v1::RevokeResponse revoked;
    ASSERT_TRUE(a_->Revoke(ContextWithDeadline().get(), revoke, &revoked).ok());
    absl::Time committed = absl::Now();  // Revoke returns once the revocation is durable
    absl::Time deadline = committed + absl::Seconds(10);
    bool seen = false;
    while (absl::Now() < deadline) {
      ASSERT_TRUE(VerifyOn(*b_, issued.access_token(), &verified).ok());
      if (!verified.valid()) {
        EXPECT_EQ(verified.error(), v1::VERIFY_ERROR_REVOKED);
        seen = true;
        break;
      }
    }
    ASSERT_TRUE(seen) << "replica B still accepts a token revoked on A after 10 s";
    delays_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - committed));
  }
  std::sort(delays_ms.begin(), delays_ms.end());
  for (double ms : delays_ms) std::cout << "revocation propagation: " << ms << " ms\n";
  std::cout << "revocation propagation: median " << delays_ms[kSamples / 2] << " ms, max "
            << delays_ms.back() << " ms over " << kSamples << " revocations\n";
  // Far below the 30 s reload interval: the feed delivered it.
  EXPECT_LT(delays_ms.back(), 2000.0);
}

TEST_F(TokendReplicasTest, RefreshTokensWorkAcrossReplicasAndAGraceRetryGetsTheSameChild) {
  StartReplicas({"--refresh_reuse_grace=30s"});
  ASSERT_FALSE(HasFatalFailure());
  v1::TokenResponse issued = IssueOn(*a_, "alice", /*refresh=*/true);
  v1::TokenResponse on_b, retry_on_a;
  ASSERT_TRUE(RefreshOn(*b_, issued.refresh_token(), &on_b).ok());
  // The client retries on the other replica (e.g. it never saw B's answer).
  ASSERT_TRUE(RefreshOn(*a_, issued.refresh_token(), &retry_on_a).ok());
  EXPECT_EQ(retry_on_a.refresh_token(), on_b.refresh_token());
  v1::VerifyResponse verified;
  ASSERT_TRUE(VerifyOn(*a_, on_b.access_token(), &verified).ok());
  EXPECT_TRUE(verified.valid());
}

TEST_F(TokendReplicasTest, ReuseDetectedOnOneReplicaRevokesTheFamilyOnBoth) {
  StartReplicas({"--refresh_reuse_grace=0s"});
  ASSERT_FALSE(HasFatalFailure());
  v1::TokenResponse issued = IssueOn(*a_, "alice", /*refresh=*/true);
  v1::TokenResponse child, ignored;
  ASSERT_TRUE(RefreshOn(*a_, issued.refresh_token(), &child).ok());
  EXPECT_EQ(RefreshOn(*b_, issued.refresh_token(), &ignored).error_code(),
            ::grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(RefreshOn(*a_, child.refresh_token(), &ignored).error_code(),
            ::grpc::StatusCode::UNAUTHENTICATED);
  // Replica A learns of B's family revocation through the feed.
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  v1::VerifyResponse verified;
  do {
    ASSERT_TRUE(VerifyOn(*a_, child.access_token(), &verified).ok());
  } while (verified.valid() && absl::Now() < deadline);
  EXPECT_EQ(verified.error(), v1::VERIFY_ERROR_REVOKED);
}

TEST_F(TokendReplicasTest, ConcurrentRefreshesOnBothReplicasHaveExactlyOneWinner) {
  StartReplicas({"--refresh_reuse_grace=0s"});
  ASSERT_FALSE(HasFatalFailure());
  v1::TokenResponse issued = IssueOn(*a_, "alice", /*refresh=*/true);
  constexpr int kRacers = 16;
  std::vector<::grpc::Status> statuses(kRacers);
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < kRacers; ++i) {
    threads.emplace_back([&, i] {
      while (!go.load()) std::this_thread::yield();
      v1::TokenResponse response;
      statuses[static_cast<size_t>(i)] =
          RefreshOn(i % 2 == 0 ? *a_ : *b_, issued.refresh_token(), &response);
    });
  }
  go.store(true);
  for (std::thread& t : threads) t.join();
  int ok = 0;
  for (const ::grpc::Status& status : statuses) {
    if (status.ok()) {
      ++ok;
    } else {
      EXPECT_EQ(status.error_code(), ::grpc::StatusCode::UNAUTHENTICATED) << status.error_message();
    }
  }
  EXPECT_EQ(ok, 1);
}

}  // namespace
}  // namespace tokend::e2e
