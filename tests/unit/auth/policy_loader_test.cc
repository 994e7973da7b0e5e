#include "services/tokend/auth/policy_loader.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tokend::auth {
namespace {

using ::testing::HasSubstr;

// The example of the issue, verbatim in shape.
constexpr char kIssueExample[] = R"yaml(
callers:
  - id: "spiffe://mesh.local/ns/edge/sa/gateway"      # exact, or a trailing * pattern
    rpcs: [Issue, Verify, Refresh, Revoke]
    issue: {subjects: ["user:*"], audiences: [orders, billing], scopes: ["read:*", "write:orders"],
            claims: [store_id], max_ttl: 15m, refresh_tokens: true}
    revoke: any                                       # any | own (default own)
  - id: "spiffe://mesh.local/ns/payments/*"
    rpcs: [Issue, Verify]
    issue: {subjects: [self], audiences: [billing], scopes: [charge], max_ttl: 5m}
    rate_limit: 200/s
)yaml";

std::string Full(const std::string& name) { return "/tokend.v1.TokenService/" + name; }

TEST(PolicyLoaderTest, ParsesTheExampleOfTheIssue) {
  absl::StatusOr<Policy> policy = ParsePolicyYaml(kIssueExample);
  ASSERT_TRUE(policy.ok()) << policy.status();
  ASSERT_EQ(policy->callers.size(), 2u);
  EXPECT_FALSE(policy->allow_all);
  EXPECT_TRUE(policy->open_rpcs.contains(Full("Verify")));
  EXPECT_TRUE(policy->open_rpcs.contains(Full("GetJwks")));

  const CallerRule& gateway = policy->callers[0];
  EXPECT_FALSE(gateway.id.is_prefix());
  EXPECT_EQ(gateway.id.literal(), "spiffe://mesh.local/ns/edge/sa/gateway");
  EXPECT_EQ(gateway.rpcs.size(), 4u);
  EXPECT_TRUE(gateway.rpcs.contains(Full("Revoke")));
  ASSERT_TRUE(gateway.issue.has_value());
  EXPECT_FALSE(gateway.issue->subject_self);
  EXPECT_EQ(gateway.issue->subjects.size(), 1u);
  EXPECT_EQ(gateway.issue->audiences.size(), 2u);
  EXPECT_EQ(gateway.issue->scopes.size(), 2u);
  EXPECT_EQ(gateway.issue->claims.size(), 1u);
  EXPECT_EQ(gateway.issue->max_ttl, absl::Minutes(15));
  EXPECT_TRUE(gateway.issue->refresh_tokens);
  EXPECT_EQ(gateway.revoke, RevokeScope::kAny);
  EXPECT_FALSE(gateway.rate_limit.has_value());

  const CallerRule& payments = policy->callers[1];
  EXPECT_TRUE(payments.id.is_prefix());
  EXPECT_TRUE(payments.issue->subject_self);
  EXPECT_TRUE(payments.issue->subjects.empty());
  EXPECT_FALSE(payments.issue->refresh_tokens);
  EXPECT_EQ(payments.revoke, RevokeScope::kOwn);
  ASSERT_TRUE(payments.rate_limit.has_value());
  EXPECT_DOUBLE_EQ(payments.rate_limit->per_second, 200);
  EXPECT_DOUBLE_EQ(payments.rate_limit->burst, 200);
}

TEST(PolicyLoaderTest, ParsesOptionalTopLevelKeysAndFullMethodNames) {
  absl::StatusOr<Policy> policy = ParsePolicyYaml(R"yaml(
version: 1
open_rpcs: [GetJwks]
callers:
  - id: anonymous
    rpcs: [Verify]
  - id: "spiffe://mesh.local/ns/ops/sa/keys"
    rpcs: [RotateSigningKey, "/tokend.v1.TokenService/ListSigningKeys", "other.v1.Admin/Do"]
    rate_limit: 10/m
    rate_limit_burst: 3
)yaml");
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_EQ(policy->open_rpcs.size(), 1u);
  EXPECT_TRUE(policy->callers[0].anonymous);
  const CallerRule& ops = policy->callers[1];
  EXPECT_TRUE(ops.rpcs.contains(Full("RotateSigningKey")));
  EXPECT_TRUE(ops.rpcs.contains(Full("ListSigningKeys")));
  EXPECT_TRUE(ops.rpcs.contains("/other.v1.Admin/Do"));
  EXPECT_DOUBLE_EQ(ops.rate_limit->per_second, 10.0 / 60);
  EXPECT_DOUBLE_EQ(ops.rate_limit->burst, 3);
}

TEST(PolicyLoaderTest, AnEmptyCallersListIsAValidPolicy) {
  absl::StatusOr<Policy> policy = ParsePolicyYaml("callers: []\n");
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_TRUE(policy->callers.empty());
}

struct BadPolicy {
  const char* yaml;
  const char* message;  // a substring of the error
};

TEST(PolicyLoaderTest, RefusesBadFilesWithAUsefulMessage) {
  const std::vector<BadPolicy> cases = {
      {"", "mapping"},
      {"# only a comment\n", "mapping"},
      {"callers:\n  - id: a\n    rpcs: [Verify]\n  - just-a-string\n",
       "policy line 4: caller must be a mapping"},
      {"version: 1\n", "callers is required"},
      {"callers: {}\n", "callers must be a list"},
      {"callers: []\nextra: 1\n", "unknown key \"extra\""},
      {"version: 2\ncallers: []\n", "version must be 1"},
      {"callers: []\ncallers: []\n", "duplicate key"},
      {"callers:\n  - rpcs: [Verify]\n", "id is required"},
      {"callers:\n  - id: a\n    rpc: [Verify]\n", "unknown key \"rpc\""},
      {"callers:\n  - id: a\n  - id: a\n", "duplicate caller id"},
      {"callers:\n  - id: \"a*b\"\n", "only allowed at the end"},
      {"callers:\n  - id: a\n    rpcs: Verify\n", "rpcs must be a list"},
      {"callers:\n  - id: a\n    rpcs: [\"*\"]\n", "wildcards are not allowed"},
      {"callers:\n  - id: a\n    rpcs: [\"Issue*\"]\n", "wildcards are not allowed"},
      {"callers:\n  - id: a\n    rpcs: [\"bad name\"]\n", "not an RPC name"},
      {"callers:\n  - id: a\n    rpcs: [[Verify]]\n", "must be a string"},
      {"callers:\n  - id: a\n    rpcs: [Issue]\n", "no issue section"},
      {"callers:\n  - id: a\n    rpcs: [Verify]\n    issue: {subjects: [x], audiences: [y]}\n",
       "does not list Issue"},
      {"callers:\n  - id: a\n    rpcs: [Issue]\n    issue: {audiences: [y]}\n",
       "issue.subjects is required"},
      {"callers:\n  - id: a\n    rpcs: [Issue]\n    issue: {subjects: [], audiences: [y]}\n",
       "issue.subjects must not be empty"},
      {"callers:\n  - id: a\n    rpcs: [Issue]\n    issue: {subjects: [x]}\n",
       "issue.audiences is required"},
      {"callers:\n  - id: a\n    rpcs: [Issue]\n    issue: {subjects: [x], audiences: []}\n",
       "issue.audiences must not be empty"},
      {"callers:\n  - id: a\n    rpcs: [Issue]\n    issue: {subjects: [x], audiences: [y], "
       "scope: [z]}\n",
       "unknown key \"scope\""},
      {"callers:\n  - id: a\n    rpcs: [Issue]\n    issue: {subjects: [x], audiences: [y], "
       "max_ttl: 0s}\n",
       "max_ttl"},
      {"callers:\n  - id: a\n    rpcs: [Issue]\n    issue: {subjects: [x], audiences: [y], "
       "max_ttl: soon}\n",
       "max_ttl"},
      {"callers:\n  - id: a\n    rpcs: [Issue]\n    issue: {subjects: [x], audiences: [y], "
       "refresh_tokens: yes}\n",
       "true or false"},
      {"callers:\n  - id: a\n    rpcs: [Issue]\n    issue: {subjects: [\"\"], audiences: [y]}\n",
       "empty entry"},
      {"callers:\n  - id: a\n    revoke: all\n", "revoke must be"},
      {"callers:\n  - id: a\n    rate_limit: 200\n", "rate_limit"},
      {"callers:\n  - id: a\n    rate_limit: 0/s\n", "positive"},
      {"callers:\n  - id: a\n    rate_limit: 5/d\n", "unit"},
      {"callers:\n  - id: a\n    rate_limit_burst: 5\n", "needs rate_limit"},
      {"callers:\n  - id: a\n    rate_limit: 5/s\n    rate_limit_burst: 0\n", "positive integer"},
      {"callers: [\n", "policy:"},
      {"callers:\n  - id: a\n    rpcs: [Verify\n", "policy:"},
      {"callers:\n  - &x {id: a}\n  - *x\n", "duplicate caller id"},
  };
  for (const BadPolicy& c : cases) {
    absl::StatusOr<Policy> policy = ParsePolicyYaml(c.yaml);
    ASSERT_FALSE(policy.ok()) << "accepted:\n" << c.yaml;
    EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(policy.status().message()), HasSubstr(c.message)) << c.yaml;
  }
}

TEST(PolicyLoaderTest, RefusesOversizedFilesAndLists) {
  EXPECT_FALSE(ParsePolicyYaml(std::string(PolicyLimits::kMaxFileBytes + 1, '#')).ok());
  std::string many = "callers:\n  - id: a\n    rpcs: [";
  for (size_t i = 0; i <= PolicyLimits::kMaxListEntries; ++i) many += "Verify,";
  many += "Verify]\n";
  EXPECT_FALSE(ParsePolicyYaml(many).ok());
}

TEST(PolicyLoaderTest, DeepNestingIsAnErrorNotACrash) {
  std::string deep = "callers: " + std::string(5000, '[') + std::string(5000, ']') + "\n";
  EXPECT_FALSE(ParsePolicyYaml(deep).ok());
}

TEST(RateLimitTest, ParsesUnitsAndBurst) {
  EXPECT_DOUBLE_EQ(ParseRateLimit("200/s")->per_second, 200);
  EXPECT_DOUBLE_EQ(ParseRateLimit("60/min")->per_second, 1);
  EXPECT_DOUBLE_EQ(ParseRateLimit("3600/h")->per_second, 1);
  EXPECT_DOUBLE_EQ(ParseRateLimit("3600/h")->burst, 3600);
  EXPECT_DOUBLE_EQ(ParseRateLimit("10/s", 2)->burst, 2);
  for (const char* bad : {"", "/s", "10/", "10", "-1/s", "1.5/s", "10/second/s", "x/s"}) {
    EXPECT_FALSE(ParseRateLimit(bad).ok()) << bad;
  }
}

TEST(FullMethodNameTest, ExpandsBareNamesAndChecksFullOnes) {
  EXPECT_EQ(*FullMethodName("Issue"), "/tokend.v1.TokenService/Issue");
  EXPECT_EQ(*FullMethodName("/a.b.C/D"), "/a.b.C/D");
  EXPECT_EQ(*FullMethodName("a.b.C/D"), "/a.b.C/D");
  for (const char* bad :
       {"", "/", "/Issue", "a/b/c", "*", "a.*/B", "Is sue", "a../B", "a./B", "/a.b.C/", "1abc"}) {
    EXPECT_FALSE(FullMethodName(bad).ok()) << bad;
  }
  EXPECT_EQ(ShortMethodName("/tokend.v1.TokenService/Issue"), "Issue");
}

}  // namespace
}  // namespace tokend::auth
