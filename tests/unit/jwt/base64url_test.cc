#include "jwt/base64url.h"

#include <string>

#include "gtest/gtest.h"

namespace tokend::jwt {
namespace {

TEST(Base64UrlTest, EncodesRfc4648TestVectorsWithoutPadding) {
  // RFC 4648 §10, in the URL alphabet with padding removed.
  EXPECT_EQ(Base64UrlEncode(""), "");
  EXPECT_EQ(Base64UrlEncode("f"), "Zg");
  EXPECT_EQ(Base64UrlEncode("fo"), "Zm8");
  EXPECT_EQ(Base64UrlEncode("foo"), "Zm9v");
  EXPECT_EQ(Base64UrlEncode("foob"), "Zm9vYg");
  EXPECT_EQ(Base64UrlEncode("fooba"), "Zm9vYmE");
  EXPECT_EQ(Base64UrlEncode("foobar"), "Zm9vYmFy");
}

TEST(Base64UrlTest, UsesTheUrlAlphabet) {
  EXPECT_EQ(Base64UrlEncode(std::string("\xfb\xff\xbf", 3)), "-_-_");
  EXPECT_EQ(*Base64UrlDecode("-_-_"), std::string("\xfb\xff\xbf", 3));
}

TEST(Base64UrlTest, RoundTripsEveryLengthAndByte) {
  std::string data;
  for (int i = 0; i < 300; ++i) {
    data.push_back(static_cast<char>(i * 7 + 3));
    absl::StatusOr<std::string> decoded = Base64UrlDecode(Base64UrlEncode(data));
    ASSERT_TRUE(decoded.ok()) << i;
    EXPECT_EQ(*decoded, data);
  }
}

TEST(Base64UrlTest, RejectsPadding) {
  EXPECT_FALSE(Base64UrlDecode("Zg==").ok());
  EXPECT_FALSE(Base64UrlDecode("Zm8=").ok());
  EXPECT_FALSE(Base64UrlDecode("Zg=").ok());
}

TEST(Base64UrlTest, RejectsTheStandardAlphabet) {
  EXPECT_FALSE(Base64UrlDecode("-_+/").ok());
  EXPECT_FALSE(Base64UrlDecode("ab+c").ok());
  EXPECT_FALSE(Base64UrlDecode("ab/c").ok());
}

TEST(Base64UrlTest, RejectsWhitespaceAndControlBytes) {
  EXPECT_FALSE(Base64UrlDecode("Zm9v Zg").ok());
  EXPECT_FALSE(Base64UrlDecode("Zm9v\nZg").ok());
  EXPECT_FALSE(Base64UrlDecode(" Zm9v").ok());
  EXPECT_FALSE(Base64UrlDecode("Zm9v\r").ok());
  EXPECT_FALSE(Base64UrlDecode(std::string("Zm\0v", 4)).ok());
  EXPECT_FALSE(Base64UrlDecode("Zm9\xc3\xa9").ok());
}

TEST(Base64UrlTest, RejectsImpossibleLength) {
  EXPECT_FALSE(Base64UrlDecode("Z").ok());
  EXPECT_FALSE(Base64UrlDecode("Zm9vY").ok());
}

TEST(Base64UrlTest, RejectsNonZeroTrailingBits) {
  // "Zg" is the only encoding of "f"; "Zh".."Zv" differ only in the unused low 4 bits.
  EXPECT_TRUE(Base64UrlDecode("Zg").ok());
  EXPECT_FALSE(Base64UrlDecode("Zh").ok());
  EXPECT_FALSE(Base64UrlDecode("Zv").ok());
  // "Zm8" is the only encoding of "fo"; the low 2 bits of the last char must be zero.
  EXPECT_TRUE(Base64UrlDecode("Zm8").ok());
  EXPECT_FALSE(Base64UrlDecode("Zm9").ok());
  EXPECT_FALSE(Base64UrlDecode("Zm_").ok());
}

TEST(Base64UrlTest, DecodesEmptyInputToEmptyBytes) {
  absl::StatusOr<std::string> decoded = Base64UrlDecode("");
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE(decoded->empty());
}

}  // namespace
}  // namespace tokend::jwt
