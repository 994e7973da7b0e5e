#include "jwt/internal/ecdsa_signature.h"

#include <string>

#include "gtest/gtest.h"
#include "jwt/keys.h"
#include "tests/unit/jwt/jwt_test_util.h"

namespace tokend::jwt::internal {
namespace {

using testing::HexDecode;

std::string RawToDer(const std::string& raw) {
  P256DerSignature der;
  if (!P256RawSignatureToDer(raw, der)) return "";
  return std::string(der.view());
}

std::string DerToRaw(const std::string& der) {
  uint8_t raw[kP256RawSignatureBytes];
  if (!P256DerSignatureToRaw(der, raw)) return "";
  return std::string(reinterpret_cast<const char*>(raw), sizeof raw);
}

TEST(EcdsaSignatureTest, EncodesMinimalPositiveDerIntegers) {
  // r = 1 (31 leading zero bytes dropped), s = 0x80.. (a zero byte keeps it positive).
  const std::string r = std::string(31, '\0') + "\x01";
  const std::string s = "\x80" + std::string(31, '\x11');
  const std::string der = RawToDer(r + s);
  EXPECT_EQ(der, HexDecode("3026020101022100") + s);
  EXPECT_EQ(DerToRaw(der), r + s);
}

TEST(EcdsaSignatureTest, AcceptsTheLargestScalarAndRejectsTheOrder) {
  const std::string n =
      HexDecode("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551");
  std::string n_minus_1 = n;
  n_minus_1.back() = '\x50';
  const std::string one = std::string(31, '\0') + "\x01";
  EXPECT_FALSE(RawToDer(n_minus_1 + n_minus_1).empty());
  EXPECT_TRUE(RawToDer(n + one).empty());
  EXPECT_TRUE(RawToDer(one + n).empty());
  EXPECT_TRUE(RawToDer(std::string(32, '\0') + one).empty());
  EXPECT_TRUE(RawToDer(one + std::string(32, '\0')).empty());
  EXPECT_TRUE(RawToDer(one + one + "x").empty());
  EXPECT_TRUE(RawToDer(one).empty());
}

TEST(EcdsaSignatureTest, DerParsingIsStrict) {
  const std::string r = std::string(31, '\0') + "\x05";
  const std::string good = RawToDer(r + r);
  ASSERT_EQ(DerToRaw(good), r + r);
  EXPECT_EQ(DerToRaw(good + std::string(1, '\0')), "");      // trailing byte
  EXPECT_EQ(DerToRaw(HexDecode("3006020105020185")), "");    // negative s
  EXPECT_EQ(DerToRaw(HexDecode("300702020005020105")), "");  // non-minimal r
  EXPECT_EQ(DerToRaw(HexDecode("3006020005020105")), "");    // wrong length
  EXPECT_EQ(DerToRaw(HexDecode("30050201050201")), "");      // truncated
  EXPECT_EQ(DerToRaw("0" + std::string(70, '\x01')), "");    // not a SEQUENCE
  EXPECT_EQ(DerToRaw(HexDecode("3025020101022101") + std::string(32, '\x01')), "");  // 33 bytes
}

TEST(EcdsaSignatureTest, ManySignaturesRoundTripThroughTheConversions) {
  absl::StatusOr<SigningKey> key = SigningKey::Generate(Algorithm::kES256);
  ASSERT_TRUE(key.ok());
  for (int i = 0; i < 300; ++i) {
    const std::string message = "message " + std::to_string(i);
    absl::StatusOr<std::string> sig = key->Sign(message);
    ASSERT_TRUE(sig.ok());
    ASSERT_EQ(sig->size(), 64u);
    EXPECT_EQ(DerToRaw(RawToDer(*sig)), *sig);
    EXPECT_TRUE(key->verification_key().VerifySignature(message, *sig)) << i;
  }
}

}  // namespace
}  // namespace tokend::jwt::internal
