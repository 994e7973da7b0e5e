// PostgresTokenStore and its feed against databases that cannot answer: every call must end
// in UNAVAILABLE within a bounded time, never hang. These need no running server.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/postgres/migrations.h"
#include "storage/postgres/postgres_revocation_feed.h"
#include "storage/postgres/postgres_token_store.h"
#include "tests/testing/pg_server_control.h"

namespace tokend::storage {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr auto kBound = std::chrono::seconds(3);

// A loopback socket that accepts TCP connections into its backlog but never answers: a
// server that hangs. Closed on destruction.
class SilentServer {
 public:
  SilentServer() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 && listen(fd_, 16) == 0 &&
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port_ = ntohs(addr.sin_port);
    }
  }
  ~SilentServer() { close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

std::string DsnForPort(int port) {
  // A password in the DSN: it must never show up in an error message.
  return absl::StrCat("host=127.0.0.1 port=", port,
                      " user=tokend password=hunter2-secret dbname=postgres");
}

template <typename Fn>
std::chrono::steady_clock::duration Timed(Fn&& fn) {
  const auto start = std::chrono::steady_clock::now();
  fn();
  return std::chrono::steady_clock::now() - start;
}

TEST(PostgresConnectTest, ClosedPortIsUnavailableAtOnce) {
  const int port = testing::PickFreeLoopbackPort();  // nobody listens there
  ASSERT_NE(port, 0);
  PostgresOptions options;
  options.dsn = DsnForPort(port);
  absl::StatusOr<std::unique_ptr<PostgresTokenStore>> store;
  const auto took = Timed([&] { store = PostgresTokenStore::Connect(options); });
  EXPECT_EQ(store.status().code(), absl::StatusCode::kUnavailable) << store.status();
  EXPECT_LT(took, kBound);
  EXPECT_THAT(std::string(store.status().message()), Not(HasSubstr("hunter2")));
}

TEST(PostgresConnectTest, ServerThatNeverAnswersIsUnavailableWithinTheConnectTimeout) {
  SilentServer silent;
  ASSERT_NE(silent.port(), 0);
  PostgresOptions options;
  options.dsn = DsnForPort(silent.port());
  absl::StatusOr<std::unique_ptr<PostgresTokenStore>> store;
  const auto took = Timed([&] { store = PostgresTokenStore::Connect(options); });
  EXPECT_EQ(store.status().code(), absl::StatusCode::kUnavailable) << store.status();
  EXPECT_LT(took, kBound);
  EXPECT_THAT(std::string(store.status().message()), Not(HasSubstr("hunter2")));
}

TEST(PostgresConnectTest, MigrateAndFeedOnAnUnreachableDatabaseAreUnavailable) {
  SilentServer silent;
  ASSERT_NE(silent.port(), 0);
  absl::Status migrated;
  auto took = Timed([&] { migrated = MigrateSchema(DsnForPort(silent.port())); });
  EXPECT_EQ(migrated.code(), absl::StatusCode::kUnavailable) << migrated;
  EXPECT_LT(took, kBound);

  PostgresOptions options;
  options.dsn = DsnForPort(silent.port());
  PostgresRevocationFeed feed(options);
  RevocationFeed::Callbacks callbacks;
  callbacks.on_revocation = [](const Revocation&) {};
  absl::Status started;
  took = Timed([&] { started = feed.Start(callbacks); });
  EXPECT_EQ(started.code(), absl::StatusCode::kUnavailable) << started;
  EXPECT_LT(took, kBound);
  EXPECT_THAT(std::string(started.message()), Not(HasSubstr("hunter2")));
}

TEST(PostgresConnectTest, BadOptionsAreInvalidArgument) {
  PostgresOptions options;
  EXPECT_EQ(PostgresTokenStore::Connect(options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.dsn = DsnForPort(1);
  options.pool_size = 0;
  EXPECT_EQ(PostgresTokenStore::Connect(options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.pool_size = 1;
  options.statement_timeout = absl::ZeroDuration();
  EXPECT_EQ(PostgresTokenStore::Connect(options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tokend::storage
