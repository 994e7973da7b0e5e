// Caller authentication and authorization against the real tokend binary over mutual TLS:
// certificates made at test time (a mesh CA, SPIFFE clients, an expired one, one from another
// CA), a policy file, and a matrix of callers x RPCs asserting OK / PERMISSION_DENIED /
// UNAUTHENTICATED; refresh tokens bound to their identity; the audit trail.

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "gtest/gtest.h"
#include "tests/e2e/auth_e2e_support.h"
#include "tests/e2e/tokend_process.h"
#include "tokend/v1/token_service.grpc.pb.h"

namespace tokend::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kGateway[] = "spiffe://mesh.test/ns/edge/sa/gateway";
constexpr char kCharger[] = "spiffe://mesh.test/ns/payments/sa/charger";
constexpr char kRefunds[] = "spiffe://mesh.test/ns/payments/sa/refunds";
constexpr char kRevoker[] = "spiffe://mesh.test/ns/ops/sa/revoker";
constexpr char kStranger[] = "spiffe://mesh.test/ns/web/sa/frontend";
constexpr char kBot[] = "spiffe://mesh.test/ns/limited/sa/bot";

constexpr char kPolicy[] = R"yaml(
callers:
  - id: "spiffe://mesh.test/ns/edge/sa/gateway"
    rpcs: [Issue, Verify, Refresh, Revoke]
    issue: {subjects: ["user:*"], audiences: [orders, billing], scopes: ["read:*", "write:orders"],
            claims: [store_id], max_ttl: 15m, refresh_tokens: true}
    revoke: any
  - id: "spiffe://mesh.test/ns/payments/*"
    rpcs: [Issue, Verify, Refresh, Revoke]
    issue: {subjects: [self], audiences: [billing], scopes: [charge], max_ttl: 5m,
            refresh_tokens: true}
  - id: "spiffe://mesh.test/ns/ops/sa/revoker"
    rpcs: [Revoke]
    revoke: any
  - id: "spiffe://mesh.test/ns/limited/sa/bot"
    rpcs: [Verify]
    rate_limit: 3/m
)yaml";

// Every RPC of the matrix, including an admin RPC nobody is granted.
enum class Rpc { kIssue, kVerify, kRefresh, kRevoke, kGetJwks, kRotateSigningKey };

const char* RpcName(Rpc rpc) {
  switch (rpc) {
    case Rpc::kIssue:
      return "Issue";
    case Rpc::kVerify:
      return "Verify";
    case Rpc::kRefresh:
      return "Refresh";
    case Rpc::kRevoke:
      return "Revoke";
    case Rpc::kGetJwks:
      return "GetJwks";
    case Rpc::kRotateSigningKey:
      return "RotateSigningKey";
  }
  return "?";
}

class AuthMtlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<AuthCerts>> certs = AuthCerts::Create();
    ASSERT_TRUE(certs.ok()) << certs.status();
    certs_ = *std::move(certs);
    for (const auto& [name, id] :
         std::vector<std::pair<std::string, std::string>>{{"gateway", kGateway},
                                                          {"charger", kCharger},
                                                          {"refunds", kRefunds},
                                                          {"revoker", kRevoker},
                                                          {"stranger", kStranger},
                                                          {"bot", kBot}}) {
      absl::StatusOr<ClientCert> client = certs_->Spiffe(name, id);
      ASSERT_TRUE(client.ok()) << client.status();
      clients_[name] = *std::move(client);
    }
    policy_path_ = certs_->dir().Write("policy.yaml", kPolicy);
    audit_path_ = certs_->dir().File("audit.jsonl");
  }

  void TearDown() override {
    if (HasFailure() && tokend_ != nullptr) tokend_->DumpLog();
  }

  void StartTokend(std::vector<std::string> extra = {}, bool mtls = true) {
    TokendProcess::Options options;
    options.insecure = false;
    options.args = certs_->ServerFlags(mtls);
    options.args.insert(options.args.end(), {"--store=memory", "--policy_file=" + policy_path_,
                                             "--audit_log=" + audit_path_});
    options.args.insert(options.args.end(), extra.begin(), extra.end());
    absl::StatusOr<std::unique_ptr<TokendProcess>> process = TokendProcess::Start(options);
    ASSERT_TRUE(process.ok()) << process.status();
    tokend_ = *std::move(process);
  }

  std::unique_ptr<v1::TokenService::Stub> Stub(const std::string& client) {
    return TlsStub(tokend_->grpc_port(), certs_->ca().cert_pem(),
                   client.empty() ? nullptr : &clients_.at(client));
  }

  ::grpc::Status Issue(v1::TokenService::Stub& stub, const v1::IssueRequest& request,
                       v1::TokenResponse* response = nullptr) {
    v1::TokenResponse ignored;
    return stub.Issue(ContextWithDeadline().get(), request, response ? response : &ignored);
  }

  static v1::IssueRequest UserIssue(const std::string& subject = "user:1") {
    v1::IssueRequest request;
    request.set_subject(subject);
    request.add_audience("orders");
    request.add_scopes("read:orders");
    return request;
  }
  static v1::IssueRequest SelfIssue(const std::string& self) {
    v1::IssueRequest request;
    request.set_subject(self);
    request.add_audience("billing");
    request.add_scopes("charge");
    return request;
  }

  // Any access token to verify, minted by the gateway.
  std::string SomeAccessToken() {
    v1::TokenResponse issued;
    auto stub = Stub("gateway");
    ::grpc::Status status = Issue(*stub, UserIssue(), &issued);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return issued.access_token();
  }

  // Calls `rpc` as `client` with a request the policy alone decides on.
  ::grpc::StatusCode Call(const std::string& client, Rpc rpc) {
    auto stub = Stub(client);
    switch (rpc) {
      case Rpc::kIssue: {
        // Each allowed caller asks for what it may have; everybody else asks like the gateway.
        v1::IssueRequest request = UserIssue();
        if (client == "charger") request = SelfIssue(kCharger);
        if (client == "refunds") request = SelfIssue(kRefunds);
        return Issue(*stub, request).error_code();
      }
      case Rpc::kVerify: {
        v1::VerifyRequest request;
        request.set_access_token(access_token_);
        request.set_audience("orders");
        v1::VerifyResponse response;
        return stub->Verify(ContextWithDeadline().get(), request, &response).error_code();
      }
      case Rpc::kRefresh: {
        // A refresh token the caller itself obtained, when it may obtain one.
        std::string refresh_token = "rt1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        if (client == "gateway" || client == "charger" || client == "refunds") {
          v1::IssueRequest request = client == "gateway"
                                         ? UserIssue()
                                         : SelfIssue(client == "charger" ? kCharger : kRefunds);
          request.set_include_refresh_token(true);
          v1::TokenResponse issued;
          ::grpc::Status status = Issue(*stub, request, &issued);
          EXPECT_TRUE(status.ok()) << client << ": " << status.error_message();
          refresh_token = issued.refresh_token();
        }
        v1::RefreshRequest request;
        request.set_refresh_token(refresh_token);
        v1::TokenResponse response;
        return stub->Refresh(ContextWithDeadline().get(), request, &response).error_code();
      }
      case Rpc::kRevoke: {
        v1::RevokeRequest request;
        request.set_token_id("some-jti-" + client);
        v1::RevokeResponse response;
        return stub->Revoke(ContextWithDeadline().get(), request, &response).error_code();
      }
      case Rpc::kGetJwks: {
        v1::GetJwksResponse response;
        return stub->GetJwks(ContextWithDeadline().get(), v1::GetJwksRequest(), &response)
            .error_code();
      }
      case Rpc::kRotateSigningKey: {
        v1::RotateSigningKeyResponse response;
        return stub
            ->RotateSigningKey(ContextWithDeadline().get(), v1::RotateSigningKeyRequest(),
                               &response)
            .error_code();
      }
    }
    return ::grpc::StatusCode::UNKNOWN;
  }

  std::unique_ptr<AuthCerts> certs_;
  std::map<std::string, ClientCert> clients_;
  std::string policy_path_;
  std::string audit_path_;
  std::unique_ptr<TokendProcess> tokend_;
  std::string access_token_;
};

TEST_F(AuthMtlsTest, MatrixOfCallersRpcsAndPolicyRules) {
  StartTokend();
  access_token_ = SomeAccessToken();
  ASSERT_FALSE(access_token_.empty());
  using C = ::grpc::StatusCode;
  const C ok = C::OK, denied = C::PERMISSION_DENIED;
  // rows: callers; columns: Issue, Verify, Refresh, Revoke(token id), GetJwks, RotateSigningKey
  const std::map<std::string, std::vector<C>> want = {
      // Exact entry; revoke: any.
      {"gateway", {ok, ok, ok, ok, ok, denied}},
      // Pattern entry; subjects: [self]; revoke: own cannot revoke by token id.
      {"charger", {ok, ok, ok, denied, ok, denied}},
      {"refunds", {ok, ok, ok, denied, ok, denied}},
      // Only Revoke granted; Verify and GetJwks are open to every authenticated caller.
      {"revoker", {denied, ok, denied, ok, ok, denied}},
      // No entry: the open RPCs only.
      {"stranger", {denied, ok, denied, denied, ok, denied}},
  };
  const std::vector<Rpc> rpcs = {Rpc::kIssue,  Rpc::kVerify,  Rpc::kRefresh,
                                 Rpc::kRevoke, Rpc::kGetJwks, Rpc::kRotateSigningKey};
  for (const auto& [client, codes] : want) {
    for (size_t i = 0; i < rpcs.size(); ++i) {
      EXPECT_EQ(Call(client, rpcs[i]), codes[i]) << client << " calling " << RpcName(rpcs[i]);
    }
  }
  EXPECT_GE(Scrape(tokend_->http_port(), "tokend_auth_denied_total",
                   {{"grpc_method", "Issue"}, {"reason", "rpc"}})
                .value_or(0),
            2);
  EXPECT_GE(Scrape(tokend_->http_port(), "tokend_auth_denied_total",
                   {{"grpc_method", "RotateSigningKey"}, {"reason", "rpc"}})
                .value_or(0),
            5);
}

TEST_F(AuthMtlsTest, IssueConstraintsAreEnforcedAndNamedInTheDenial) {
  StartTokend();
  auto gateway = Stub("gateway");
  auto charger = Stub("charger");
  struct Case {
    const char* name;
    v1::TokenService::Stub* stub;
    v1::IssueRequest request;
    const char* permission;
  };
  std::vector<Case> cases;
  {
    v1::IssueRequest r = UserIssue("service:billing");
    cases.push_back({"subject", gateway.get(), r, "issue.subjects"});
  }
  {
    v1::IssueRequest r = UserIssue();
    r.add_audience("admin");
    cases.push_back({"audience", gateway.get(), r, "issue.audiences"});
  }
  {
    v1::IssueRequest r = UserIssue();
    r.add_scopes("write:billing");
    cases.push_back({"scope", gateway.get(), r, "issue.scopes"});
  }
  {
    v1::IssueRequest r = UserIssue();
    (*r.mutable_claims()->mutable_fields())["role"].set_string_value("admin");
    cases.push_back({"claim", gateway.get(), r, "issue.claims"});
  }
  {
    v1::IssueRequest r = SelfIssue(kCharger);
    r.mutable_ttl()->set_seconds(301);
    cases.push_back({"ttl", charger.get(), r, "issue.max_ttl"});
  }
  {
    v1::IssueRequest r = SelfIssue(kRefunds);  // another identity than the caller's own
    cases.push_back({"not self", charger.get(), r, "issue.subjects"});
  }
  {
    v1::IssueRequest r = SelfIssue(kCharger);
    r.set_include_refresh_token(true);
    r.clear_scopes();
    r.add_scopes("refund");
    cases.push_back({"scope of self", charger.get(), r, "issue.scopes"});
  }
  for (Case& c : cases) {
    ::grpc::Status status = Issue(*c.stub, c.request);
    EXPECT_EQ(status.error_code(), ::grpc::StatusCode::PERMISSION_DENIED) << c.name;
    EXPECT_THAT(status.error_message(), HasSubstr(c.permission)) << c.name;
    // The denial never describes what the policy would have allowed.
    EXPECT_THAT(status.error_message(), Not(HasSubstr("billing"))) << c.name;
    EXPECT_THAT(status.error_message(), Not(HasSubstr("read:"))) << c.name;
  }

  // Allowed requests, and the client_id is the caller's identity.
  v1::IssueRequest allowed = UserIssue("user:42");
  allowed.add_scopes("write:orders");
  (*allowed.mutable_claims()->mutable_fields())["store_id"].set_number_value(7);
  v1::TokenResponse issued;
  ASSERT_TRUE(Issue(*gateway, allowed, &issued).ok());
  v1::VerifyRequest verify;
  verify.set_access_token(issued.access_token());
  verify.set_audience("orders");
  v1::VerifyResponse verified;
  ASSERT_TRUE(gateway->Verify(ContextWithDeadline().get(), verify, &verified).ok());
  EXPECT_TRUE(verified.valid());
  EXPECT_EQ(verified.client_id(), kGateway);
  EXPECT_EQ(verified.subject(), "user:42");

  // Without a ttl, the charger's token lasts its max_ttl (5m) rather than the default (10m).
  v1::TokenResponse self_token;
  ASSERT_TRUE(Issue(*charger, SelfIssue(kCharger), &self_token).ok());
  verify.set_access_token(self_token.access_token());
  verify.set_audience("billing");
  ASSERT_TRUE(charger->Verify(ContextWithDeadline().get(), verify, &verified).ok());
  ASSERT_TRUE(verified.valid());
  EXPECT_EQ(verified.client_id(), kCharger);
  EXPECT_EQ(verified.subject(), kCharger);
  EXPECT_EQ(verified.expires_at().seconds() - verified.issued_at().seconds(), 300);
}

TEST_F(AuthMtlsTest, BadCertificatesFailTheHandshake) {
  StartTokend();
  testing::CertSpec expired;
  expired.uris = {kGateway};
  expired.not_before = -absl::Hours(48);
  expired.lifetime = absl::Hours(24);
  absl::StatusOr<ClientCert> expired_cert = certs_->Client("expired", expired);
  ASSERT_TRUE(expired_cert.ok());
  testing::CertSpec foreign;
  foreign.uris = {kGateway};
  absl::StatusOr<ClientCert> foreign_cert = certs_->Client("foreign", foreign, &certs_->other_ca());
  ASSERT_TRUE(foreign_cert.ok());

  const std::vector<const ClientCert*> refused = {&*expired_cert, &*foreign_cert, nullptr};
  for (const ClientCert* client : refused) {
    auto stub = TlsStub(tokend_->grpc_port(), certs_->ca().cert_pem(), client);
    v1::TokenResponse response;
    ::grpc::Status status = stub->Issue(ContextWithDeadline().get(), UserIssue(), &response);
    // Refused in the handshake: the RPC never reaches tokend's handlers.
    EXPECT_EQ(status.error_code(), ::grpc::StatusCode::UNAVAILABLE)
        << (client ? client->name : "no certificate") << ": " << status.error_message();
  }
  // A plaintext client cannot talk to the TLS port either.
  auto plaintext = tokend_->NewStub();
  v1::GetJwksResponse jwks;
  EXPECT_EQ(
      plaintext->GetJwks(ContextWithDeadline().get(), v1::GetJwksRequest(), &jwks).error_code(),
      ::grpc::StatusCode::UNAVAILABLE);
  // The same identity with a good certificate is served.
  EXPECT_EQ(Call("gateway", Rpc::kIssue), ::grpc::StatusCode::OK);
}

TEST_F(AuthMtlsTest, DnsAndCommonNameIdentitiesWhenThereIsNoSpiffeId) {
  StartTokend();
  testing::CertSpec dns;
  dns.common_name = "ignored";
  dns.dns = {"svc.mesh.test"};
  absl::StatusOr<ClientCert> dns_cert = certs_->Client("dns", dns);
  ASSERT_TRUE(dns_cert.ok());
  testing::CertSpec cn;
  cn.common_name = "batch-job";
  absl::StatusOr<ClientCert> cn_cert = certs_->Client("cn", cn);
  ASSERT_TRUE(cn_cert.ok());
  for (const ClientCert* client : {&*dns_cert, &*cn_cert}) {
    auto stub = TlsStub(tokend_->grpc_port(), certs_->ca().cert_pem(), client);
    ::grpc::Status status = Issue(*stub, UserIssue());
    EXPECT_EQ(status.error_code(), ::grpc::StatusCode::PERMISSION_DENIED) << client->name;
    EXPECT_THAT(status.error_message(),
                HasSubstr(client == &*dns_cert ? "\"svc.mesh.test\"" : "\"batch-job\""));
  }
  // A certificate that names nobody is authenticated by TLS but has no identity.
  testing::CertSpec nameless;
  absl::StatusOr<ClientCert> nameless_cert = certs_->Client("nameless", nameless);
  ASSERT_TRUE(nameless_cert.ok());
  auto stub = TlsStub(tokend_->grpc_port(), certs_->ca().cert_pem(), &*nameless_cert);
  v1::GetJwksResponse jwks;
  EXPECT_EQ(stub->GetJwks(ContextWithDeadline().get(), v1::GetJwksRequest(), &jwks).error_code(),
            ::grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(AuthMtlsTest, ARefreshTokenWorksOnlyForTheIdentityThatObtainedIt) {
  StartTokend();
  auto charger = Stub("charger");
  auto refunds = Stub("refunds");  // also granted Refresh, by the same pattern
  v1::IssueRequest request = SelfIssue(kCharger);
  request.set_include_refresh_token(true);
  v1::TokenResponse issued;
  ASSERT_TRUE(Issue(*charger, request, &issued).ok());
  ASSERT_FALSE(issued.refresh_token().empty());

  v1::RefreshRequest refresh;
  refresh.set_refresh_token(issued.refresh_token());
  v1::TokenResponse stolen;
  ::grpc::Status status = refunds->Refresh(ContextWithDeadline().get(), refresh, &stolen);
  EXPECT_EQ(status.error_code(), ::grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(stolen.access_token().empty());
  EXPECT_EQ(Scrape(tokend_->http_port(), "tokend_refresh_total", {{"outcome", "client_mismatch"}}),
            1);

  // Not spent: its owner still refreshes it (once), and a reuse is detected after that.
  v1::TokenResponse refreshed;
  status = charger->Refresh(ContextWithDeadline().get(), refresh, &refreshed);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(refreshed.refresh_token().empty());

  // The audit trail has the refused attempt, by the thief, and no token text.
  const std::string audit = ReadAll(audit_path_);
  bool found = false;
  for (absl::string_view line : absl::StrSplit(audit, '\n')) {
    if (absl::StrContains(line, "\"event\":\"refresh\"") &&
        absl::StrContains(line, absl::StrCat("\"caller\":\"", kRefunds, "\"")) &&
        absl::StrContains(line, "\"outcome\":\"denied\"") &&
        absl::StrContains(line, "PERMISSION_DENIED")) {
      found = true;
    }
  }
  EXPECT_TRUE(found) << audit;
  EXPECT_THAT(audit, Not(HasSubstr(issued.refresh_token())));
  EXPECT_THAT(audit, Not(HasSubstr(refreshed.refresh_token())));
}

TEST_F(AuthMtlsTest, RevokeOwnAndAnyAndOnlyTheOwnerOfARefreshToken) {
  StartTokend();
  auto charger = Stub("charger");
  auto refunds = Stub("refunds");
  auto revoker = Stub("revoker");
  v1::TokenResponse charger_token, refunds_token;
  v1::IssueRequest with_refresh = SelfIssue(kCharger);
  with_refresh.set_include_refresh_token(true);
  ASSERT_TRUE(Issue(*charger, with_refresh, &charger_token).ok());
  ASSERT_TRUE(Issue(*refunds, SelfIssue(kRefunds), &refunds_token).ok());

  auto revoke = [](v1::TokenService::Stub& stub, const v1::RevokeRequest& request) {
    v1::RevokeResponse response;
    return stub.Revoke(ContextWithDeadline().get(), request, &response).error_code();
  };
  v1::RevokeRequest others;
  others.set_access_token(refunds_token.access_token());
  EXPECT_EQ(revoke(*charger, others), ::grpc::StatusCode::PERMISSION_DENIED);  // own only
  v1::RevokeRequest own;
  own.set_access_token(charger_token.access_token());
  EXPECT_EQ(revoke(*charger, own), ::grpc::StatusCode::OK);
  v1::RevokeRequest by_subject;
  by_subject.set_subject(kRefunds);
  EXPECT_EQ(revoke(*charger, by_subject), ::grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(revoke(*revoker, by_subject), ::grpc::StatusCode::OK);  // revoke: any
  // RFC 7009 §2.1: with `revoke: own`, holding another client's refresh token is no right to
  // revoke it; the token stays usable by its owner, who may revoke it.
  v1::RevokeRequest held;
  held.set_refresh_token(charger_token.refresh_token());
  EXPECT_EQ(revoke(*refunds, held), ::grpc::StatusCode::PERMISSION_DENIED);
  v1::RefreshRequest refresh;
  refresh.set_refresh_token(charger_token.refresh_token());
  v1::TokenResponse response;
  ASSERT_EQ(charger->Refresh(ContextWithDeadline().get(), refresh, &response).error_code(),
            ::grpc::StatusCode::OK);
  held.set_refresh_token(response.refresh_token());
  EXPECT_EQ(revoke(*charger, held), ::grpc::StatusCode::OK);
  refresh.set_refresh_token(response.refresh_token());
  EXPECT_EQ(charger->Refresh(ContextWithDeadline().get(), refresh, &response).error_code(),
            ::grpc::StatusCode::UNAUTHENTICATED);  // revoked
}

TEST_F(AuthMtlsTest, ARateLimitedCallerGetsResourceExhausted) {
  StartTokend();
  access_token_ = SomeAccessToken();
  EXPECT_EQ(Call("bot", Rpc::kVerify), ::grpc::StatusCode::OK);
  EXPECT_EQ(Call("bot", Rpc::kVerify), ::grpc::StatusCode::OK);
  EXPECT_EQ(Call("bot", Rpc::kVerify), ::grpc::StatusCode::OK);
  EXPECT_EQ(Call("bot", Rpc::kVerify), ::grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(Call("gateway", Rpc::kVerify), ::grpc::StatusCode::OK);  // others are unaffected
}

TEST_F(AuthMtlsTest, TheAuditTrailRecordsEveryTokenCallAndNoSecret) {
  StartTokend({"--refresh_reuse_grace=0s"});
  auto gateway = Stub("gateway");
  auto stranger = Stub("stranger");
  v1::IssueRequest request = UserIssue("user:7");
  request.set_include_refresh_token(true);
  v1::TokenResponse issued;
  ASSERT_TRUE(Issue(*gateway, request, &issued).ok());
  EXPECT_EQ(Issue(*stranger, UserIssue()).error_code(), ::grpc::StatusCode::PERMISSION_DENIED);
  v1::RefreshRequest refresh;
  refresh.set_refresh_token(issued.refresh_token());
  v1::TokenResponse refreshed;
  ASSERT_TRUE(gateway->Refresh(ContextWithDeadline().get(), refresh, &refreshed).ok());
  v1::RevokeRequest revoke;
  revoke.set_access_token(refreshed.access_token());
  revoke.set_reason(absl::StrCat("pasted by mistake: ", refreshed.refresh_token()));
  v1::RevokeResponse revoked;
  ASSERT_TRUE(gateway->Revoke(ContextWithDeadline().get(), revoke, &revoked).ok());
  // The spent refresh token again (no grace window): reuse, and the family is revoked.
  v1::TokenResponse reused;
  EXPECT_EQ(gateway->Refresh(ContextWithDeadline().get(), refresh, &reused).error_code(),
            ::grpc::StatusCode::UNAUTHENTICATED);
  gateway.reset();
  stranger.reset();
  ASSERT_TRUE(tokend_->Terminate().has_value());

  const std::string audit = ReadAll(audit_path_);
  std::vector<std::string> lines = absl::StrSplit(audit, '\n', absl::SkipEmpty());
  std::multiset<std::string> events;
  for (const std::string& line : lines) {
    EXPECT_TRUE(absl::StartsWith(line, "{\"time\":\"")) << line;
    EXPECT_TRUE(absl::EndsWith(line, "}")) << line;
    size_t at = line.find("\"event\":\"");
    ASSERT_NE(at, std::string::npos) << line;
    size_t start = at + 9;
    events.insert(line.substr(start, line.find('"', start) - start));
  }
  EXPECT_EQ(events.count("policy_reload"), 1u);  // the initial load
  EXPECT_EQ(events.count("issue"), 2u);
  EXPECT_EQ(events.count("refresh"), 2u);  // the rotation and the refused reuse
  EXPECT_EQ(events.count("revoke"), 1u);
  EXPECT_EQ(events.count("refresh_reuse"), 1u);
  EXPECT_THAT(audit, HasSubstr(absl::StrCat("\"event\":\"refresh_reuse\",\"caller\":\"", kGateway,
                                            "\",\"subject\":\"user:7\"")));
  EXPECT_THAT(audit, HasSubstr(absl::StrCat("\"event\":\"issue\",\"caller\":\"", kStranger,
                                            "\",\"subject\":\"user:1\"")));
  EXPECT_THAT(audit, HasSubstr(issued.token_id()));
  EXPECT_THAT(audit, HasSubstr("\"revoke_reason\":\"pasted by mistake: <redacted>\""));
  for (const std::string& secret : {issued.access_token(), issued.refresh_token(),
                                    refreshed.access_token(), refreshed.refresh_token()}) {
    EXPECT_THAT(audit, Not(HasSubstr(secret)));
    EXPECT_THAT(tokend_->Log(), Not(HasSubstr(secret)));
  }
}

TEST_F(AuthMtlsTest, KeyAdministrationNeedsAnExplicitGrantAndIsAudited) {
  policy_path_ = certs_->dir().Write("policy.yaml", absl::StrCat(kPolicy, R"yaml(
  - id: "spiffe://mesh.test/ns/ops/sa/keys"
    rpcs: [RotateSigningKey, ListSigningKeys]
)yaml"));
  absl::StatusOr<ClientCert> ops = certs_->Spiffe("ops", "spiffe://mesh.test/ns/ops/sa/keys");
  ASSERT_TRUE(ops.ok());
  clients_["ops"] = *ops;
  StartTokend(
      {"--kek_file=" + certs_->dir().Write("kek", std::string(32, 'k')), "--key_admin_rpcs"});

  // Everybody else, even the gateway with every token RPC, is refused.
  EXPECT_EQ(Call("gateway", Rpc::kRotateSigningKey), ::grpc::StatusCode::PERMISSION_DENIED);
  auto stub = Stub("ops");
  v1::ListSigningKeysResponse keys;
  ASSERT_TRUE(
      stub->ListSigningKeys(ContextWithDeadline().get(), v1::ListSigningKeysRequest(), &keys).ok());
  EXPECT_FALSE(keys.keys().empty());
  v1::RotateSigningKeyResponse rotated;
  ::grpc::Status status =
      stub->RotateSigningKey(ContextWithDeadline().get(), v1::RotateSigningKeyRequest(), &rotated);
  ASSERT_TRUE(status.ok()) << status.error_message();
  // Granted RotateSigningKey does not grant RemoveSigningKey.
  v1::RemoveSigningKeyRequest remove;
  remove.set_kid(rotated.kid());
  v1::RemoveSigningKeyResponse removed;
  EXPECT_EQ(stub->RemoveSigningKey(ContextWithDeadline().get(), remove, &removed).error_code(),
            ::grpc::StatusCode::PERMISSION_DENIED);

  const std::string audit = ReadAll(audit_path_);
  EXPECT_THAT(audit, HasSubstr(absl::StrCat("\"event\":\"key\",\"caller\":\"", kGateway)));
  EXPECT_THAT(audit, HasSubstr(absl::StrCat(
                         "\"event\":\"key\",\"caller\":\"spiffe://mesh.test/ns/ops/sa/keys\"")));
  EXPECT_THAT(audit, HasSubstr(absl::StrCat("\"action\":\"rotate\",\"kid\":\"", rotated.kid())));
  EXPECT_THAT(audit, HasSubstr(absl::StrCat("\"action\":\"remove\",\"kid\":\"", rotated.kid())));
}

TEST_F(AuthMtlsTest, TokenctlIsAnMtlsClient) {
  StartTokend();
  const ClientCert& gateway = clients_.at("gateway");
  std::vector<std::string> tls = {TokenctlBinary(),
                                  "--addr=127.0.0.1:" + std::to_string(tokend_->grpc_port()),
                                  "--tls_ca=" + certs_->ca_path(), "--tls_server_name=localhost"};
  std::vector<std::string> issue = tls;
  issue.insert(issue.end(), {"--tls_cert=" + gateway.cert_path, "--tls_key=" + gateway.key_path,
                             "--quiet", "issue", "--subject=user:9", "--audience=orders"});
  std::string output;
  absl::StatusOr<int> code = RunProgram(issue, absl::Seconds(30), &output);
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0) << output;
  EXPECT_TRUE(absl::StartsWith(output, "eyJ")) << output;

  // Without a client certificate the handshake fails: an RPC error, exit code 3.
  std::vector<std::string> anonymous = tls;
  anonymous.insert(anonymous.end(), {"jwks"});
  code = RunProgram(anonymous, absl::Seconds(30), &output);
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 3) << output;
  EXPECT_THAT(output, HasSubstr("UNAVAILABLE"));
}

TEST_F(AuthMtlsTest, ServerOnlyTlsLeavesCallersWithoutIdentity) {
  StartTokend({}, /*mtls=*/false);
  auto stub = TlsStub(tokend_->grpc_port(), certs_->ca().cert_pem(), nullptr);
  v1::GetJwksResponse jwks;
  ::grpc::Status status = stub->GetJwks(ContextWithDeadline().get(), v1::GetJwksRequest(), &jwks);
  EXPECT_EQ(status.error_code(), ::grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(status.error_message(), HasSubstr("client certificate"));
}

TEST_F(AuthMtlsTest, RefusesToStartWithInconsistentFlagsOrFiles) {
  struct Case {
    std::vector<std::string> args;
    const char* message;
  };
  const std::string bad_policy = certs_->dir().Write("bad.yaml", "callers: [\n");
  const std::string other_key = certs_->dir().Write("other.key", clients_.at("gateway").key_pem);
  std::vector<std::string> tls = certs_->ServerFlags();
  const std::vector<Case> cases = {
      {{"--insecure", tls[0], tls[1]}, "exclusive"},
      {{tls[0]}, "together"},
      {{"--insecure", "--tls_client_ca=" + certs_->client_ca_path()}, "--tls_client_ca"},
      {{tls[0], "--tls_key=" + other_key}, "does not belong"},
      {{tls[0], tls[1], "--policy_file=" + bad_policy}, "--policy_file"},
      {{tls[0], tls[1], "--policy_file=/nonexistent/policy.yaml"}, "does not exist"},
      {{"--insecure", "--trust_forwarded_client_cert", "--trusted_proxy="}, "--trusted_proxy"},
      {{"--insecure", "--trust_forwarded_client_cert", "--trusted_proxy=10.0.0.1/8"}, "host bits"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"--store=memory", "--grpc_listen=127.0.0.1:0",
                                     "--http_listen=127.0.0.1:0"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    std::string output;
    absl::StatusOr<int> code = TokendProcess::RunToExit(args, absl::Seconds(30), &output);
    ASSERT_TRUE(code.ok()) << code.status();
    EXPECT_EQ(*code, 2) << absl::StrJoin(c.args, " ") << "\n" << output;
    EXPECT_THAT(output, HasSubstr(c.message)) << absl::StrJoin(c.args, " ");
  }
}

}  // namespace
}  // namespace tokend::e2e
