#include "services/tokend/auth/server_auth.h"

#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/test_certs.h"

namespace tokend::auth {
namespace {

using ::testing::HasSubstr;

std::string WriteTemp(const std::string& name, const std::string& content) {
  std::string path = ::testing::TempDir() + "/server_auth_test." + name;
  std::ofstream(path, std::ios::trunc) << content;
  return path;
}

TEST(ServerAuthOptionsTest, PlaintextOrTlsMustBeAnExplicitChoice) {
  ServerAuthOptions options;
  EXPECT_THAT(std::string(ValidateServerAuthOptions(options).message()), HasSubstr("--insecure"));
  options.insecure = true;
  EXPECT_TRUE(ValidateServerAuthOptions(options).ok());
  options.tls.cert = "c.pem";
  EXPECT_THAT(std::string(ValidateServerAuthOptions(options).message()), HasSubstr("exclusive"));
  options.insecure = false;
  EXPECT_THAT(std::string(ValidateServerAuthOptions(options).message()), HasSubstr("together"));
  options.tls.key = "k.pem";
  EXPECT_TRUE(ValidateServerAuthOptions(options).ok());
  options.tls.client_ca = "ca.pem";
  EXPECT_TRUE(ValidateServerAuthOptions(options).ok());
}

TEST(ServerAuthOptionsTest, ForwardedCertificatesNeedTrustedProxies) {
  ServerAuthOptions options;
  options.insecure = true;
  options.tls.client_ca = "ca.pem";
  EXPECT_FALSE(ValidateServerAuthOptions(options).ok());  // a client CA without TLS
  options.tls.client_ca.clear();
  options.trust_forwarded_client_cert = true;
  EXPECT_FALSE(ValidateServerAuthOptions(options).ok());  // no proxy
  options.trusted_proxies = {"10.0.0.1/8"};
  EXPECT_FALSE(ValidateServerAuthOptions(options).ok());  // host bits
  options.trusted_proxies = {"127.0.0.1/32"};
  EXPECT_TRUE(ValidateServerAuthOptions(options).ok());
}

TEST(ServerAuthTest, InsecureWithoutPolicyAllowsEverythingForLocalDevelopment) {
  testing::FakeClock clock;
  prometheus::Registry registry;
  ServerAuthOptions options;
  options.insecure = true;
  options.audit_log = WriteTemp("audit.jsonl", "");
  auto auth = ServerAuth::Create(options, clock, registry);
  ASSERT_TRUE(auth.ok()) << auth.status();
  EXPECT_EQ((*auth)->transport(), "plaintext");
  EXPECT_NE((*auth)->credentials(), nullptr);
}

TEST(ServerAuthTest, ChecksTheTlsFilesAndThePolicyAtStart) {
  auto ca = testing::TestCa::Create("ca");
  ASSERT_TRUE(ca.ok());
  testing::CertSpec spec;
  spec.dns = {"localhost"};
  auto server = (*ca)->Issue(spec);
  auto other = (*ca)->Issue(spec);
  ASSERT_TRUE(server.ok() && other.ok());
  testing::FakeClock clock;
  ServerAuthOptions options;
  options.tls.cert = WriteTemp("server.crt", server->cert_pem);
  options.tls.key = WriteTemp("server.key", server->key_pem);
  options.tls.client_ca = WriteTemp("ca.crt", (*ca)->cert_pem());
  options.audit_log = "-";
  {
    prometheus::Registry registry;
    auto auth = ServerAuth::Create(options, clock, registry);
    ASSERT_TRUE(auth.ok()) << auth.status();
    EXPECT_EQ((*auth)->transport(), "mTLS");
  }
  {
    ServerAuthOptions bad = options;
    bad.tls.key = WriteTemp("other.key", other->key_pem);
    prometheus::Registry registry;
    EXPECT_THAT(std::string(ServerAuth::Create(bad, clock, registry).status().message()),
                HasSubstr("does not belong"));
  }
  {
    ServerAuthOptions bad = options;
    bad.tls.client_ca = WriteTemp("empty-ca.crt", "not a certificate");
    prometheus::Registry registry;
    EXPECT_FALSE(ServerAuth::Create(bad, clock, registry).ok());
  }
  {
    ServerAuthOptions bad = options;
    bad.policy_file = WriteTemp("policy.yaml", "callers: [\n");
    prometheus::Registry registry;
    EXPECT_THAT(std::string(ServerAuth::Create(bad, clock, registry).status().message()),
                HasSubstr("--policy_file"));
  }
}

}  // namespace
}  // namespace tokend::auth
