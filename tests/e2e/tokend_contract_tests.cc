// The API contract of a running tokend, through its real binary, its gRPC port and its HTTP
// port. Compiled into one executable per store (tokend_memory_e2etest, tokend_postgres_pgtest),
// each of which defines MakeStoreBackend().

#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "jwt/base64url.h"
#include "jwt/keys.h"
#include "jwt/signer.h"
#include "tests/e2e/http_get.h"
#include "tests/e2e/store_backend.h"
#include "tests/e2e/test_keys.h"
#include "tests/e2e/tokend_process.h"
#include "tokend/v1/token_service.grpc.pb.h"

namespace tokend::e2e {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

class TokendContractTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<StoreBackend>> backend = MakeStoreBackend(dir_);
    if (!backend.ok()) {
      if (absl::IsFailedPrecondition(backend.status())) {
        GTEST_SKIP() << backend.status().message();
      }
      FAIL() << backend.status();
    }
    backend_ = *std::move(backend);
  }

  void TearDown() override {
    for (auto& process : processes_) {
      std::optional<int> code = process->Terminate();
      EXPECT_EQ(code, std::optional<int>(0)) << "tokend must drain and exit 0 on SIGTERM";
      if (HasFailure()) process->DumpLog();
    }
  }

  // Starts a tokend on this test's store with `flags` added; nullptr (and a test failure) if
  // it does not get ready.
  TokendProcess* StartTokend(std::vector<std::string> flags = {}, bool on_store = true) {
    TokendProcess::Options options;
    if (on_store)
      options.args = backend_->StoreFlags();
    else
      options.args = {"--store=memory"};
    options.args.insert(options.args.end(), flags.begin(), flags.end());
    absl::StatusOr<std::unique_ptr<TokendProcess>> process = TokendProcess::Start(options);
    EXPECT_TRUE(process.ok()) << process.status();
    if (!process.ok()) return nullptr;
    processes_.push_back(*std::move(process));
    return processes_.back().get();
  }

  // A PEM signing key file in this test's directory.
  std::string KeyFile(const std::string& name) {
    absl::StatusOr<std::string> pem = GeneratePrivateKeyPem(jwt::Algorithm::kEdDSA);
    EXPECT_TRUE(pem.ok()) << pem.status();
    return dir_.Write(name, pem.value_or(""));
  }

  ScratchDir dir_;
  std::unique_ptr<StoreBackend> backend_;
  std::vector<std::unique_ptr<TokendProcess>> processes_;
};

v1::IssueRequest MakeIssue(const std::string& subject, std::vector<std::string> audiences,
                           std::vector<std::string> scopes = {}, bool refresh = false) {
  v1::IssueRequest request;
  request.set_subject(subject);
  for (const std::string& a : audiences) request.add_audience(a);
  for (const std::string& s : scopes) request.add_scopes(s);
  request.set_include_refresh_token(refresh);
  return request;
}

::grpc::Status Issue(v1::TokenService::Stub& stub, const v1::IssueRequest& request,
                     v1::TokenResponse* response) {
  return stub.Issue(ContextWithDeadline().get(), request, response);
}

::grpc::Status Verify(v1::TokenService::Stub& stub, const std::string& token,
                      const std::string& audience, v1::VerifyResponse* response,
                      std::vector<std::string> scopes = {}) {
  v1::VerifyRequest request;
  request.set_access_token(token);
  request.set_audience(audience);
  for (const std::string& s : scopes) request.add_required_scopes(s);
  return stub.Verify(ContextWithDeadline().get(), request, response);
}

::grpc::Status Refresh(v1::TokenService::Stub& stub, const std::string& refresh_token,
                       v1::TokenResponse* response, std::vector<std::string> scopes = {}) {
  v1::RefreshRequest request;
  request.set_refresh_token(refresh_token);
  for (const std::string& s : scopes) request.add_scopes(s);
  return stub.Refresh(ContextWithDeadline().get(), request, response);
}

::grpc::Status Revoke(v1::TokenService::Stub& stub, const v1::RevokeRequest& request) {
  v1::RevokeResponse response;
  return stub.Revoke(ContextWithDeadline().get(), request, &response);
}

// The reason Verify gives for `token` (VERIFY_ERROR_UNSPECIFIED when valid); a failed RPC
// is reported as a test failure.
v1::VerifyError VerifyReason(v1::TokenService::Stub& stub, const std::string& token,
                             const std::string& audience, std::vector<std::string> scopes = {}) {
  v1::VerifyResponse response;
  ::grpc::Status status = Verify(stub, token, audience, &response, std::move(scopes));
  EXPECT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  if (response.valid()) {
    EXPECT_EQ(response.error(), v1::VERIFY_ERROR_UNSPECIFIED);
  }
  return response.error();
}

std::string IssueAccessToken(v1::TokenService::Stub& stub, const std::string& subject,
                             const std::string& audience) {
  v1::TokenResponse response;
  ::grpc::Status status = Issue(stub, MakeIssue(subject, {audience}), &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response.access_token();
}

absl::Time ToTime(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

std::string TokenHeaderJson(const std::string& token) {
  std::vector<std::string> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3) return "";
  return jwt::Base64UrlDecode(parts[0]).value_or("");
}

// --- Issue ----------------------------------------------------------------------------------

TEST_F(TokendContractTest, IssuedAccessTokenVerifiesWithItsClaims) {
  TokendProcess* tokend = StartTokend();
  ASSERT_NE(tokend, nullptr);
  auto stub = tokend->NewStub();
  v1::IssueRequest request = MakeIssue("alice", {"api", "billing"}, {"read", "write"});
  google::protobuf::Struct& claims = *request.mutable_claims();
  (*claims.mutable_fields())["tenant"].set_string_value("acme");
  (*claims.mutable_fields())["level"].set_number_value(3);
  request.mutable_ttl()->set_seconds(300);
  v1::TokenResponse issued;
  absl::Time before = absl::Now();
  ASSERT_TRUE(Issue(*stub, request, &issued).ok());
  EXPECT_EQ(issued.token_type(), "Bearer");
  EXPECT_FALSE(issued.token_id().empty());
  EXPECT_TRUE(issued.refresh_token().empty());
  EXPECT_FALSE(issued.has_refresh_expires_at());
  absl::Time expires = ToTime(issued.expires_at());
  EXPECT_GE(expires, before + absl::Seconds(299));
  EXPECT_LE(expires, absl::Now() + absl::Seconds(301));

  v1::VerifyResponse verified;
  ASSERT_TRUE(Verify(*stub, issued.access_token(), "billing", &verified, {"read"}).ok());
  EXPECT_TRUE(verified.valid());
  EXPECT_EQ(verified.error(), v1::VERIFY_ERROR_UNSPECIFIED);
  EXPECT_EQ(verified.subject(), "alice");
  EXPECT_THAT(verified.audience(), ElementsAre("api", "billing"));
  EXPECT_THAT(verified.scopes(), UnorderedElementsAre("read", "write"));
  EXPECT_EQ(verified.token_id(), issued.token_id());
  EXPECT_EQ(ToTime(verified.expires_at()), expires);
  EXPECT_LE(ToTime(verified.issued_at()), absl::Now());
  const auto& fields = verified.claims().fields();
  ASSERT_TRUE(fields.contains("tenant"));
  EXPECT_EQ(fields.at("tenant").string_value(), "acme");
  ASSERT_TRUE(fields.contains("level"));
  EXPECT_EQ(fields.at("level").number_value(), 3);
  ASSERT_TRUE(fields.contains("iss"));
  EXPECT_EQ(fields.at("iss").string_value(), "tokend");
  EXPECT_EQ(fields.at("sub").string_value(), "alice");
  EXPECT_EQ(fields.at("jti").string_value(), issued.token_id());
}

TEST_F(TokendContractTest, IssueUsesTheDefaultTtlWhenUnset) {
  TokendProcess* tokend = StartTokend({"--access_ttl_default=2m"});
  ASSERT_NE(tokend, nullptr);
  auto stub = tokend->NewStub();
  v1::TokenResponse issued;
  absl::Time before = absl::Now();
  ASSERT_TRUE(Issue(*stub, MakeIssue("alice", {"api"}), &issued).ok());
  absl::Time expires = ToTime(issued.expires_at());
  EXPECT_GE(expires, before + absl::Seconds(119));
  EXPECT_LE(expires, absl::Now() + absl::Seconds(121));
}

TEST_F(TokendContractTest, IssueWithRefreshReturnsARefreshToken) {
  TokendProcess* tokend = StartTokend({"--refresh_ttl=1h"});
  ASSERT_NE(tokend, nullptr);
  auto stub = tokend->NewStub();
  v1::TokenResponse issued;
  absl::Time before = absl::Now();
  ASSERT_TRUE(Issue(*stub, MakeIssue("alice", {"api"}, {"read"}, /*refresh=*/true), &issued).ok());
  EXPECT_FALSE(issued.access_token().empty());
  EXPECT_FALSE(issued.refresh_token().empty());
  EXPECT_NE(issued.refresh_token(), issued.access_token());
  absl::Time refresh_expires = ToTime(issued.refresh_expires_at());
  EXPECT_GE(refresh_expires, before + absl::Minutes(59));
  EXPECT_LE(refresh_expires, absl::Now() + absl::Minutes(61));
  EXPECT_EQ(VerifyReason(*stub, issued.access_token(), "api"), v1::VERIFY_ERROR_UNSPECIFIED);
}

TEST_F(TokendContractTest, IssueRejectsMalformedRequestsWithInvalidArgument) {
  TokendProcess* tokend = StartTokend({"--access_ttl_max=15m"});
  ASSERT_NE(tokend, nullptr);
  auto stub = tokend->NewStub();
  struct Case {
    std::string name;
    v1::IssueRequest request;
  };
  std::vector<Case> cases;
  cases.push_back({"no subject", MakeIssue("", {"api"})});
  cases.push_back({"no audience", MakeIssue("alice", {})});
  cases.push_back({"empty audience", MakeIssue("alice", {"api", ""})});
  cases.push_back({"empty scope", MakeIssue("alice", {"api"}, {""})});
  cases.push_back({"scope with a space", MakeIssue("alice", {"api"}, {"a b"})});
  {
    v1::IssueRequest r = MakeIssue("alice", {"api"});
    r.mutable_ttl()->set_seconds(16 * 60);
    cases.push_back({"ttl above the maximum", r});
  }
  {
    v1::IssueRequest r = MakeIssue("alice", {"api"});
    r.mutable_ttl()->set_seconds(-5);
    cases.push_back({"negative ttl", r});
  }
  {
    v1::IssueRequest r = MakeIssue("alice", {"api"});
    r.mutable_ttl()->set_seconds(1);
    r.mutable_ttl()->set_nanos(-5);
    cases.push_back({"malformed duration", r});
  }
  {
    v1::IssueRequest r = MakeIssue("alice", {"api"});
    (*r.mutable_claims()->mutable_fields())["sub"].set_string_value("mallory");
    cases.push_back({"registered claim name", r});
  }
  {
    v1::IssueRequest r = MakeIssue("alice", {"api"});
    (*r.mutable_claims()->mutable_fields())["exp"].set_number_value(1);
    cases.push_back({"registered claim exp", r});
  }
  {
    v1::IssueRequest r = MakeIssue("alice", {"api"}, {}, /*refresh=*/true);
    r.set_subject(std::string(300, 'x'));
    cases.push_back({"oversized subject with refresh", r});
  }
  for (const Case& c : cases) {
    v1::TokenResponse response;
    ::grpc::Status status = Issue(*stub, c.request, &response);
    EXPECT_EQ(status.error_code(), ::grpc::StatusCode::INVALID_ARGUMENT) << c.name;
    EXPECT_TRUE(response.access_token().empty()) << c.name;
  }
}

// --- Verify ---------------------------------------------------------------------------------

TEST_F(TokendContractTest, VerifyRejectsMalformedRequestsWithInvalidArgument) {
  TokendProcess* tokend = StartTokend();
  ASSERT_NE(tokend, nullptr);
  auto stub = tokend->NewStub();
  std::string token = IssueAccessToken(*stub, "alice", "api");
  v1::VerifyResponse response;
  EXPECT_EQ(Verify(*stub, token, "", &response).error_code(), ::grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Verify(*stub, "", "api", &response).error_code(), ::grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Verify(*stub, token, "api", &response, {""}).error_code(),
            ::grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(TokendContractTest, VerifyNamesTheReasonATokenIsInvalid) {
  std::string key_file = KeyFile("key.pem");
  TokendProcess* tokend = StartTokend({"--signing_key=" + key_file});
  ASSERT_NE(tokend, nullptr);
  auto stub = tokend->NewStub();
  v1::TokenResponse issued;
  ASSERT_TRUE(Issue(*stub, MakeIssue("alice", {"api"}, {"read"}), &issued).ok());
  const std::string& token = issued.access_token();
  EXPECT_EQ(VerifyReason(*stub, token, "api", {"read"}), v1::VERIFY_ERROR_UNSPECIFIED);

  EXPECT_EQ(VerifyReason(*stub, "not-a-jwt", "api"), v1::VERIFY_ERROR_MALFORMED);
  EXPECT_EQ(VerifyReason(*stub, std::string(9000, 'a'), "api"), v1::VERIFY_ERROR_TOO_LARGE);
  EXPECT_EQ(VerifyReason(*stub, token, "other"), v1::VERIFY_ERROR_WRONG_AUDIENCE);
  EXPECT_EQ(VerifyReason(*stub, token, "api", {"admin"}), v1::VERIFY_ERROR_INSUFFICIENT_SCOPE);
  {
    std::string tampered = token;
    size_t sig = tampered.rfind('.') + 5;
    tampered[sig] = tampered[sig] == 'A' ? 'B' : 'A';
    EXPECT_EQ(VerifyReason(*stub, tampered, "api"), v1::VERIFY_ERROR_BAD_SIGNATURE);
  }
  {
    std::vector<std::string> parts = absl::StrSplit(token, '.');
    std::string none =
        jwt::Base64UrlEncode(R"({"alg":"none","typ":"at+jwt"})") + "." + parts[1] + ".";
    none += "AAAA";
    EXPECT_EQ(VerifyReason(*stub, none, "api"), v1::VERIFY_ERROR_ALGORITHM_NOT_ALLOWED);
  }

  // Tokens signed with the server's own key but with claims it would never issue.
  std::ifstream pem_in(key_file);
  std::string pem((std::istreambuf_iterator<char>(pem_in)), std::istreambuf_iterator<char>());
  absl::StatusOr<jwt::SigningKey> key = jwt::SigningKey::FromPrivatePem(pem);
  ASSERT_TRUE(key.ok()) << key.status();
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  auto sign = [&](const std::string& typ, const std::string& payload) {
    std::string header =
        absl::StrCat(R"({"alg":"EdDSA","kid":")", key->kid(), R"(","typ":")", typ, R"("})");
    absl::StatusOr<std::string> jws = jwt::SignCompactJws(header, payload, *key);
    EXPECT_TRUE(jws.ok()) << jws.status();
    return jws.value_or("");
  };
  std::string good_payload = absl::StrCat(R"({"iss":"tokend","sub":"alice","aud":"api","iat":)",
                                          now, R"(,"exp":)", now + 300, R"(,"jti":"x1"})");
  EXPECT_EQ(VerifyReason(*stub, sign("at+jwt", good_payload), "api"), v1::VERIFY_ERROR_UNSPECIFIED);
  EXPECT_EQ(VerifyReason(*stub, sign("JWT", good_payload), "api"), v1::VERIFY_ERROR_WRONG_TYPE);
  EXPECT_EQ(
      VerifyReason(*stub,
                   sign("at+jwt", absl::StrCat(R"({"iss":"tokend","sub":"alice","aud":"api",)",
                                               R"("iat":)", now, "}")),
                   "api"),
      v1::VERIFY_ERROR_INVALID_CLAIMS);
  EXPECT_EQ(
      VerifyReason(*stub,
                   sign("at+jwt",
                        absl::StrCat(R"({"iss":"tokend","sub":"alice","aud":"api",)", R"("iat":)",
                                     now, R"(,"nbf":)", now + 3600, R"(,"exp":)", now + 7200, "}")),
                   "api"),
      v1::VERIFY_ERROR_NOT_YET_VALID);
  EXPECT_EQ(
      VerifyReason(*stub,
                   sign("at+jwt", absl::StrCat(R"({"iss":"mallory","sub":"alice","aud":"api",)",
                                               R"("iat":)", now, R"(,"exp":)", now + 300, "}")),
                   "api"),
      v1::VERIFY_ERROR_WRONG_ISSUER);

  // A token from another tokend, whose key this one does not know.
  TokendProcess* stranger = StartTokend({}, /*on_store=*/false);
  ASSERT_NE(stranger, nullptr);
  auto stranger_stub = stranger->NewStub();
  EXPECT_EQ(VerifyReason(*stub, IssueAccessToken(*stranger_stub, "alice", "api"), "api"),
            v1::VERIFY_ERROR_UNKNOWN_KEY);
}

TEST_F(TokendContractTest, VerifyReportsAnExpiredToken) {
  TokendProcess* tokend = StartTokend({"--clock_skew=0s"});
  ASSERT_NE(tokend, nullptr);
  auto stub = tokend->NewStub();
  v1::IssueRequest request = MakeIssue("alice", {"api"});
  request.mutable_ttl()->set_seconds(1);
  v1::TokenResponse issued;
  ASSERT_TRUE(Issue(*stub, request, &issued).ok());
  // exp has whole-second precision: wait until it is surely past.
  absl::SleepFor(ToTime(issued.expires_at()) - absl::Now() + absl::Milliseconds(1100));
  EXPECT_EQ(VerifyReason(*stub, issued.access_token(), "api"), v1::VERIFY_ERROR_EXPIRED);
}

// --- Revoke ---------------------------------------------------------------------------------

TEST_F(TokendContractTest, RevokedAccessTokensAreReportedRevoked) {
  TokendProcess* tokend = StartTokend();
  ASSERT_NE(tokend, nullptr);
  auto stub = tokend->NewStub();

  std::string by_token = IssueAccessToken(*stub, "alice", "api");
  v1::RevokeRequest request;
  request.set_access_token(by_token);
  request.set_reason("laptop stolen");
  ASSERT_TRUE(Revoke(*stub, request).ok());
  EXPECT_EQ(VerifyReason(*stub, by_token, "api"), v1::VERIFY_ERROR_REVOKED);

  v1::TokenResponse by_id;
  ASSERT_TRUE(Issue(*stub, MakeIssue("bob", {"api"}), &by_id).ok());
  request.Clear();
  request.set_token_id(by_id.token_id());
  ASSERT_TRUE(Revoke(*stub, request).ok());
  EXPECT_EQ(VerifyReason(*stub, by_id.access_token(), "api"), v1::VERIFY_ERROR_REVOKED);
  // Idempotent.
  ASSERT_TRUE(Revoke(*stub, request).ok());

  // Other tokens are untouched.
  EXPECT_EQ(VerifyReason(*stub, IssueAccessToken(*stub, "carol", "api"), "api"),
            v1::VERIFY_ERROR_UNSPECIFIED);
}

TEST_F(TokendContractTest, RevokingARefreshTokenKillsItsFamily) {
  TokendProcess* tokend = StartTokend();
  ASSERT_NE(tokend, nullptr);
  auto stub = tokend->NewStub();
  v1::TokenResponse issued;
  ASSERT_TRUE(Issue(*stub, MakeIssue("alice", {"api"}, {}, /*refresh=*/true), &issued).ok());
  v1::TokenResponse child;
  ASSERT_TRUE(Refresh(*stub, issued.refresh_token(), &child).ok());

  v1::RevokeRequest request;
  request.set_refresh_token(child.refresh_token());
  ASSERT_TRUE(Revoke(*stub, request).ok());
  v1::TokenResponse ignored;
  EXPECT_EQ(Refresh(*stub, child.refresh_token(), &ignored).error_code(),
            ::grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(VerifyReason(*stub, issued.access_token(), "api"), v1::VERIFY_ERROR_REVOKED);
  EXPECT_EQ(VerifyReason(*stub, child.access_token(), "api"), v1::VERIFY_ERROR_REVOKED);
}

TEST_F(TokendContractTest, RevokingASubjectKillsItsEarlierTokensOnly) {
  TokendProcess* tokend = StartTokend();
  ASSERT_NE(tokend, nullptr);
  auto stub = tokend->NewStub();
  std::string alice = IssueAccessToken(*stub, "alice", "api");
  v1::TokenResponse alice_refresh;
  ASSERT_TRUE(Issue(*stub, MakeIssue("alice", {"api"}, {}, /*refresh=*/true), &alice_refresh).ok());
  std::string bob = IssueAccessToken(*stub, "bob", "api");

  v1::RevokeRequest request;
  request.set_subject("alice");
  ASSERT_TRUE(Revoke(*stub, request).ok());
  EXPECT_EQ(VerifyReason(*stub, alice, "api"), v1::VERIFY_ERROR_REVOKED);
  EXPECT_EQ(VerifyReason(*stub, alice_refresh.access_token(), "api"), v1::VERIFY_ERROR_REVOKED);
  v1::TokenResponse ignored;
  EXPECT_EQ(Refresh(*stub, alice_refresh.refresh_token(), &ignored).error_code(),
            ::grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(VerifyReason(*stub, bob, "api"), v1::VERIFY_ERROR_UNSPECIFIED);

  // iat has whole-second precision: a token minted in a later second is not covered.
  absl::SleepFor(absl::Milliseconds(1100));
  EXPECT_EQ(VerifyReason(*stub, IssueAccessToken(*stub, "alice", "api"), "api"),
            v1::VERIFY_ERROR_UNSPECIFIED);
}

TEST_F(TokendContractTest, RevokeAcceptsUnknownTokensAndRejectsEmptyTargets) {
  TokendProcess* tokend = StartTokend();
  ASSERT_NE(tokend, nullptr);
  auto stub = tokend->NewStub();
  v1::RevokeRequest request;
  request.set_access_token("not-a-jwt");
  EXPECT_TRUE(Revoke(*stub, request).ok()) << "RFC 7009: unknown tokens are OK";
  request.Clear();
  request.set_refresh_token("unknown-refresh-token");
  EXPECT_TRUE(Revoke(*stub, request).ok());

  request.Clear();
  EXPECT_EQ(Revoke(*stub, request).error_code(), ::grpc::StatusCode::INVALID_ARGUMENT)
      << "no target";
  request.set_token_id("");
  EXPECT_EQ(Revoke(*stub, request).error_code(), ::grpc::StatusCode::INVALID_ARGUMENT)
      << "empty target";
  request.set_token_id("jti-1");
  request.set_reason(std::string(300, 'r'));
  EXPECT_EQ(Revoke(*stub, request).error_code(), ::grpc::StatusCode::INVALID_ARGUMENT)
      << "oversized reason";
}

// --- Refresh --------------------------------------------------------------------------------

TEST_F(TokendContractTest, RefreshRotatesAndReuseRevokesTheFamily) {
  TokendProcess* tokend = StartTokend({"--refresh_reuse_grace=0s"});
  ASSERT_NE(tokend, nullptr);
  auto stub = tokend->NewStub();
  v1::TokenResponse issued;
  ASSERT_TRUE(
      Issue(*stub, MakeIssue("alice", {"api"}, {"read", "write"}, /*refresh=*/true), &issued).ok());

  v1::TokenResponse child;
  ASSERT_TRUE(Refresh(*stub, issued.refresh_token(), &child).ok());
  EXPECT_FALSE(child.refresh_token().empty());
  EXPECT_NE(child.refresh_token(), issued.refresh_token());
  EXPECT_NE(child.token_id(), issued.token_id());
  v1::VerifyResponse verified;
  ASSERT_TRUE(Verify(*stub, child.access_token(), "api", &verified).ok());
  EXPECT_TRUE(verified.valid());
  EXPECT_EQ(verified.subject(), "alice");
  EXPECT_THAT(verified.scopes(), UnorderedElementsAre("read", "write"));

  v1::TokenResponse grandchild;
  ASSERT_TRUE(Refresh(*stub, child.refresh_token(), &grandchild).ok());

  // The spent parent presented again: reuse. The whole family dies.
  v1::TokenResponse ignored;
  EXPECT_EQ(Refresh(*stub, issued.refresh_token(), &ignored).error_code(),
            ::grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Refresh(*stub, grandchild.refresh_token(), &ignored).error_code(),
            ::grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(VerifyReason(*stub, grandchild.access_token(), "api"), v1::VERIFY_ERROR_REVOKED);
  EXPECT_EQ(VerifyReason(*stub, issued.access_token(), "api"), v1::VERIFY_ERROR_REVOKED);
}

TEST_F(TokendContractTest, RefreshRetriedWithinTheGraceWindowReturnsTheSameChild) {
  TokendProcess* tokend = StartTokend({"--refresh_reuse_grace=30s"});
  ASSERT_NE(tokend, nullptr);
  auto stub = tokend->NewStub();
  v1::TokenResponse issued;
  ASSERT_TRUE(Issue(*stub, MakeIssue("alice", {"api"}, {}, /*refresh=*/true), &issued).ok());
  v1::TokenResponse first, retry;
  ASSERT_TRUE(Refresh(*stub, issued.refresh_token(), &first).ok());
  ASSERT_TRUE(Refresh(*stub, issued.refresh_token(), &retry).ok());
  EXPECT_EQ(retry.refresh_token(), first.refresh_token());
  // The family is intact: the child still works, and its access tokens verify.
  EXPECT_EQ(VerifyReason(*stub, retry.access_token(), "api"), v1::VERIFY_ERROR_UNSPECIFIED);
  v1::TokenResponse next;
  EXPECT_TRUE(Refresh(*stub, first.refresh_token(), &next).ok());
}

TEST_F(TokendContractTest, RefreshRejectsBadTokensAndScopes) {
  TokendProcess* tokend = StartTokend();
  ASSERT_NE(tokend, nullptr);
  auto stub = tokend->NewStub();
  v1::TokenResponse ignored;
  EXPECT_EQ(Refresh(*stub, "", &ignored).error_code(), ::grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Refresh(*stub, "garbage", &ignored).error_code(), ::grpc::StatusCode::UNAUTHENTICATED);
  // An access token is not a refresh token.
  std::string access = IssueAccessToken(*stub, "alice", "api");
  EXPECT_EQ(Refresh(*stub, access, &ignored).error_code(), ::grpc::StatusCode::UNAUTHENTICATED);

  v1::TokenResponse issued;
  ASSERT_TRUE(
      Issue(*stub, MakeIssue("alice", {"api"}, {"read", "write"}, /*refresh=*/true), &issued).ok());
  EXPECT_EQ(Refresh(*stub, issued.refresh_token(), &ignored, {"admin"}).error_code(),
            ::grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Refresh(*stub, issued.refresh_token(), &ignored, {""}).error_code(),
            ::grpc::StatusCode::INVALID_ARGUMENT);
  // A refused request does not spend the token: down-scoping still works afterwards.
  v1::TokenResponse narrowed;
  ASSERT_TRUE(Refresh(*stub, issued.refresh_token(), &narrowed, {"read"}).ok());
  v1::VerifyResponse verified;
  ASSERT_TRUE(Verify(*stub, narrowed.access_token(), "api", &verified).ok());
  EXPECT_THAT(verified.scopes(), ElementsAre("read"));
}

// Many clients refresh one token at the same moment (e.g. a retried request fanned out).
void RaceRefreshes(v1::TokenService::Stub& stub, const std::string& refresh_token, int n,
                   std::vector<::grpc::Status>* statuses, std::vector<std::string>* children) {
  statuses->assign(static_cast<size_t>(n), ::grpc::Status::OK);
  children->assign(static_cast<size_t>(n), "");
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      while (!go.load()) std::this_thread::yield();
      v1::TokenResponse response;
      (*statuses)[static_cast<size_t>(i)] = Refresh(stub, refresh_token, &response);
      (*children)[static_cast<size_t>(i)] = response.refresh_token();
    });
  }
  go.store(true);
  for (std::thread& t : threads) t.join();
}

TEST_F(TokendContractTest, ConcurrentRefreshesWithoutGraceHaveExactlyOneWinner) {
  TokendProcess* tokend = StartTokend({"--refresh_reuse_grace=0s"});
  ASSERT_NE(tokend, nullptr);
  auto stub = tokend->NewStub();
  v1::TokenResponse issued;
  ASSERT_TRUE(Issue(*stub, MakeIssue("alice", {"api"}, {}, /*refresh=*/true), &issued).ok());
  std::vector<::grpc::Status> statuses;
  std::vector<std::string> children;
  RaceRefreshes(*stub, issued.refresh_token(), 16, &statuses, &children);
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

TEST_F(TokendContractTest, ConcurrentRefreshesWithinGraceAllGetTheSameChild) {
  TokendProcess* tokend = StartTokend({"--refresh_reuse_grace=30s"});
  ASSERT_NE(tokend, nullptr);
  auto stub = tokend->NewStub();
  v1::TokenResponse issued;
  ASSERT_TRUE(Issue(*stub, MakeIssue("alice", {"api"}, {}, /*refresh=*/true), &issued).ok());
  std::vector<::grpc::Status> statuses;
  std::vector<std::string> children;
  RaceRefreshes(*stub, issued.refresh_token(), 16, &statuses, &children);
  std::set<std::string> distinct;
  for (size_t i = 0; i < statuses.size(); ++i) {
    EXPECT_TRUE(statuses[i].ok()) << statuses[i].error_code() << " " << statuses[i].error_message();
    distinct.insert(children[i]);
  }
  EXPECT_EQ(distinct.size(), 1u) << "every racer must get the one child";
  EXPECT_FALSE(distinct.begin()->empty());
}

// --- GetJwks and HTTP -----------------------------------------------------------------------

TEST_F(TokendContractTest, GetJwksPublishesThePublicKeysOnly) {
  TokendProcess* tokend = StartTokend({"--jwks_max_age=7m"});
  ASSERT_NE(tokend, nullptr);
  auto stub = tokend->NewStub();
  v1::GetJwksResponse jwks;
  ASSERT_TRUE(stub->GetJwks(ContextWithDeadline().get(), v1::GetJwksRequest(), &jwks).ok());
  EXPECT_EQ(jwks.max_age().seconds(), 7 * 60);
  EXPECT_THAT(jwks.jwks_json(), HasSubstr("\"keys\""));
  EXPECT_THAT(jwks.jwks_json(), HasSubstr("\"OKP\""));
  EXPECT_THAT(jwks.jwks_json(), Not(HasSubstr("\"d\"")));
  // The kid in a token's header is published.
  std::string header = TokenHeaderJson(IssueAccessToken(*stub, "alice", "api"));
  size_t kid_at = header.find("\"kid\":\"");
  ASSERT_NE(kid_at, std::string::npos) << header;
  std::string kid = header.substr(kid_at + 7, header.find('"', kid_at + 7) - kid_at - 7);
  EXPECT_THAT(jwks.jwks_json(), HasSubstr(kid));
}

TEST_F(TokendContractTest, HttpEndpointsServeHealthMetricsAndKeys) {
  TokendProcess* tokend = StartTokend({"--jwks_max_age=5m", "--issuer=https://auth.example"});
  ASSERT_NE(tokend, nullptr);
  auto stub = tokend->NewStub();
  std::string token = IssueAccessToken(*stub, "alice", "api");
  EXPECT_EQ(VerifyReason(*stub, token, "api"), v1::VERIFY_ERROR_UNSPECIFIED);

  absl::StatusOr<HttpResponse> healthz = HttpGet(tokend->http_port(), "/healthz");
  ASSERT_TRUE(healthz.ok()) << healthz.status();
  EXPECT_EQ(healthz->status, 200);

  // Readiness is evaluated in the background; it turns ready within a couple of seconds.
  absl::StatusOr<HttpResponse> readyz;
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  do {
    readyz = HttpGet(tokend->http_port(), "/readyz");
    ASSERT_TRUE(readyz.ok()) << readyz.status();
    if (readyz->status == 200) break;
    absl::SleepFor(absl::Milliseconds(100));
  } while (absl::Now() < deadline);
  EXPECT_EQ(readyz->status, 200) << readyz->body;
  EXPECT_EQ(readyz->body, "ready\n");

  absl::StatusOr<HttpResponse> metrics = HttpGet(tokend->http_port(), "/metrics");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_EQ(metrics->status, 200);
  EXPECT_THAT(metrics->body, HasSubstr("grpc_server_handled_total"));
  EXPECT_THAT(metrics->body, HasSubstr("grpc_method=\"Verify\""));
  EXPECT_THAT(metrics->body, HasSubstr("tokend_verify_results_total"));
  EXPECT_THAT(metrics->body, Not(HasSubstr(token)));

  absl::StatusOr<HttpResponse> jwks = HttpGet(tokend->http_port(), "/.well-known/jwks.json");
  ASSERT_TRUE(jwks.ok()) << jwks.status();
  EXPECT_EQ(jwks->status, 200);
  EXPECT_EQ(jwks->header("cache-control"), "public, max-age=300");
  std::string etag = jwks->header("etag");
  ASSERT_GE(etag.size(), 3u);
  EXPECT_EQ(etag.front(), '"');
  EXPECT_EQ(etag.back(), '"');
  EXPECT_THAT(jwks->body, HasSubstr("\"keys\""));
  v1::GetJwksResponse grpc_jwks;
  ASSERT_TRUE(stub->GetJwks(ContextWithDeadline().get(), v1::GetJwksRequest(), &grpc_jwks).ok());
  EXPECT_EQ(jwks->body, grpc_jwks.jwks_json());

  absl::StatusOr<HttpResponse> cached =
      HttpGet(tokend->http_port(), "/.well-known/jwks.json", {"If-None-Match: " + etag});
  ASSERT_TRUE(cached.ok()) << cached.status();
  EXPECT_EQ(cached->status, 304);
  EXPECT_TRUE(cached->body.empty());
  absl::StatusOr<HttpResponse> stale =
      HttpGet(tokend->http_port(), "/.well-known/jwks.json", {"If-None-Match: \"other\""});
  ASSERT_TRUE(stale.ok()) << stale.status();
  EXPECT_EQ(stale->status, 200);

  absl::StatusOr<HttpResponse> discovery =
      HttpGet(tokend->http_port(), "/.well-known/openid-configuration");
  ASSERT_TRUE(discovery.ok()) << discovery.status();
  EXPECT_EQ(discovery->status, 200);
  EXPECT_THAT(discovery->body, HasSubstr(R"("issuer":"https://auth.example")"));
  EXPECT_THAT(discovery->body,
              HasSubstr(R"("jwks_uri":"https://auth.example/.well-known/jwks.json")"));
  EXPECT_THAT(discovery->body, HasSubstr(R"("id_token_signing_alg_values_supported":["EdDSA"])"));

  absl::StatusOr<HttpResponse> missing = HttpGet(tokend->http_port(), "/nope");
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_EQ(missing->status, 404);
}

// --- Health and reflection (generic calls: no generated stubs for those services) ----------

std::string Bytes(const ::grpc::ByteBuffer& buffer) {
  std::vector<::grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  for (const ::grpc::Slice& slice : slices) {
    out.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return out;
}

::grpc::ByteBuffer Buffer(const std::string& bytes) {
  ::grpc::Slice slice(bytes);
  return ::grpc::ByteBuffer(&slice, 1);
}

TEST_F(TokendContractTest, HealthReportsServingAndReflectionListsTheService) {
  TokendProcess* tokend = StartTokend();
  ASSERT_NE(tokend, nullptr);
  auto channel = tokend->NewChannel();
  ::grpc::GenericStub stub(channel);
  ::grpc::CompletionQueue cq;
  void* tag = nullptr;
  bool ok = false;

  // grpc.health.v1.Health/Check {service: "tokend.v1.TokenService"} -> {status: SERVING (1)}.
  std::string service = "tokend.v1.TokenService";
  std::string check_request = std::string("\x0a") + static_cast<char>(service.size()) + service;
  ::grpc::ByteBuffer health_response;
  ::grpc::Status health_status;
  {
    auto context = ContextWithDeadline();
    auto call = stub.PrepareUnaryCall(context.get(), "/grpc.health.v1.Health/Check",
                                      Buffer(check_request), &cq);
    call->StartCall();
    call->Finish(&health_response, &health_status, reinterpret_cast<void*>(1));
    ASSERT_TRUE(cq.Next(&tag, &ok));
  }
  ASSERT_TRUE(health_status.ok()) << health_status.error_message();
  EXPECT_EQ(Bytes(health_response), std::string("\x08\x01", 2));

  // The "liveness" service (the chart's liveness probe) is SERVING from start to shutdown,
  // independently of readiness, so a database outage never restarts pods.
  std::string liveness = "liveness";
  std::string liveness_request =
      std::string("\x0a") + static_cast<char>(liveness.size()) + liveness;
  ::grpc::ByteBuffer liveness_response;
  ::grpc::Status liveness_status;
  {
    auto context = ContextWithDeadline();
    auto call = stub.PrepareUnaryCall(context.get(), "/grpc.health.v1.Health/Check",
                                      Buffer(liveness_request), &cq);
    call->StartCall();
    call->Finish(&liveness_response, &liveness_status, reinterpret_cast<void*>(1));
    ASSERT_TRUE(cq.Next(&tag, &ok));
  }
  ASSERT_TRUE(liveness_status.ok()) << liveness_status.error_message();
  EXPECT_EQ(Bytes(liveness_response), std::string("\x08\x01", 2));

  // grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo {list_services: ""}.
  auto context = ContextWithDeadline();
  auto call = stub.PrepareCall(
      context.get(), "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  call->StartCall(reinterpret_cast<void*>(2));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  call->Write(Buffer(std::string("\x3a\x00", 2)), reinterpret_cast<void*>(3));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  call->WritesDone(reinterpret_cast<void*>(4));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  ::grpc::ByteBuffer reflection_response;
  call->Read(&reflection_response, reinterpret_cast<void*>(5));
  ASSERT_TRUE(cq.Next(&tag, &ok));
  EXPECT_TRUE(ok) << "no reflection response";
  EXPECT_THAT(Bytes(reflection_response), HasSubstr("tokend.v1.TokenService"));
  ::grpc::Status finished;
  call->Finish(&finished, reinterpret_cast<void*>(6));
  while (cq.Next(&tag, &ok) && tag != reinterpret_cast<void*>(6)) {
  }
  EXPECT_TRUE(finished.ok()) << finished.error_message();
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
}

// --- The process ----------------------------------------------------------------------------

TEST_F(TokendContractTest, EnvironmentVariablesSetFlagsAndTheCommandLineWins) {
  TokendProcess::Options options;
  options.args = backend_->StoreFlags();
  options.env = {{"TOKEND_ISSUER", "from-env"}, {"TOKEND_ACCESS_TTL_DEFAULT", "3m"}};
  absl::StatusOr<std::unique_ptr<TokendProcess>> process = TokendProcess::Start(options);
  ASSERT_TRUE(process.ok()) << process.status();
  processes_.push_back(*std::move(process));
  auto stub = processes_.back()->NewStub();
  v1::TokenResponse issued;
  absl::Time before = absl::Now();
  ASSERT_TRUE(Issue(*stub, MakeIssue("alice", {"api"}), &issued).ok());
  EXPECT_GE(ToTime(issued.expires_at()), before + absl::Seconds(179));
  EXPECT_LE(ToTime(issued.expires_at()), absl::Now() + absl::Seconds(181));
  v1::VerifyResponse verified;
  ASSERT_TRUE(Verify(*stub, issued.access_token(), "api", &verified).ok());
  ASSERT_TRUE(verified.valid());
  EXPECT_EQ(verified.claims().fields().at("iss").string_value(), "from-env");

  options.args.push_back("--issuer=from-flag");
  process = TokendProcess::Start(options);
  ASSERT_TRUE(process.ok()) << process.status();
  processes_.push_back(*std::move(process));
  stub = processes_.back()->NewStub();
  ASSERT_TRUE(Issue(*stub, MakeIssue("alice", {"api"}), &issued).ok());
  ASSERT_TRUE(Verify(*stub, issued.access_token(), "api", &verified).ok());
  ASSERT_TRUE(verified.valid());
  EXPECT_EQ(verified.claims().fields().at("iss").string_value(), "from-flag");
}

TEST_F(TokendContractTest, RefusesToStartWithoutInsecure) {
  std::string output;
  std::vector<std::string> args = backend_->StoreFlags();
  args.insert(args.end(), {"--grpc_listen=127.0.0.1:0", "--http_listen=127.0.0.1:0"});
  absl::StatusOr<int> code = TokendProcess::RunToExit(args, absl::Seconds(30), &output);
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 2);
  EXPECT_THAT(output, HasSubstr("--insecure"));
}

TEST_F(TokendContractTest, SigtermLetsTheServerFinishAndExitZero) {
  TokendProcess* tokend = StartTokend({"--drain_timeout=5s"});
  ASSERT_NE(tokend, nullptr);
  auto stub = tokend->NewStub();
  // Keep calls flowing while the signal arrives: none may fail except by being refused, and the
  // process must still exit 0. (The PostgreSQL suite holds one call provably in flight.)
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0};
  std::atomic<int> unexpected{0};
  std::thread caller([&] {
    while (!stop.load()) {
      v1::TokenResponse response;
      ::grpc::Status status =
          Issue(*stub, MakeIssue("alice", {"api"}, {}, /*refresh=*/true), &response);
      if (status.ok()) {
        ++ok;
      } else if (status.error_code() != ::grpc::StatusCode::UNAVAILABLE &&
                 status.error_code() != ::grpc::StatusCode::CANCELLED) {
        // UNAVAILABLE: refused after shutdown began. CANCELLED: gRPC drops calls that reached
        // the transport but were not yet matched to a handler when shutdown began (never
        // processed, so safe to retry). A call being handled must complete.
        ++unexpected;
        ADD_FAILURE() << "unexpected " << status.error_code() << ": " << status.error_message();
      }
    }
  });
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (ok.load() < 5 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
  std::optional<int> code = tokend->Terminate(absl::Seconds(20));
  stop.store(true);
  caller.join();
  EXPECT_EQ(code, std::optional<int>(0));
  EXPECT_GE(ok.load(), 5);
  EXPECT_EQ(unexpected.load(), 0);
  EXPECT_THAT(tokend->Log(), HasSubstr("draining"));
}

// --- tokenctl -------------------------------------------------------------------------------

int Shell(const std::string& command) {
  std::string full = "bash -c '" + command + "' </dev/null";
  int status = std::system(full.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST_F(TokendContractTest, TokenctlIssuePipedIntoVerifySucceeds) {
  TokendProcess* tokend = StartTokend();
  ASSERT_NE(tokend, nullptr);
  std::string ctl = TokenctlBinary() + " --addr=" + tokend->grpc_address();
  EXPECT_EQ(Shell("set -o pipefail; " + ctl + " issue --subject alice --audience api --scope read" +
                  " --claim tenant=acme --ttl 5m | " + ctl + " verify --audience api --scope read"),
            0);
  // Wrong audience: the token is invalid, exit 1.
  EXPECT_EQ(Shell("set -o pipefail; " + ctl + " issue --subject alice --audience api | " + ctl +
                  " verify --audience other"),
            1);
  // Refresh and revoke by refresh token, in JSON mode.
  std::string json_out = dir_.File("issue.json");
  EXPECT_EQ(Shell(ctl + " --json issue --subject bob --audience api --refresh > " + json_out), 0);
  std::ifstream in(json_out);
  std::string json((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t at = json.find("\"refresh_token\":\"");
  ASSERT_NE(at, std::string::npos) << json;
  std::string refresh = json.substr(at + 17, json.find('"', at + 17) - at - 17);
  EXPECT_EQ(Shell(ctl + " --json refresh " + refresh + " >/dev/null"), 0);
  EXPECT_EQ(Shell(ctl + " revoke --refresh-token " + refresh + " --reason test >/dev/null"), 0);
  EXPECT_EQ(Shell(ctl + " jwks | grep -q keys"), 0);
  // Usage errors exit 2; RPC errors exit 3.
  EXPECT_EQ(Shell(ctl + " issue --audience api 2>/dev/null"), 2);
  EXPECT_EQ(Shell(ctl + " frobnicate 2>/dev/null"), 2);
  EXPECT_EQ(Shell(ctl + " --no-such-flag jwks 2>/dev/null"), 2);
  EXPECT_EQ(Shell(ctl + " revoke --jti a --subject b 2>/dev/null"), 2);
  EXPECT_EQ(Shell(ctl + " refresh not-a-refresh-token >/dev/null 2>&1"), 3);
  EXPECT_EQ(Shell(TokenctlBinary() + " --addr=127.0.0.1:1 --timeout=2s jwks 2>/dev/null"), 3);
}

}  // namespace
}  // namespace tokend::e2e
