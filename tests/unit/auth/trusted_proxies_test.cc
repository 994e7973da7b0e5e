#include "services/tokend/auth/trusted_proxies.h"

#include "gtest/gtest.h"

namespace tokend::auth {
namespace {

TrustedProxies MustParse(const std::vector<std::string>& entries) {
  absl::StatusOr<TrustedProxies> proxies = TrustedProxies::Parse(entries);
  EXPECT_TRUE(proxies.ok()) << proxies.status();
  return proxies.ok() ? *proxies : TrustedProxies();
}

TEST(TrustedProxiesTest, MatchesIpv4PeersAgainstCidrBlocks) {
  TrustedProxies proxies = MustParse({"127.0.0.1/32", "10.1.0.0/16"});
  EXPECT_TRUE(proxies.ContainsPeer("ipv4:127.0.0.1:5000"));
  EXPECT_TRUE(proxies.ContainsPeer("ipv4:10.1.200.3:80"));
  EXPECT_FALSE(proxies.ContainsPeer("ipv4:10.2.0.1:80"));
  EXPECT_FALSE(proxies.ContainsPeer("ipv4:127.0.0.2:5000"));
}

TEST(TrustedProxiesTest, MatchesIpv6PeersInBothNotations) {
  TrustedProxies proxies = MustParse({"::1", "fd00::/8"});
  EXPECT_TRUE(proxies.ContainsPeer("ipv6:[::1]:5000"));
  EXPECT_TRUE(proxies.ContainsPeer("ipv6:%5B::1%5D:5000"));
  EXPECT_TRUE(proxies.ContainsPeer("ipv6:[fd12:3456::1]:443"));
  EXPECT_FALSE(proxies.ContainsPeer("ipv6:[fe80::1]:443"));
  EXPECT_FALSE(proxies.ContainsPeer("ipv4:127.0.0.1:5000"));  // a v6 block is not a v4 one
}

TEST(TrustedProxiesTest, TreatsIpv4MappedPeersAsIpv4) {
  TrustedProxies proxies = MustParse({"127.0.0.0/8"});
  EXPECT_TRUE(proxies.ContainsPeer("ipv6:[::ffff:127.0.0.1]:5000"));
}

TEST(TrustedProxiesTest, UnixSocketPeersOnlyWhenListed) {
  EXPECT_FALSE(MustParse({"127.0.0.1"}).ContainsPeer("unix:/run/tokend.sock"));
  EXPECT_TRUE(MustParse({"unix"}).ContainsPeer("unix:/run/tokend.sock"));
}

TEST(TrustedProxiesTest, AnEmptySetTrustsNobody) {
  TrustedProxies proxies = MustParse({});
  EXPECT_TRUE(proxies.empty());
  EXPECT_FALSE(proxies.ContainsPeer("ipv4:127.0.0.1:1"));
}

TEST(TrustedProxiesTest, UnparseablePeersAreNeverTrusted) {
  TrustedProxies proxies = MustParse({"0.0.0.0/0", "::/0"});
  for (const char* peer : {"", "ipv4:", "ipv4:localhost:80", "ipv6:::1:80", "ipv6:[::1",
                           "ipv6:[fe80::1%25eth0]:80", "tcp:1.2.3.4:5", "1.2.3.4:5"}) {
    EXPECT_FALSE(proxies.ContainsPeer(peer)) << peer;
  }
  EXPECT_TRUE(proxies.ContainsPeer("ipv4:8.8.8.8:53"));
}

TEST(TrustedProxiesTest, RefusesBadEntries) {
  for (const char* bad :
       {"localhost", "10.0.0.1/8", "10.0.0.0/33", "::1/129", "1.2.3.4/-1", "1.2.3.4/x", "1.2.3"}) {
    EXPECT_FALSE(TrustedProxies::Parse({bad}).ok()) << bad;
  }
}

}  // namespace
}  // namespace tokend::auth
