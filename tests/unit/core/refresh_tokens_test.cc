#include "services/tokend/core/refresh_tokens.h"

#include <set>
#include <string>

#include "gtest/gtest.h"
#include "services/tokend/core/request_validation.h"

namespace tokend::core {
namespace {

TEST(RefreshTokensTest, GeneratedTokensHaveTheDocumentedShapeAndDiffer) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    absl::StatusOr<jwt::SecretData> token = GenerateRefreshToken();
    ASSERT_TRUE(token.ok());
    EXPECT_EQ(token->size(), kRefreshTokenLength);
    EXPECT_TRUE(IsWellFormedRefreshToken(token->ExposeSecret()));
    seen.insert(std::string(token->ExposeSecret()));
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST(RefreshTokensTest, DerivationIsDeterministicPerSecretAndParent) {
  const jwt::SecretData secret(std::string(32, 's'));
  const jwt::SecretData other(std::string(32, 't'));
  absl::StatusOr<jwt::SecretData> parent = GenerateRefreshToken();
  absl::StatusOr<jwt::SecretData> parent2 = GenerateRefreshToken();
  ASSERT_TRUE(parent.ok() && parent2.ok());
  absl::StatusOr<jwt::SecretData> a = DeriveChildRefreshToken(secret, parent->ExposeSecret());
  absl::StatusOr<jwt::SecretData> b = DeriveChildRefreshToken(secret, parent->ExposeSecret());
  absl::StatusOr<jwt::SecretData> c = DeriveChildRefreshToken(other, parent->ExposeSecret());
  absl::StatusOr<jwt::SecretData> d = DeriveChildRefreshToken(secret, parent2->ExposeSecret());
  ASSERT_TRUE(a.ok() && b.ok() && c.ok() && d.ok());
  EXPECT_EQ(a->ExposeSecret(), b->ExposeSecret());
  EXPECT_NE(a->ExposeSecret(), c->ExposeSecret());
  EXPECT_NE(a->ExposeSecret(), d->ExposeSecret());
  EXPECT_NE(a->ExposeSecret(), parent->ExposeSecret());
  EXPECT_TRUE(IsWellFormedRefreshToken(a->ExposeSecret()));
}

TEST(RefreshTokensTest, MalformedTokensAreRecognised) {
  const std::string body(43, 'A');
  EXPECT_TRUE(IsWellFormedRefreshToken("rt1." + body));
  EXPECT_FALSE(IsWellFormedRefreshToken(""));
  EXPECT_FALSE(IsWellFormedRefreshToken("rt2." + body));
  EXPECT_FALSE(IsWellFormedRefreshToken("rt1." + body.substr(1)));
  EXPECT_FALSE(IsWellFormedRefreshToken("rt1." + body + "A"));
  EXPECT_FALSE(IsWellFormedRefreshToken("rt1." + body.substr(1) + "+"));
  EXPECT_FALSE(IsWellFormedRefreshToken("rt1." + body.substr(1) + "B")) << "non-canonical tail";
}

TEST(RefreshTokensTest, HashIsSha256) {
  // SHA-256("abc"), FIPS 180-2 B.1.
  absl::StatusOr<std::string> digest = HashRefreshToken("abc");
  ASSERT_TRUE(digest.ok()) << digest.status();
  const std::string& hash = *digest;
  ASSERT_EQ(hash.size(), 32u);
  EXPECT_EQ(static_cast<unsigned char>(hash[0]), 0xba);
  EXPECT_EQ(static_cast<unsigned char>(hash[31]), 0xad);
}

TEST(RequestValidationTest, PrintableUtf8) {
  EXPECT_TRUE(IsPrintableUtf8("plain ascii"));
  EXPECT_TRUE(IsPrintableUtf8("caf\xc3\xa9 \xf0\x9f\x94\x91"));
  EXPECT_FALSE(IsPrintableUtf8("tab\there"));
  EXPECT_FALSE(IsPrintableUtf8(std::string("nul\0", 4)));
  EXPECT_FALSE(IsPrintableUtf8("del\x7f"));
  EXPECT_FALSE(IsPrintableUtf8("c1\xc2\x85"));
  EXPECT_FALSE(IsPrintableUtf8("\xc0\xaf")) << "overlong";
  EXPECT_FALSE(IsPrintableUtf8("\xed\xa0\x80")) << "surrogate";
  EXPECT_FALSE(IsPrintableUtf8("\xe2\x82")) << "truncated";
}

TEST(RequestValidationTest, ScopesFollowRfc6749) {
  EXPECT_TRUE(ValidateScopes({"read", "a:b/c", "x!#[]"}).ok());
  EXPECT_FALSE(ValidateScopes({"has space"}).ok());
  EXPECT_FALSE(ValidateScopes({"quote\""}).ok());
  EXPECT_FALSE(ValidateScopes({"back\\slash"}).ok());
  EXPECT_FALSE(ValidateScopes({"\xc3\xa9"}).ok());
  EXPECT_EQ(DedupScopes({"a", "b", "a"}), (std::vector<std::string>{"a", "b"}));
}

}  // namespace
}  // namespace tokend::core
