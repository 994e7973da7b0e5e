#include "services/tokend/auth/identity.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_certs.h"

namespace tokend::auth {
namespace {

using ::testing::ElementsAre;

absl::StatusOr<std::string> IdentityOf(const testing::CertSpec& spec) {
  absl::StatusOr<testing::KeyAndCert> cert = testing::SelfSignedCert(spec);
  if (!cert.ok()) return cert.status();
  absl::StatusOr<CertificateNames> names = NamesFromCertificatePem(cert->cert_pem);
  if (!names.ok()) return names.status();
  return IdentityFromNames(*names);
}

TEST(CertificateNamesTest, ReadsUriAndDnsSansAndTheCommonName) {
  testing::CertSpec spec;
  spec.common_name = "worker";
  spec.uris = {"spiffe://mesh.test/ns/a/sa/b", "https://example.com/x"};
  spec.dns = {"a.example", "b.example"};
  spec.ips = {"127.0.0.1"};
  absl::StatusOr<testing::KeyAndCert> cert = testing::SelfSignedCert(spec);
  ASSERT_TRUE(cert.ok()) << cert.status();
  absl::StatusOr<CertificateNames> names = NamesFromCertificatePem(cert->cert_pem);
  ASSERT_TRUE(names.ok()) << names.status();
  EXPECT_THAT(names->uris, ElementsAre("spiffe://mesh.test/ns/a/sa/b", "https://example.com/x"));
  EXPECT_THAT(names->dns, ElementsAre("a.example", "b.example"));
  EXPECT_EQ(names->common_name, "worker");
}

TEST(CertificateNamesTest, RefusesTextThatIsNotAPemCertificate) {
  EXPECT_FALSE(NamesFromCertificatePem("").ok());
  EXPECT_FALSE(NamesFromCertificatePem("-----BEGIN CERTIFICATE-----\nAAAA\n").ok());
}

TEST(CertificateIdentityTest, PrefersTheSpiffeIdThenDnsThenCommonName) {
  testing::CertSpec spec;
  spec.common_name = "cn-name";
  spec.dns = {"dns.example"};
  spec.uris = {"spiffe://mesh.test/ns/a/sa/b"};
  EXPECT_EQ(*IdentityOf(spec), "spiffe://mesh.test/ns/a/sa/b");
  spec.uris = {"https://not-spiffe.example/"};
  EXPECT_EQ(*IdentityOf(spec), "dns.example");
  spec.dns.clear();
  EXPECT_EQ(*IdentityOf(spec), "cn-name");
}

TEST(CertificateIdentityTest, RefusesAmbiguousMissingOrMalformedNames) {
  testing::CertSpec two;
  two.uris = {"spiffe://mesh.test/a", "spiffe://mesh.test/b"};
  EXPECT_EQ(IdentityOf(two).status().code(), absl::StatusCode::kUnauthenticated);

  testing::CertSpec none;  // only O=tokend tests
  EXPECT_EQ(IdentityOf(none).status().code(), absl::StatusCode::kUnauthenticated);

  testing::CertSpec dotdot;
  dotdot.uris = {"spiffe://mesh.test/ns/a/../b"};
  EXPECT_EQ(IdentityOf(dotdot).status().code(), absl::StatusCode::kUnauthenticated);

  testing::CertSpec reserved;
  reserved.common_name = "anonymous";
  EXPECT_EQ(IdentityOf(reserved).status().code(), absl::StatusCode::kUnauthenticated);
}

TEST(IdentityValidationTest, AcceptsPrintableAsciiUpTo256Bytes) {
  EXPECT_TRUE(ValidateIdentity("svc-a").ok());
  EXPECT_TRUE(ValidateIdentity("Billing Service EU").ok());
  EXPECT_TRUE(ValidateIdentity(std::string(256, 'a')).ok());
  EXPECT_FALSE(ValidateIdentity(std::string(257, 'a')).ok());
  EXPECT_FALSE(ValidateIdentity("").ok());
  EXPECT_FALSE(ValidateIdentity(" lead").ok());
  EXPECT_FALSE(ValidateIdentity("trail ").ok());
  EXPECT_FALSE(ValidateIdentity("tab\there").ok());
  EXPECT_FALSE(ValidateIdentity("caf\xc3\xa9").ok());
  EXPECT_FALSE(ValidateIdentity(std::string("nul\0x", 5)).ok());
  EXPECT_EQ(ValidateIdentity("anonymous").code(), absl::StatusCode::kUnauthenticated);
}

TEST(SpiffeIdTest, FollowsTheSpiffeSpec) {
  for (const char* good : {"spiffe://td", "spiffe://cluster.local/ns/default/sa/app",
                           "spiffe://td-1.example_x/a.b/c-d/E_F"}) {
    EXPECT_TRUE(IsValidSpiffeId(good)) << good;
  }
  for (const char* bad :
       {"spiffe://", "spiffe:///a", "spiffe://td/", "spiffe://td//a", "spiffe://td/./a",
        "spiffe://td/a/..", "spiffe://TD/a", "spiffe://td/a%2Fb", "spiffe://td/a?b",
        "spiffe://user@td/a", "spiffe://td:443/a", "SPIFFE://td/a", "https://td/a"}) {
    EXPECT_FALSE(IsValidSpiffeId(bad)) << bad;
  }
}

}  // namespace
}  // namespace tokend::auth
