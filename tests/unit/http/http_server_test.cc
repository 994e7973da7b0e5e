#include "services/tokend/http/http_server.h"

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/counter.h"
#include "prometheus/registry.h"
#include "services/tokend/http/readiness.h"
#include "tests/e2e/http_get.h"

namespace tokend::http {
namespace {

using e2e::HttpGet;
using ::testing::HasSubstr;

class HttpServerTest : public ::testing::Test {
 protected:
  void Start(std::string issuer = "tokend") {
    prometheus::BuildCounter()
        .Name("test_requests_total")
        .Help("h")
        .Register(registry_)
        .Add({})
        .Increment();
    HttpServer::Options options;
    options.listen = "127.0.0.1:0";
    options.issuer = std::move(issuer);
    options.jwks_max_age = absl::Minutes(7);
    HttpServer::Sources sources;
    sources.registry = &registry_;
    sources.jwks_json = [this] { return jwks_; };
    sources.signing_algorithms = [] { return std::vector<std::string>{"EdDSA", "ES256"}; };
    sources.readiness = &readiness_;
    absl::StatusOr<std::unique_ptr<HttpServer>> server = HttpServer::Start(options, sources);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    ASSERT_GT(server_->port(), 0);
  }

  prometheus::Registry registry_;
  std::string jwks_ = R"({"keys":[{"kty":"OKP","kid":"k1"}]})";
  std::atomic<bool> database_up_{true};
  std::atomic<bool> key_loaded_{true};
  Readiness readiness_{
      {{"signing_key",
        [this] {
          return key_loaded_.load() ? absl::OkStatus() : absl::UnavailableError("no \"key\"");
        }},
       {"database",
        [this] {
          return database_up_.load() ? absl::OkStatus() : absl::UnavailableError("unreachable");
        },
        Readiness::Kind::kReport}}};
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, HealthzIsAlwaysOkAndUnknownPathsAre404) {
  Start();
  auto healthz = HttpGet(server_->port(), "/healthz");
  ASSERT_TRUE(healthz.ok()) << healthz.status();
  EXPECT_EQ(healthz->status, 200);
  auto missing = HttpGet(server_->port(), "/metrics/extra");
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 404);
}

TEST_F(HttpServerTest, ReadyzFollowsTheLastEvaluationAndNamesWhatFails) {
  Start();
  auto before = HttpGet(server_->port(), "/readyz");
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->status, 503) << "not ready before the first evaluation";

  readiness_.Evaluate();
  auto ready = HttpGet(server_->port(), "/readyz");
  ASSERT_TRUE(ready.ok());
  EXPECT_EQ(ready->status, 200);
  EXPECT_EQ(ready->body, "ready\n");

  key_loaded_ = false;
  readiness_.Evaluate();
  auto down = HttpGet(server_->port(), "/readyz");
  ASSERT_TRUE(down.ok());
  EXPECT_EQ(down->status, 503);
  EXPECT_EQ(down->header("content-type"), "application/json");
  EXPECT_EQ(down->body, "{\"ready\":false,\"not_ready\":{\"signing_key\":\"no \\\"key\\\"\"}}\n");
}

TEST_F(HttpServerTest, AReportedProblemShowsInTheBodyButKeepsTheReplicaReady) {
  Start();
  database_up_ = false;
  readiness_.Evaluate();
  auto degraded = HttpGet(server_->port(), "/readyz");
  ASSERT_TRUE(degraded.ok());
  EXPECT_EQ(degraded->status, 200) << "a database outage must not take the replica out";
  EXPECT_EQ(degraded->body, "{\"ready\":true,\"degraded\":{\"database\":\"unreachable\"}}\n");

  key_loaded_ = false;
  readiness_.Evaluate();
  auto both = HttpGet(server_->port(), "/readyz");
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(both->status, 503);
  EXPECT_EQ(both->body,
            "{\"ready\":false,\"not_ready\":{\"signing_key\":\"no \\\"key\\\"\"},"
            "\"degraded\":{\"database\":\"unreachable\"}}\n");
}

TEST_F(HttpServerTest, MetricsServesTheRegistryInTextFormat) {
  Start();
  auto metrics = HttpGet(server_->port(), "/metrics");
  ASSERT_TRUE(metrics.ok());
  EXPECT_EQ(metrics->status, 200);
  EXPECT_THAT(metrics->header("content-type"), HasSubstr("text/plain"));
  EXPECT_THAT(metrics->body, HasSubstr("test_requests_total 1"));
}

TEST_F(HttpServerTest, JwksIsCacheableWithAStableETag) {
  Start();
  auto first = HttpGet(server_->port(), "/.well-known/jwks.json");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(first->body, jwks_);
  EXPECT_EQ(first->header("cache-control"), "public, max-age=420");
  EXPECT_EQ(first->header("etag"), HttpServer::ETagFor(jwks_));
  auto second = HttpGet(server_->port(), "/.well-known/jwks.json");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->header("etag"), first->header("etag"));

  auto not_modified = HttpGet(server_->port(), "/.well-known/jwks.json",
                              {"If-None-Match: \"x\", W/" + first->header("etag")});
  ASSERT_TRUE(not_modified.ok());
  EXPECT_EQ(not_modified->status, 304);
  EXPECT_TRUE(not_modified->body.empty());

  jwks_ = R"({"keys":[]})";  // a rotation changes the tag
  auto changed = HttpGet(server_->port(), "/.well-known/jwks.json",
                         {"If-None-Match: " + first->header("etag")});
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ(changed->status, 200);
  EXPECT_NE(changed->header("etag"), first->header("etag"));
}

TEST_F(HttpServerTest, DiscoveryPointsAtTheJwks) {
  Start();
  auto discovery = HttpGet(server_->port(), "/.well-known/openid-configuration");
  ASSERT_TRUE(discovery.ok());
  EXPECT_EQ(discovery->status, 200);
  EXPECT_THAT(discovery->body, HasSubstr(R"("issuer":"tokend")"));
  EXPECT_THAT(discovery->body,
              HasSubstr("\"jwks_uri\":\"http://127.0.0.1:" + std::to_string(server_->port()) +
                        "/.well-known/jwks.json\""));
  EXPECT_THAT(discovery->body,
              HasSubstr(R"("id_token_signing_alg_values_supported":["EdDSA","ES256"])"));
}

TEST_F(HttpServerTest, DiscoveryNeverEchoesAHostileHostHeader) {
  Start();
  auto discovery = HttpGet(server_->port(), "/.well-known/openid-configuration",
                           {"Host: evil.example/\"><script>"});
  ASSERT_TRUE(discovery.ok());
  EXPECT_THAT(discovery->body, ::testing::Not(HasSubstr("evil")));
}

TEST_F(HttpServerTest, DiscoveryIsBuiltFromConfigurationNotFromTheHostHeader) {
  Start();
  // A well-formed but foreign Host: a shared cache keyed without Host must not learn it.
  auto discovery =
      HttpGet(server_->port(), "/.well-known/openid-configuration", {"Host: attacker.example:443"});
  ASSERT_TRUE(discovery.ok());
  EXPECT_THAT(discovery->body, ::testing::Not(HasSubstr("attacker")));
  EXPECT_THAT(discovery->body,
              HasSubstr("\"jwks_uri\":\"http://127.0.0.1:" + std::to_string(server_->port()) +
                        "/.well-known/jwks.json\""));
}

TEST(HttpServerStartTest, RefusesAnAddressInUseAndMissingSources) {
  prometheus::Registry registry;
  Readiness readiness({});
  HttpServer::Sources sources;
  sources.registry = &registry;
  sources.jwks_json = [] { return std::string("{}"); };
  sources.signing_algorithms = [] { return std::vector<std::string>{}; };
  sources.readiness = &readiness;
  HttpServer::Options options;
  options.listen = "127.0.0.1:0";
  auto first = HttpServer::Start(options, sources);
  ASSERT_TRUE(first.ok()) << first.status();
  options.listen = "127.0.0.1:" + std::to_string((*first)->port());
  EXPECT_EQ(HttpServer::Start(options, sources).status().code(), absl::StatusCode::kUnavailable);
  options.listen = "nonsense";
  EXPECT_EQ(HttpServer::Start(options, sources).status().code(),
            absl::StatusCode::kInvalidArgument);
  sources.readiness = nullptr;
  options.listen = "127.0.0.1:0";
  EXPECT_EQ(HttpServer::Start(options, sources).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(IfNoneMatchTest, UsesWeakComparisonOverAList) {
  EXPECT_TRUE(HttpServer::IfNoneMatchMatches("\"abc\"", "\"abc\""));
  EXPECT_TRUE(HttpServer::IfNoneMatchMatches("W/\"abc\"", "\"abc\""));
  EXPECT_TRUE(HttpServer::IfNoneMatchMatches("\"x\" ,  \"abc\"", "\"abc\""));
  EXPECT_TRUE(HttpServer::IfNoneMatchMatches("*", "\"abc\""));
  EXPECT_FALSE(HttpServer::IfNoneMatchMatches("\"abcd\"", "\"abc\""));
  EXPECT_FALSE(HttpServer::IfNoneMatchMatches("abc", "\"abc\""));
  EXPECT_FALSE(HttpServer::IfNoneMatchMatches("", "\"abc\""));
}

}  // namespace
}  // namespace tokend::http
