#include "services/tokend/auth/caller_resolver.h"

#include <string>

#include "gtest/gtest.h"
#include "tests/testing/test_certs.h"

namespace tokend::auth {
namespace {

constexpr char kXfcc[] =
    "By=spiffe://mesh.test/ns/tokend/sa/tokend;Subject=\"\";"
    "URI=spiffe://mesh.test/ns/edge/sa/gateway";

TrustedProxies Loopback() { return *TrustedProxies::Parse({"127.0.0.1/32", "::1/128"}); }

std::string CertFor(const std::string& uri) {
  testing::CertSpec spec;
  spec.uris = {uri};
  absl::StatusOr<testing::KeyAndCert> cert = testing::SelfSignedCert(spec);
  EXPECT_TRUE(cert.ok()) << cert.status();
  return cert.ok() ? cert->cert_pem : std::string();
}

TEST(CallerResolverTest, NamesTheCallerFromItsVerifiedCertificate) {
  CallerResolver resolver(CallerResolver::ForwardedCerts::kIgnore, TrustedProxies());
  const std::string pem = CertFor("spiffe://mesh.test/ns/a/sa/b");
  ConnectionFacts facts;
  facts.peer = "ipv4:10.0.0.7:5000";
  facts.peer_certificate_pem = pem;
  absl::StatusOr<CallerIdentity> caller = resolver.Resolve(facts);
  ASSERT_TRUE(caller.ok()) << caller.status();
  EXPECT_EQ(caller->id, "spiffe://mesh.test/ns/a/sa/b");
  EXPECT_EQ(caller->source, IdentitySource::kPeerCertificate);
}

TEST(CallerResolverTest, WithoutCertificateOrHeaderTheCallerIsAnonymous) {
  CallerResolver resolver(CallerResolver::ForwardedCerts::kTrustFromProxies, Loopback());
  ConnectionFacts facts;
  facts.peer = "ipv4:127.0.0.1:5000";
  absl::StatusOr<CallerIdentity> caller = resolver.Resolve(facts);
  ASSERT_TRUE(caller.ok());
  EXPECT_TRUE(caller->anonymous());
  EXPECT_EQ(caller->id, "anonymous");
}

TEST(CallerResolverTest, TrustsTheHeaderFromATrustedProxyOverItsCertificate) {
  CallerResolver resolver(CallerResolver::ForwardedCerts::kTrustFromProxies, Loopback());
  const std::string proxy_pem = CertFor("spiffe://mesh.test/ns/tokend/sa/sidecar");
  ConnectionFacts facts;
  facts.peer = "ipv6:[::1]:5000";
  facts.forwarded_cert_headers = {kXfcc};
  facts.peer_certificate_pem = proxy_pem;
  absl::StatusOr<CallerIdentity> caller = resolver.Resolve(facts);
  ASSERT_TRUE(caller.ok()) << caller.status();
  EXPECT_EQ(caller->id, "spiffe://mesh.test/ns/edge/sa/gateway");
  EXPECT_EQ(caller->source, IdentitySource::kForwardedCertificate);
}

TEST(CallerResolverTest, RefusesTheHeaderFromAnUntrustedPeer) {
  CallerResolver resolver(CallerResolver::ForwardedCerts::kTrustFromProxies, Loopback());
  ConnectionFacts facts;
  facts.peer = "ipv4:10.0.0.9:5000";
  facts.forwarded_cert_headers = {kXfcc};
  DenyReason reason = DenyReason::kRpc;
  EXPECT_EQ(resolver.Resolve(facts, &reason).status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(reason, DenyReason::kForwardedCert);
}

TEST(CallerResolverTest, RefusesMalformedOrRepeatedHeaders) {
  CallerResolver resolver(CallerResolver::ForwardedCerts::kTrustFromProxies, Loopback());
  ConnectionFacts facts;
  facts.peer = "ipv4:127.0.0.1:5000";
  facts.forwarded_cert_headers = {"URI=spiffe://mesh.test/a;URI"};
  EXPECT_EQ(resolver.Resolve(facts).status().code(), absl::StatusCode::kUnauthenticated);
  facts.forwarded_cert_headers = {kXfcc, kXfcc};
  EXPECT_EQ(resolver.Resolve(facts).status().code(), absl::StatusCode::kUnauthenticated);
}

TEST(CallerResolverTest, IgnoresTheHeaderWhenForwardedCertsAreNotTrusted) {
  CallerResolver resolver(CallerResolver::ForwardedCerts::kIgnore, Loopback());
  const std::string pem = CertFor("spiffe://mesh.test/ns/a/sa/real");
  ConnectionFacts facts;
  facts.peer = "ipv4:127.0.0.1:5000";
  facts.forwarded_cert_headers = {"URI=spiffe://mesh.test/ns/ops/sa/admin", "garbage"};
  facts.peer_certificate_pem = pem;
  EXPECT_EQ(resolver.Resolve(facts)->id, "spiffe://mesh.test/ns/a/sa/real");
  facts.peer_certificate_pem.reset();
  EXPECT_TRUE(resolver.Resolve(facts)->anonymous());
}

TEST(CallerResolverTest, RefusesACertificateThatNamesNobody) {
  CallerResolver resolver(CallerResolver::ForwardedCerts::kIgnore, TrustedProxies());
  testing::CertSpec spec;  // no CN, no SANs
  absl::StatusOr<testing::KeyAndCert> cert = testing::SelfSignedCert(spec);
  ASSERT_TRUE(cert.ok());
  ConnectionFacts facts;
  facts.peer_certificate_pem = cert->cert_pem;
  EXPECT_EQ(resolver.Resolve(facts).status().code(), absl::StatusCode::kUnauthenticated);
  facts.peer_certificate_pem = "not a pem";
  EXPECT_EQ(resolver.Resolve(facts).status().code(), absl::StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace tokend::auth
