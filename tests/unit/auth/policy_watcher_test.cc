#include "services/tokend/auth/policy_watcher.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "services/tokend/auth/audit_log.h"
#include "services/tokend/auth/auth_metrics.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/manual_waiter.h"
#include "tests/testing/metric_value.h"

namespace tokend::auth {
namespace {

using ::testing::HasSubstr;

constexpr char kOneCaller[] = "callers:\n  - id: a\n    rpcs: [Verify]\n";
constexpr char kTwoCallers[] =
    "callers:\n  - id: a\n    rpcs: [Verify]\n  - id: b\n    rpcs: [GetJwks]\n";

class PolicyWatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = ::testing::TempDir() + "/policy_watcher_test." + std::to_string(getpid()) + ".yaml";
  }
  void TearDown() override { std::remove(path_.c_str()); }

  // Replaces the file atomically (as Kubernetes and editors do), so every write is a change.
  void Write(const std::string& content) {
    std::string tmp = path_ + ".tmp";
    std::ofstream(tmp, std::ios::trunc) << content;
    ASSERT_EQ(std::rename(tmp.c_str(), path_.c_str()), 0);
  }
  std::optional<double> Reloads(const std::string& result) {
    return testing::MetricValue(registry_, "tokend_policy_reloads_total", {{"result", result}});
  }

  std::string path_;
  testing::FakeClock clock_;
  prometheus::Registry registry_;
  AuthMetrics metrics_{registry_};
  std::vector<std::string> audit_lines_;
  AuditLog audit_{[this](std::string_view line) {
                    audit_lines_.emplace_back(line);
                    return true;
                  },
                  clock_, &metrics_};
};

TEST_F(PolicyWatcherTest, OpenRefusesAMissingOrBadFile) {
  EXPECT_EQ(PolicyWatcher::Open(path_, {}, clock_, &audit_, &metrics_).status().code(),
            absl::StatusCode::kNotFound);
  Write("callers: [\n");
  EXPECT_EQ(PolicyWatcher::Open(path_, {}, clock_, &audit_, &metrics_).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Reloads("error"), 1);
}

TEST_F(PolicyWatcherTest, ReloadsWhenTheFileChanges) {
  Write(kOneCaller);
  auto watcher = PolicyWatcher::Open(path_, {}, clock_, &audit_, &metrics_);
  ASSERT_TRUE(watcher.ok()) << watcher.status();
  std::shared_ptr<const Policy> first = (*watcher)->Current();
  EXPECT_EQ(first->callers.size(), 1u);
  EXPECT_TRUE((*watcher)->CheckNow().ok());  // unchanged
  EXPECT_EQ((*watcher)->Current(), first);

  Write(kTwoCallers);
  EXPECT_TRUE((*watcher)->CheckNow().ok());
  EXPECT_EQ((*watcher)->Current()->callers.size(), 2u);
  EXPECT_EQ(first->callers.size(), 1u);  // a held snapshot does not change
  EXPECT_EQ(Reloads("ok"), 2);
  EXPECT_EQ(testing::MetricValue(registry_, "tokend_policy_callers"), 2);
  ASSERT_EQ(audit_lines_.size(), 2u);
  EXPECT_THAT(audit_lines_[1], HasSubstr("\"event\":\"policy_reload\""));
  EXPECT_THAT(audit_lines_[1], HasSubstr("\"outcome\":\"ok\""));
  EXPECT_THAT(audit_lines_[1], HasSubstr("\"callers\":\"2\""));
}

TEST_F(PolicyWatcherTest, ABadFileKeepsTheLastGoodPolicyAndIsReportedOnce) {
  Write(kTwoCallers);
  auto watcher = PolicyWatcher::Open(path_, {}, clock_, &audit_, &metrics_);
  ASSERT_TRUE(watcher.ok()) << watcher.status();
  std::shared_ptr<const Policy> good = (*watcher)->Current();

  Write("callers:\n  - id: a\n    rpcs: [\"*\"]\n");
  absl::Status status = (*watcher)->CheckNow();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("wildcards"));
  EXPECT_EQ((*watcher)->Current(), good);
  EXPECT_EQ(Reloads("error"), 1);
  EXPECT_THAT(audit_lines_.back(), HasSubstr("\"outcome\":\"error\""));

  // Rewritten with the same bad content: not reported again.
  Write("callers:\n  - id: a\n    rpcs: [\"*\"]\n");
  EXPECT_FALSE((*watcher)->CheckNow().ok());
  EXPECT_EQ(Reloads("error"), 1);

  // An empty (e.g. truncated) file is an error too, not a deny-all policy.
  Write("");
  EXPECT_FALSE((*watcher)->CheckNow().ok());
  EXPECT_EQ((*watcher)->Current(), good);
  EXPECT_EQ(Reloads("error"), 2);

  Write(kOneCaller);
  EXPECT_TRUE((*watcher)->CheckNow().ok());
  EXPECT_EQ((*watcher)->Current()->callers.size(), 1u);
}

TEST_F(PolicyWatcherTest, ADeletedFileKeepsThePolicyUntilItReturns) {
  Write(kOneCaller);
  auto watcher = PolicyWatcher::Open(path_, {}, clock_, &audit_, &metrics_);
  ASSERT_TRUE(watcher.ok()) << watcher.status();
  std::remove(path_.c_str());
  EXPECT_EQ((*watcher)->CheckNow().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ((*watcher)->CheckNow().code(), absl::StatusCode::kOk);  // unchanged since
  EXPECT_EQ((*watcher)->Current()->callers.size(), 1u);
  EXPECT_EQ(Reloads("error"), 1);
  Write(kTwoCallers);
  EXPECT_TRUE((*watcher)->CheckNow().ok());
  EXPECT_EQ((*watcher)->Current()->callers.size(), 2u);
}

TEST_F(PolicyWatcherTest, TheBackgroundThreadPicksUpChanges) {
  Write(kOneCaller);
  PolicyWatcher::Options options;
  options.poll_interval = absl::Seconds(2);
  auto waiter = std::make_unique<testing::ManualWaiter>();
  testing::ManualWaiter* poll = waiter.get();  // each Elapse() is one poll interval
  auto watcher = PolicyWatcher::Open(path_, options, clock_, &audit_, &metrics_, std::move(waiter));
  ASSERT_TRUE(watcher.ok()) << watcher.status();
  (*watcher)->Start();
  ASSERT_TRUE(poll->AwaitWaits(1));
  Write(kTwoCallers);
  EXPECT_EQ((*watcher)->Current()->callers.size(), 1u) << "not before the next poll";
  poll->Elapse();
  ASSERT_TRUE(poll->AwaitWaits(2));
  EXPECT_EQ((*watcher)->Current()->callers.size(), 2u);
  for (absl::Duration t : poll->timeouts()) EXPECT_EQ(t, absl::Seconds(2));
  (*watcher)->Stop();
  (*watcher)->Stop();  // idempotent

  // Started again, it polls again.
  Write(kOneCaller);
  (*watcher)->Start();
  ASSERT_TRUE(poll->AwaitWaits(3));
  EXPECT_EQ((*watcher)->Current()->callers.size(), 2u);
  poll->Elapse();
  ASSERT_TRUE(poll->AwaitWaits(4));
  EXPECT_EQ((*watcher)->Current()->callers.size(), 1u);
}

}  // namespace
}  // namespace tokend::auth
