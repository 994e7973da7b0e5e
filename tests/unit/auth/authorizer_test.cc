#include "services/tokend/auth/authorizer.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "services/tokend/auth/policy_loader.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/metric_value.h"

namespace tokend::auth {
namespace {

using storage::RevokeTarget;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kPolicy[] = R"yaml(
callers:
  - id: "spiffe://mesh.local/ns/edge/sa/gateway"
    rpcs: [Issue, Verify, Refresh, Revoke]
    issue: {subjects: ["user:*"], audiences: [orders, billing], scopes: ["read:*", "write:orders"],
            claims: [store_id], max_ttl: 15m, refresh_tokens: true}
    revoke: any
  - id: "spiffe://mesh.local/ns/payments/*"
    rpcs: [Issue, Verify, Revoke]
    issue: {subjects: [self], audiences: [billing], scopes: [charge], max_ttl: 5m}
    rate_limit: 2/s
  - id: "spiffe://mesh.local/ns/payments/sa/refunds"
    rpcs: [Verify]
  - id: "spiffe://mesh.local/ns/ops/sa/keys"
    rpcs: [RotateSigningKey, ListSigningKeys]
  - id: anonymous
    rpcs: [GetJwks]
)yaml";

const std::string kGateway = "spiffe://mesh.local/ns/edge/sa/gateway";
const std::string kPayments = "spiffe://mesh.local/ns/payments/sa/charger";
const std::string kRefunds = "spiffe://mesh.local/ns/payments/sa/refunds";
const std::string kOps = "spiffe://mesh.local/ns/ops/sa/keys";
const std::string kStranger = "spiffe://mesh.local/ns/web/sa/frontend";

std::string Full(const std::string& name) { return "/tokend.v1.TokenService/" + name; }

CallerIdentity Caller(const std::string& id) {
  CallerIdentity caller;
  caller.id = id;
  caller.source = IdentitySource::kPeerCertificate;
  return caller;
}

// A PolicySource whose policy a test can swap.
class SwappablePolicy : public PolicySource {
 public:
  explicit SwappablePolicy(Policy policy) { Set(std::move(policy)); }
  void Set(Policy policy) { policy_ = std::make_shared<const Policy>(std::move(policy)); }
  std::shared_ptr<const Policy> Current() const override { return policy_; }

 private:
  std::shared_ptr<const Policy> policy_;
};

Policy MustParse(const char* yaml) {
  absl::StatusOr<Policy> policy = ParsePolicyYaml(yaml);
  EXPECT_TRUE(policy.ok()) << policy.status();
  return policy.ok() ? *std::move(policy) : Policy::Default();
}

class AuthorizerTest : public ::testing::Test {
 protected:
  Admission Admit(const CallerIdentity& caller, const std::string& rpc) {
    return authorizer_.Admit(caller, Full(rpc));
  }
  absl::StatusCode Code(const CallerIdentity& caller, const std::string& rpc) {
    Admission admission = Admit(caller, rpc);
    return admission.ok() ? absl::StatusCode::kOk : admission.status().code();
  }
  std::optional<double> Denied(const std::string& method, const std::string& reason) {
    return testing::MetricValue(registry_, "tokend_auth_denied_total",
                                {{"grpc_method", method}, {"reason", reason}});
  }

  testing::FakeClock clock_;
  prometheus::Registry registry_;
  AuthMetrics metrics_{registry_};
  SwappablePolicy policy_{MustParse(kPolicy)};
  RateLimiter limiter_{clock_};
  Authorizer authorizer_{policy_, &limiter_, &metrics_, {/*server_default_ttl=*/absl::Minutes(10)}};
};

TEST_F(AuthorizerTest, RpcMatrixOfCallersAndRules) {
  struct Row {
    CallerIdentity caller;
    std::string rpc;
    absl::StatusCode want;
  };
  const CallerIdentity anonymous = CallerIdentity::Anonymous();
  const std::vector<Row> rows = {
      {Caller(kGateway), "Issue", absl::StatusCode::kOk},
      {Caller(kGateway), "Refresh", absl::StatusCode::kOk},
      {Caller(kGateway), "Revoke", absl::StatusCode::kOk},
      {Caller(kGateway), "Verify", absl::StatusCode::kOk},
      {Caller(kGateway), "GetJwks", absl::StatusCode::kOk},  // open to authenticated callers
      {Caller(kGateway), "RotateSigningKey", absl::StatusCode::kPermissionDenied},
      {Caller(kPayments), "Issue", absl::StatusCode::kOk},  // by pattern
      {Caller(kPayments), "Refresh", absl::StatusCode::kPermissionDenied},
      // The exact entry wins over the pattern, and grants only Verify.
      {Caller(kRefunds), "Verify", absl::StatusCode::kOk},
      {Caller(kRefunds), "Issue", absl::StatusCode::kPermissionDenied},
      {Caller(kOps), "RotateSigningKey", absl::StatusCode::kOk},
      {Caller(kOps), "ListSigningKeys", absl::StatusCode::kOk},
      {Caller(kOps), "RemoveSigningKey", absl::StatusCode::kPermissionDenied},
      {Caller(kOps), "Issue", absl::StatusCode::kPermissionDenied},
      {Caller(kStranger), "Verify", absl::StatusCode::kOk},
      {Caller(kStranger), "GetJwks", absl::StatusCode::kOk},
      {Caller(kStranger), "Issue", absl::StatusCode::kPermissionDenied},
      {Caller(kStranger), "Revoke", absl::StatusCode::kPermissionDenied},
      {Caller(kStranger), "SomeFutureRpc", absl::StatusCode::kPermissionDenied},
      {anonymous, "GetJwks", absl::StatusCode::kOk},               // its explicit entry
      {anonymous, "Verify", absl::StatusCode::kPermissionDenied},  // open_rpcs need identity
      {anonymous, "Issue", absl::StatusCode::kPermissionDenied},
  };
  for (const Row& row : rows) {
    EXPECT_EQ(Code(row.caller, row.rpc), row.want) << row.caller.id << " " << row.rpc;
  }
}

TEST_F(AuthorizerTest, AnonymousCallersWithoutAnEntryAreUnauthenticated) {
  policy_.Set(MustParse("callers: []\n"));
  Admission admission = Admit(CallerIdentity::Anonymous(), "Verify");
  ASSERT_FALSE(admission.ok());
  EXPECT_EQ(admission.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(admission.caller_id(), "");
  EXPECT_EQ(Denied("Verify", "unauthenticated"), 1);
}

TEST_F(AuthorizerTest, PatternsNeverMatchAnonymousCallers) {
  policy_.Set(MustParse("callers:\n  - id: \"*\"\n    rpcs: [Verify]\n"));
  EXPECT_EQ(Code(CallerIdentity::Anonymous(), "Verify"), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(Code(Caller("anyone"), "Verify"), absl::StatusCode::kOk);
}

TEST_F(AuthorizerTest, DenialsNameTheMissingPermissionButNotOthersPolicy) {
  Admission admission = Admit(Caller(kStranger), "Issue");
  ASSERT_FALSE(admission.ok());
  const std::string message(admission.status().message());
  EXPECT_THAT(message, HasSubstr(kStranger));
  EXPECT_THAT(message, HasSubstr("Issue"));
  EXPECT_THAT(message, HasSubstr("missing permission: rpcs"));
  EXPECT_THAT(message, Not(HasSubstr("gateway")));
  EXPECT_THAT(message, Not(HasSubstr("payments")));
  EXPECT_EQ(admission.caller_id(), kStranger);
  EXPECT_EQ(Denied("Issue", "rpc"), 1);
}

TEST_F(AuthorizerTest, OpenRpcsCanBeClosed) {
  policy_.Set(MustParse("open_rpcs: []\ncallers: []\n"));
  EXPECT_EQ(Code(Caller(kStranger), "Verify"), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Code(Caller(kStranger), "GetJwks"), absl::StatusCode::kPermissionDenied);
}

TEST_F(AuthorizerTest, AllowAllAdmitsEveryoneToEverything) {
  policy_.Set(Policy::AllowAll());
  for (const CallerIdentity& caller : {CallerIdentity::Anonymous(), Caller(kStranger)}) {
    for (const char* rpc : {"Issue", "Revoke", "RemoveSigningKey"}) {
      Admission admission = Admit(caller, rpc);
      ASSERT_TRUE(admission.ok()) << rpc;
      IssueFacts facts;
      facts.subject = "anyone";
      facts.audiences = {"any"};
      facts.refresh_token = true;
      facts.ttl = absl::Hours(1);
      EXPECT_TRUE(admission.permit().CheckIssue(facts).ok());
      EXPECT_EQ(*admission.permit().CheckRevoke(RevokeTarget::kSubject), "");
    }
  }
  EXPECT_EQ(Admit(CallerIdentity::Anonymous(), "Issue").permit().client_id(), "anonymous");
}

IssueFacts GatewayIssue() {
  IssueFacts facts;
  facts.subject = "user:42";
  facts.audiences = {"orders", "billing"};
  facts.scopes = {"read:orders", "read:billing", "write:orders"};
  facts.claim_names = {"store_id"};
  facts.ttl = absl::Minutes(15);
  facts.refresh_token = true;
  return facts;
}

TEST_F(AuthorizerTest, IssueConstraintsMatrix) {
  struct Row {
    const char* name;
    void (*change)(IssueFacts&);
    absl::StatusCode want;
    const char* permission;  // named in the message, or reason metric
  };
  const std::vector<Row> rows = {
      {"allowed", [](IssueFacts&) {}, absl::StatusCode::kOk, ""},
      {"subject", [](IssueFacts& f) { f.subject = "service:x"; },
       absl::StatusCode::kPermissionDenied, "issue.subjects"},
      {"subject is not self", [](IssueFacts& f) { f.subject = kGateway; },
       absl::StatusCode::kPermissionDenied, "issue.subjects"},
      {"audience", [](IssueFacts& f) { f.audiences.push_back("admin"); },
       absl::StatusCode::kPermissionDenied, "issue.audiences"},
      {"scope", [](IssueFacts& f) { f.scopes.push_back("write:billing"); },
       absl::StatusCode::kPermissionDenied, "issue.scopes"},
      {"scope prefix", [](IssueFacts& f) { f.scopes = {"read"}; },
       absl::StatusCode::kPermissionDenied, "issue.scopes"},
      {"claim", [](IssueFacts& f) { f.claim_names.push_back("role"); },
       absl::StatusCode::kPermissionDenied, "issue.claims"},
      {"ttl", [](IssueFacts& f) { f.ttl = absl::Minutes(16); }, absl::StatusCode::kPermissionDenied,
       "issue.max_ttl"},
      {"no scopes", [](IssueFacts& f) { f.scopes.clear(); }, absl::StatusCode::kOk, ""},
  };
  Admission admission = Admit(Caller(kGateway), "Issue");
  ASSERT_TRUE(admission.ok());
  for (const Row& row : rows) {
    IssueFacts facts = GatewayIssue();
    row.change(facts);
    absl::StatusOr<IssueGrant> grant = admission.permit().CheckIssue(facts);
    EXPECT_EQ(grant.status().code(), row.want) << row.name;
    if (!grant.ok()) {
      EXPECT_THAT(std::string(grant.status().message()), HasSubstr(row.permission)) << row.name;
      EXPECT_THAT(std::string(grant.status().message()), Not(HasSubstr("orders"))) << row.name;
    }
  }
  EXPECT_EQ(Denied("Issue", "issue_subject"), 2);
  EXPECT_EQ(Denied("Issue", "issue_scope"), 2);
  EXPECT_EQ(Denied("Issue", "issue_ttl"), 1);
}

TEST_F(AuthorizerTest, SelfMeansTheCallersOwnIdentityOnly) {
  Admission admission = Admit(Caller(kPayments), "Issue");
  ASSERT_TRUE(admission.ok());
  IssueFacts facts;
  facts.subject = kPayments;
  facts.audiences = {"billing"};
  facts.scopes = {"charge"};
  EXPECT_TRUE(admission.permit().CheckIssue(facts).ok());
  facts.subject = "spiffe://mesh.local/ns/payments/sa/other";
  EXPECT_EQ(admission.permit().CheckIssue(facts).status().code(),
            absl::StatusCode::kPermissionDenied);
  facts.subject = kPayments;
  facts.refresh_token = true;
  EXPECT_THAT(std::string(admission.permit().CheckIssue(facts).status().message()),
              HasSubstr("issue.refresh_tokens"));
}

TEST_F(AuthorizerTest, AnIssueWithoutTtlGetsTheCallersMaxTtlWhenBelowTheDefault) {
  Admission admission = Admit(Caller(kPayments), "Issue");
  ASSERT_TRUE(admission.ok());
  IssueFacts facts;
  facts.subject = kPayments;
  facts.audiences = {"billing"};
  absl::StatusOr<IssueGrant> grant = admission.permit().CheckIssue(facts);
  ASSERT_TRUE(grant.ok()) << grant.status();
  EXPECT_EQ(grant->ttl, absl::Minutes(5));  // the default (10m) exceeds max_ttl (5m)

  Admission gateway = Admit(Caller(kGateway), "Issue");
  IssueFacts user = GatewayIssue();
  user.ttl.reset();
  EXPECT_FALSE(gateway.permit().CheckIssue(user)->ttl.has_value());  // 10m <= 15m
}

TEST_F(AuthorizerTest, IssueThroughOpenRpcsMintsNothing) {
  policy_.Set(MustParse("open_rpcs: [Issue]\ncallers: []\n"));
  Admission admission = Admit(Caller(kStranger), "Issue");
  ASSERT_TRUE(admission.ok());
  IssueFacts facts;
  facts.subject = kStranger;
  facts.audiences = {"x"};
  EXPECT_EQ(admission.permit().CheckIssue(facts).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(AuthorizerTest, RevokeOwnAndAny) {
  Admission any = Admit(Caller(kGateway), "Revoke");
  Admission own = Admit(Caller(kPayments), "Revoke");
  ASSERT_TRUE(any.ok());
  ASSERT_TRUE(own.ok());
  for (RevokeTarget target : {RevokeTarget::kAccessToken, RevokeTarget::kTokenId,
                              RevokeTarget::kRefreshToken, RevokeTarget::kSubject}) {
    EXPECT_EQ(*any.permit().CheckRevoke(target), "");  // no ownership check
  }
  EXPECT_EQ(*own.permit().CheckRevoke(RevokeTarget::kAccessToken), kPayments);
  // RFC 7009 §2.1: only the client a refresh token was issued to (core checks the owner).
  EXPECT_EQ(*own.permit().CheckRevoke(RevokeTarget::kRefreshToken), kPayments);
  for (RevokeTarget target : {RevokeTarget::kTokenId, RevokeTarget::kSubject}) {
    absl::StatusOr<std::string> owner = own.permit().CheckRevoke(target);
    EXPECT_EQ(owner.status().code(), absl::StatusCode::kPermissionDenied);
    EXPECT_THAT(std::string(owner.status().message()), HasSubstr("revoke: any"));
  }
  EXPECT_EQ(Denied("Revoke", "revoke_scope"), 2);
}

TEST_F(AuthorizerTest, RateLimitIsPerCallerAndRefills) {
  const std::string other = "spiffe://mesh.local/ns/payments/sa/other";
  EXPECT_EQ(Code(Caller(kPayments), "Verify"), absl::StatusCode::kOk);
  EXPECT_EQ(Code(Caller(kPayments), "Verify"), absl::StatusCode::kOk);
  EXPECT_EQ(Code(Caller(kPayments), "Verify"), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(Code(Caller(other), "Verify"), absl::StatusCode::kOk);  // its own bucket
  clock_.Advance(absl::Milliseconds(500));
  EXPECT_EQ(Code(Caller(kPayments), "Verify"), absl::StatusCode::kOk);
  EXPECT_EQ(Code(Caller(kPayments), "Verify"), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(Denied("Verify", "rate_limited"), 2);
  // Callers without a rate_limit are never limited.
  for (int i = 0; i < 100; ++i) ASSERT_EQ(Code(Caller(kGateway), "Verify"), absl::StatusCode::kOk);
}

TEST_F(AuthorizerTest, APermitKeepsThePolicyItWasAdmittedUnder) {
  Admission admission = Admit(Caller(kGateway), "Issue");
  ASSERT_TRUE(admission.ok());
  policy_.Set(MustParse("callers: []\n"));  // a reload takes everything away
  EXPECT_TRUE(admission.permit().CheckIssue(GatewayIssue()).ok());
  EXPECT_EQ(Code(Caller(kGateway), "Issue"), absl::StatusCode::kPermissionDenied);
}

TEST(CallPermitTest, UnrestrictedKeepsTheOldOwnershipChecks) {
  CallPermit permit = CallPermit::Unrestricted("client-7");
  EXPECT_EQ(permit.client_id(), "client-7");
  EXPECT_TRUE(permit.CheckIssue(IssueFacts()).ok());
  EXPECT_EQ(*permit.CheckRevoke(RevokeTarget::kSubject), "client-7");
}

}  // namespace
}  // namespace tokend::auth
