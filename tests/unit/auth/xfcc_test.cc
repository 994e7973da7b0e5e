#include "services/tokend/auth/xfcc.h"

#include <cctype>
#include <cstdio>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_certs.h"

namespace tokend::auth {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kIstioHeader[] =
    "By=spiffe://cluster.local/ns/tokend/sa/tokend;"
    "Hash=2d3f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7081;"
    "Subject=\"\";URI=spiffe://cluster.local/ns/edge/sa/gateway";

TEST(XfccParseTest, ParsesTheHeaderIstioSends) {
  absl::StatusOr<std::vector<XfccElement>> elements = ParseXfcc(kIstioHeader);
  ASSERT_TRUE(elements.ok()) << elements.status();
  ASSERT_EQ(elements->size(), 1u);
  const XfccElement& e = elements->front();
  EXPECT_EQ(e.by, "spiffe://cluster.local/ns/tokend/sa/tokend");
  EXPECT_EQ(e.hash.size(), 64u);
  EXPECT_TRUE(e.has_subject);
  EXPECT_EQ(e.subject, "");
  EXPECT_THAT(e.uris, ElementsAre("spiffe://cluster.local/ns/edge/sa/gateway"));
}

TEST(XfccParseTest, KeysAreCaseInsensitiveAndUriAndDnsRepeat) {
  absl::StatusOr<std::vector<XfccElement>> elements =
      ParseXfcc("uri=spiffe://a/x;DNS=a.example;dns=b.example;SUBJECT=\"CN=a\"");
  ASSERT_TRUE(elements.ok()) << elements.status();
  EXPECT_THAT(elements->front().uris, ElementsAre("spiffe://a/x"));
  EXPECT_THAT(elements->front().dns, ElementsAre("a.example", "b.example"));
  EXPECT_EQ(elements->front().subject, "CN=a");
}

TEST(XfccParseTest, QuotedValuesKeepSeparatorsAndUnescapeQuotes) {
  absl::StatusOr<std::vector<XfccElement>> elements =
      ParseXfcc(R"(Subject="CN=a\,b,OU=x;y=\"z\" \\ end";URI=spiffe://td/s)");
  ASSERT_TRUE(elements.ok()) << elements.status();
  ASSERT_EQ(elements->size(), 1u);
  // "\," is not an XFCC escape and is kept for the DN parser; \" and \\ are unescaped.
  EXPECT_EQ(elements->front().subject, R"(CN=a\,b,OU=x;y="z" \ end)");
}

TEST(XfccParseTest, SplitsElementsOnlyOutsideQuotes) {
  absl::StatusOr<std::vector<XfccElement>> elements =
      ParseXfcc("By=spiffe://p/a;URI=spiffe://td/first,Subject=\"CN=x,O=y\";URI=spiffe://td/last");
  ASSERT_TRUE(elements.ok()) << elements.status();
  ASSERT_EQ(elements->size(), 2u);
  EXPECT_THAT((*elements)[0].uris, ElementsAre("spiffe://td/first"));
  EXPECT_EQ((*elements)[1].subject, "CN=x,O=y");
}

TEST(XfccParseTest, RefusesMalformedHeaders) {
  const std::vector<std::string> malformed = {
      "",                                       // empty
      "URI",                                    // no '='
      "=spiffe://td/a",                         // no key
      "URI=spiffe://td/a;",                     // trailing ';'
      "URI=spiffe://td/a,",                     // trailing ','
      "URI=spiffe://td/a,,URI=spiffe://td/b",   // empty element
      ";URI=spiffe://td/a",                     // leading ';'
      "URI=spiffe://td/a ;DNS=x",               // whitespace outside quotes
      " URI=spiffe://td/a",                     // leading whitespace
      "Subject=\"CN=a",                         // unterminated quote
      "Subject=\"CN=a\"x",                      // junk after a quoted value
      "Subject=\"CN=a\\",                       // dangling escape
      "Subject=CN=\"a\"",                       // quote inside a bare value
      "URI=spiffe://td/a\\b",                   // backslash in a bare value
      "Unknown=1",                              // unknown key
      "URI=",                                   // empty URI
      "DNS=",                                   // empty DNS
      "By=a;By=b",                              // duplicate single-valued key
      "Hash=a;Hash=b",                          //
      "Subject=\"\";Subject=\"CN=x\"",          //
      "Cert=a;Cert=b",                          //
      "URI=spiffe://td/a\x01",                  // control character
      std::string("Subject=\"a\nb\""),          // newline inside quotes
      std::string("URI=spiffe://td/a\0b", 19),  // NUL
      "URI=spiffe://td/\xc3\xa9",               // non-ASCII in a bare value
      "URI\t=spiffe://td/a",                    // tab
  };
  for (const std::string& header : malformed) {
    EXPECT_FALSE(ParseXfcc(header).ok()) << "accepted: " << header;
    EXPECT_EQ(IdentityFromXfcc(header).status().code(), absl::StatusCode::kUnauthenticated)
        << header;
  }
}

TEST(XfccParseTest, RefusesOversizedHeaders) {
  std::string long_header = "URI=spiffe://td/" + std::string(XfccLimits::kMaxHeaderBytes, 'a');
  EXPECT_FALSE(ParseXfcc(long_header).ok());

  std::string many;
  for (size_t i = 0; i <= XfccLimits::kMaxElements; ++i) {
    if (i > 0) many += ",";
    many += "URI=spiffe://td/a";
  }
  EXPECT_FALSE(ParseXfcc(many).ok());

  std::string pairs = "URI=spiffe://td/a";
  for (size_t i = 0; i < XfccLimits::kMaxPairsPerElement; ++i) pairs += ";DNS=x";
  EXPECT_FALSE(ParseXfcc(pairs).ok());
}

TEST(XfccIdentityTest, TakesTheSpiffeIdOfTheIstioElement) {
  absl::StatusOr<std::string> id = IdentityFromXfcc(kIstioHeader);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, "spiffe://cluster.local/ns/edge/sa/gateway");
}

TEST(XfccIdentityTest, UsesTheLastElementTheNearestProxyAppended) {
  // A client (or a far proxy) wrote the first element claiming to be the admin; the proxy in
  // front of tokend appended the truth last.
  absl::StatusOr<std::string> id = IdentityFromXfcc(
      "URI=spiffe://cluster.local/ns/ops/sa/admin,"
      "By=spiffe://cluster.local/ns/tokend/sa/tokend;URI=spiffe://cluster.local/ns/web/sa/app");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, "spiffe://cluster.local/ns/web/sa/app");
}

TEST(XfccIdentityTest, AMalformedEarlierElementRefusesTheWholeHeader) {
  EXPECT_EQ(IdentityFromXfcc("URI=spiffe://a/x;Bogus=1,URI=spiffe://a/y").status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(XfccIdentityTest, FallsBackToDnsThenSubjectCommonName) {
  EXPECT_EQ(*IdentityFromXfcc("DNS=svc.example;Subject=\"CN=other\""), "svc.example");
  EXPECT_EQ(*IdentityFromXfcc("Subject=\"CN=billing\\, EU,O=Acme\""), "billing, EU");
  EXPECT_EQ(*IdentityFromXfcc("Subject=\"O=Acme,CN=worker\""), "worker");
  // Non-SPIFFE URIs are not identities.
  EXPECT_EQ(*IdentityFromXfcc("URI=https://example.com/x;DNS=svc.example"), "svc.example");
}

TEST(XfccIdentityTest, RefusesElementsThatNameNobodyOrTwoSpiffeIds) {
  EXPECT_EQ(IdentityFromXfcc("By=spiffe://p/a;Hash=abcd;Subject=\"\"").status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(IdentityFromXfcc("URI=spiffe://a/x;URI=spiffe://a/y").status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(XfccIdentityTest, RefusesSpiffeIdsThatCouldEscapeAPattern) {
  for (const char* header :
       {"URI=spiffe://td/ns/payments/../admin", "URI=spiffe://td/ns/payments/%2e%2e/admin",
        "URI=spiffe://td//ns", "URI=spiffe://td/ns/", "URI=spiffe://TD/ns/a", "URI=spiffe:///ns/a",
        "URI=spiffe://td/ns/a?x=1", "URI=spiffe://td/ns/a#f"}) {
    EXPECT_EQ(IdentityFromXfcc(header).status().code(), absl::StatusCode::kUnauthenticated)
        << header;
  }
}

TEST(XfccIdentityTest, RefusesTheReservedAnonymousName) {
  EXPECT_EQ(IdentityFromXfcc("DNS=anonymous").status().code(), absl::StatusCode::kUnauthenticated);
}

TEST(XfccIdentityTest, ReadsTheNamesOfAForwardedCertWhenNoNamesAreGiven) {
  testing::CertSpec spec;
  spec.common_name = "ignored-cn";
  spec.uris = {"spiffe://mesh.test/ns/a/sa/from-cert"};
  absl::StatusOr<testing::KeyAndCert> cert = testing::SelfSignedCert(spec);
  ASSERT_TRUE(cert.ok()) << cert.status();
  std::string encoded;
  for (char c : cert->cert_pem) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_') {
      encoded.push_back(c);
    } else {
      char buffer[4];
      std::snprintf(buffer, sizeof(buffer), "%%%02X", static_cast<unsigned char>(c));
      encoded += buffer;
    }
  }
  absl::StatusOr<std::string> id = IdentityFromXfcc("Hash=ab;Cert=\"" + encoded + "\"");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, "spiffe://mesh.test/ns/a/sa/from-cert");
  EXPECT_EQ(IdentityFromXfcc("Cert=%ZZ").status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(IdentityFromXfcc("Cert=notapem").status().code(), absl::StatusCode::kUnauthenticated);
}

TEST(XfccIdentityTest, ErrorsNeverEchoTheHeader) {
  absl::Status status = IdentityFromXfcc("URI=spiffe://td/secret-looking-value;Bogus=1").status();
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr("secret-looking-value")));
}

TEST(DistinguishedNameTest, ExtractsTheFirstCommonNameWithEscapes) {
  EXPECT_EQ(*CommonNameFromDn("CN=a,O=b"), "a");
  EXPECT_EQ(*CommonNameFromDn("O=b,CN=a,CN=c"), "a");
  EXPECT_EQ(*CommonNameFromDn("cn=lower"), "lower");
  EXPECT_EQ(*CommonNameFromDn("2.5.4.3=oid"), "oid");
  EXPECT_EQ(*CommonNameFromDn("CN=a\\+b+OU=x"), "a+b");
  EXPECT_EQ(*CommonNameFromDn("CN=hex\\41"), "hexA");
  EXPECT_EQ(*CommonNameFromDn("O=no-cn"), "");
  EXPECT_EQ(*CommonNameFromDn(""), "");
  for (const char* bad : {"CN", "CN=a,", "CN=#0403", "CN=a\\", "CN=a\"b", "=a", "CN=a\\q"}) {
    EXPECT_FALSE(CommonNameFromDn(bad).ok()) << bad;
  }
}

TEST(UrlDecodeTest, DecodesPercentEscapesStrictly) {
  EXPECT_EQ(*UrlDecode("a%20b%2Fc"), "a b/c");
  EXPECT_FALSE(UrlDecode("%2").ok());
  EXPECT_FALSE(UrlDecode("%").ok());
  EXPECT_FALSE(UrlDecode("%G0").ok());
}

}  // namespace
}  // namespace tokend::auth
