#include "services/tokend/auth/audit_log.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "services/tokend/auth/auth_metrics.h"
#include "services/tokend/auth/call_audit.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/metric_value.h"

namespace tokend::auth {
namespace {

using storage::RevokeTarget;
using ::testing::HasSubstr;
using ::testing::Not;

// A made-up JWT and refresh token, as a careless client could paste them.
constexpr char kJwt[] =
    "eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIiwidHlwIjoiYXQrand0In0."
    "eyJzdWIiOiJ1c2VyOjQyIiwiYXVkIjoib3JkZXJzIn0."
    "c2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJl";
constexpr char kRefreshToken[] = "rt1.AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

class AuditLogTest : public ::testing::Test {
 protected:
  testing::FakeClock clock_{absl::FromUnixMillis(1'700'000'000'123)};
  prometheus::Registry registry_;
  AuthMetrics metrics_{registry_};
  std::vector<std::string> lines_;
  AuditLog log_{[this](std::string_view line) {
                  lines_.emplace_back(line);
                  return true;
                },
                clock_, &metrics_};
};

TEST_F(AuditLogTest, WritesOneJsonLinePerEventWithEveryField) {
  IssueFacts facts;
  facts.subject = "user:42";
  facts.audiences = {"orders", "billing"};
  facts.scopes = {"read:orders"};
  facts.claim_names = {"store_id"};
  facts.refresh_token = true;
  log_.Record(
      IssueAuditEvent("spiffe://mesh.local/ns/edge/sa/gateway", facts, absl::OkStatus(), "jti-1"));
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_EQ(lines_[0],
            "{\"time\":\"2023-11-14T22:13:20.123Z\",\"event\":\"issue\","
            "\"caller\":\"spiffe://mesh.local/ns/edge/sa/gateway\",\"subject\":\"user:42\","
            "\"audiences\":[\"orders\",\"billing\"],\"scopes\":[\"read:orders\"],"
            "\"jti\":\"jti-1\",\"outcome\":\"ok\",\"code\":\"OK\",\"reason\":\"\","
            "\"with_refresh_token\":\"true\",\"claim_names\":\"store_id\"}\n");
}

TEST_F(AuditLogTest, OutcomesFollowTheStatus) {
  EXPECT_EQ(AuditOutcome(absl::OkStatus()), "ok");
  EXPECT_EQ(AuditOutcome(absl::PermissionDeniedError("x")), "denied");
  EXPECT_EQ(AuditOutcome(absl::UnauthenticatedError("x")), "denied");
  EXPECT_EQ(AuditOutcome(absl::ResourceExhaustedError("x")), "denied");
  EXPECT_EQ(AuditOutcome(absl::InvalidArgumentError("x")), "error");
  EXPECT_EQ(AuditOutcome(absl::UnavailableError("x")), "error");
  log_.Record(RefreshAuditEvent("c",
                                absl::PermissionDeniedError("refresh token was issued to "
                                                            "another client"),
                                "", {}, {}, ""));
  EXPECT_THAT(lines_[0], HasSubstr("\"outcome\":\"denied\",\"code\":\"PERMISSION_DENIED\","
                                   "\"reason\":\"refresh token was issued to another client\""));
}

TEST_F(AuditLogTest, EscapingKeepsEveryEventOnOneAsciiLine) {
  AuditEvent event;
  event.event = "issue";
  event.subject = "a\"b\\c\nd\x01\xc3\xa9";
  log_.Record(event);
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_THAT(lines_[0], HasSubstr(R"("subject":"a\"b\\c\u000ad\u0001\u00c3\u00a9")"));
  EXPECT_EQ(std::count(lines_[0].begin(), lines_[0].end(), '\n'), 1);
}

TEST_F(AuditLogTest, LongFieldsAndListsAreCut) {
  AuditEvent event;
  event.subject = std::string(10000, 's');
  event.scopes.assign(1000, "scope");
  log_.Record(event);
  EXPECT_LT(lines_[0].size(), 256u + 33 * 8 + 300);
  EXPECT_THAT(lines_[0], HasSubstr("sss...\""));
}

TEST_F(AuditLogTest, TokensInFreeTextNeverReachTheLine) {
  // A client that pastes tokens into the revocation reason, and a status that quotes one.
  log_.Record(RevokeAuditEvent("c", RevokeTarget::kRefreshToken, "",
                               std::string("leaked: ") + kJwt + " and " + kRefreshToken,
                               absl::InvalidArgumentError(std::string("bad ") + kJwt)));
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_THAT(lines_[0], Not(HasSubstr("eyJ")));
  EXPECT_THAT(lines_[0], Not(HasSubstr("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8")));
  EXPECT_THAT(lines_[0], HasSubstr("\"revoke_reason\":\"leaked: <redacted> and <redacted>\""));
  EXPECT_THAT(lines_[0], HasSubstr("\"target\":\"refresh_token\""));
}

TEST_F(AuditLogTest, RevokeRecordsPublicTargetsOnly) {
  log_.Record(RevokeAuditEvent("c", RevokeTarget::kTokenId, "jti-9", "", absl::OkStatus()));
  log_.Record(RevokeAuditEvent("c", RevokeTarget::kSubject, "user:1", "", absl::OkStatus()));
  EXPECT_THAT(lines_[0], HasSubstr("\"jti\":\"jti-9\""));
  EXPECT_THAT(lines_[1], HasSubstr("\"subject\":\"user:1\""));
}

TEST_F(AuditLogTest, ReuseAndKeyEventsCarryTheirIdentifiers) {
  log_.Record(RefreshReuseAuditEvent("thief", "owner", "user:1", "fam-1"));
  log_.Record(KeyAuditEvent("rotated", "kid-1", "spiffe://ops", absl::OkStatus()));
  EXPECT_THAT(lines_[0], HasSubstr("\"event\":\"refresh_reuse\",\"caller\":\"thief\""));
  EXPECT_THAT(lines_[0], HasSubstr("\"family_id\":\"fam-1\",\"owner\":\"owner\""));
  EXPECT_THAT(lines_[1], HasSubstr("\"event\":\"key\""));
  EXPECT_THAT(lines_[1], HasSubstr("\"action\":\"rotated\",\"kid\":\"kid-1\""));
}

TEST(AuditLogSinkTest, WriteFailuresAreCountedNotFatal) {
  testing::FakeClock clock;
  prometheus::Registry registry;
  AuthMetrics metrics(registry);
  AuditLog log([](std::string_view) { return false; }, clock, &metrics);
  log.Record(AuditEvent());
  log.Record(AuditEvent());
  EXPECT_EQ(testing::MetricValue(registry, "tokend_audit_write_errors_total"), 2);
}

TEST(AuditLogFileTest, AppendsToAFileCreatedPrivate) {
  testing::FakeClock clock;
  std::string path = ::testing::TempDir() + "/audit_log_test.jsonl";
  std::remove(path.c_str());
  {
    absl::StatusOr<std::unique_ptr<AuditLog>> log = AuditLog::ToFile(path, clock, nullptr);
    ASSERT_TRUE(log.ok()) << log.status();
    AuditEvent event;
    event.event = "policy_reload";
    (*log)->Record(event);
    (*log)->Record(event);
  }
  std::ifstream in(path);
  std::string first, second, third;
  ASSERT_TRUE(std::getline(in, first));
  ASSERT_TRUE(std::getline(in, second));
  EXPECT_FALSE(std::getline(in, third));
  EXPECT_THAT(first, HasSubstr("\"event\":\"policy_reload\""));
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(AuditLog::ToFile("/nonexistent-dir/x", clock, nullptr).ok());
  std::remove(path.c_str());
}

}  // namespace
}  // namespace tokend::auth
