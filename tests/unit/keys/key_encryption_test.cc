#include "services/tokend/keys/key_encryption.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "jwt/keys.h"
#include "services/tokend/keys/refresh_secret.h"

namespace tokend::keys {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);

Kek MakeKek(char fill) {
  absl::StatusOr<Kek> kek = Kek::FromBytes(jwt::SecretData(std::string(32, fill)));
  EXPECT_TRUE(kek.ok()) << kek.status();
  return *kek;
}

jwt::SigningKey NewKey(jwt::Algorithm algorithm = jwt::Algorithm::kEdDSA) {
  absl::StatusOr<jwt::SigningKey> key = jwt::SigningKey::Generate(algorithm);
  EXPECT_TRUE(key.ok()) << key.status();
  return *key;
}

storage::SigningKeyRecord Sealed(const Kek& kek, const jwt::SigningKey& key) {
  absl::StatusOr<storage::SigningKeyRecord> record =
      SealNewKeyRecord(kek, key, storage::KeyState::kActive, kT0, "generated");
  EXPECT_TRUE(record.ok()) << record.status();
  return *record;
}

TEST(KekTest, OnlyThirtyTwoByteKeysAreAccepted) {
  EXPECT_EQ(Kek::FromBytes(jwt::SecretData(std::string(31, 'k'))).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Kek::FromBytes(jwt::SecretData(std::string(33, 'k'))).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Kek::FromBytes(jwt::SecretData(std::string(32, 'k'))).ok());
}

TEST(KekTest, IdIsStablePerKeyAndRevealsNoKeyBytes) {
  const Kek a = MakeKek('a');
  EXPECT_EQ(a.id(), MakeKek('a').id());
  EXPECT_NE(a.id(), MakeKek('b').id());
  EXPECT_EQ(a.id().size(), 16u);
  EXPECT_THAT(a.id(), Not(HasSubstr(absl::BytesToHexString(std::string(8, 'a')))));
}

TEST(KekTest, SealedBytesOpenOnlyWithTheSameKekAndAad) {
  const Kek kek = MakeKek('a');
  absl::StatusOr<std::string> envelope = kek.Seal("private bytes", "aad-1");
  ASSERT_TRUE(envelope.ok()) << envelope.status();
  EXPECT_THAT(*envelope, Not(HasSubstr("private bytes")));

  absl::StatusOr<jwt::SecretData> opened = kek.Open(*envelope, "aad-1");
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->ExposeSecret(), "private bytes");

  EXPECT_EQ(MakeKek('b').Open(*envelope, "aad-1").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(kek.Open(*envelope, "aad-2").status().code(), absl::StatusCode::kDataLoss);
  for (size_t i = 0; i < envelope->size(); ++i) {
    std::string tampered = *envelope;
    tampered[i] = static_cast<char>(tampered[i] ^ 0x01);
    EXPECT_FALSE(kek.Open(tampered, "aad-1").ok()) << "byte " << i;
  }
  EXPECT_EQ(kek.Open("", "aad-1").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(kek.Open(envelope->substr(0, 20), "aad-1").status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(KekTest, EverySealUsesAFreshNonce) {
  const Kek kek = MakeKek('a');
  absl::StatusOr<std::string> first = kek.Seal("same", "aad");
  absl::StatusOr<std::string> second = kek.Seal("same", "aad");
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_NE(*first, *second);
}

// HKDF-SHA256 with an empty salt, computed independently from RFC 5869's definition with HMAC.
std::string ReferenceHkdf(const std::string& ikm, const std::string& info, size_t length) {
  unsigned char prk[32];
  unsigned int prk_len = 0;
  const std::string zeros(32, '\0');
  HMAC(EVP_sha256(), zeros.data(), 32, reinterpret_cast<const unsigned char*>(ikm.data()),
       ikm.size(), prk, &prk_len);
  std::string okm;
  std::string previous;
  for (unsigned char counter = 1; okm.size() < length; ++counter) {
    const std::string input = previous + info + std::string(1, static_cast<char>(counter));
    unsigned char block[32];
    unsigned int block_len = 0;
    HMAC(EVP_sha256(), prk, static_cast<int>(prk_len),
         reinterpret_cast<const unsigned char*>(input.data()), input.size(), block, &block_len);
    previous.assign(reinterpret_cast<const char*>(block), block_len);
    okm += previous;
  }
  return okm.substr(0, length);
}

TEST(KekTest, DerivedSecretIsHkdfSha256OfTheKekWithTheLabel) {
  const Kek kek = MakeKek('a');
  absl::StatusOr<jwt::SecretData> derived = DeriveRefreshDerivationSecret(kek);
  ASSERT_TRUE(derived.ok()) << derived.status();
  EXPECT_EQ(derived->size(), 32u);
  EXPECT_EQ(derived->ExposeSecret(),
            ReferenceHkdf(std::string(32, 'a'), "tokend refresh derivation v1", 32));
  absl::StatusOr<jwt::SecretData> other = DeriveRefreshDerivationSecret(MakeKek('b'));
  ASSERT_TRUE(other.ok());
  EXPECT_NE(derived->ExposeSecret(), other->ExposeSecret());
  EXPECT_NE(derived->ExposeSecret(), std::string(32, 'a'));
}

TEST(SigningKeyEnvelopeTest, SealedKeyOpensToTheSameKeyAndHoldsNoPlaintext) {
  const Kek kek = MakeKek('a');
  for (jwt::Algorithm algorithm :
       {jwt::Algorithm::kEdDSA, jwt::Algorithm::kES256, jwt::Algorithm::kRS256}) {
    const jwt::SigningKey key = NewKey(algorithm);
    const storage::SigningKeyRecord record = Sealed(kek, key);
    EXPECT_EQ(record.kid, key.kid());
    EXPECT_EQ(record.kek_id, kek.id());
    const jwt::SecretData der = key.ExportPrivatePkcs8Der();
    EXPECT_THAT(record.encrypted_private_key, Not(HasSubstr(std::string(der.ExposeSecret()))));
    EXPECT_THAT(record.public_jwk_json, Not(HasSubstr("\"d\"")));

    absl::StatusOr<jwt::SigningKey> opened = OpenSigningKey(KekRing(kek), record);
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_EQ(opened->kid(), key.kid());
    absl::StatusOr<std::string> signature = opened->Sign("input");
    ASSERT_TRUE(signature.ok());
    EXPECT_TRUE(key.verification_key().VerifySignature("input", *signature));
  }
}

TEST(SigningKeyEnvelopeTest, WrongKekIsRefusedNamingBothKekIds) {
  const Kek right = MakeKek('a');
  const Kek wrong = MakeKek('b');
  const storage::SigningKeyRecord record = Sealed(right, NewKey());
  absl::StatusOr<jwt::SigningKey> opened = OpenSigningKey(KekRing(wrong), record);
  ASSERT_EQ(opened.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(opened.status().message(), HasSubstr(right.id()));
  EXPECT_THAT(opened.status().message(), HasSubstr(wrong.id()));
  EXPECT_THAT(opened.status().message(), HasSubstr("wrong --kek_file"));
  // A ring that still holds the old KEK opens it (KEK rotation in progress).
  EXPECT_TRUE(OpenSigningKey(KekRing(wrong, {right}), record).ok());
}

TEST(SigningKeyEnvelopeTest, EnvelopeIsBoundToItsKid) {
  const Kek kek = MakeKek('a');
  storage::SigningKeyRecord first = Sealed(kek, NewKey());
  const storage::SigningKeyRecord second = Sealed(kek, NewKey());
  // A database writer swaps the ciphertexts of two keys.
  first.encrypted_private_key = second.encrypted_private_key;
  EXPECT_EQ(OpenSigningKey(KekRing(kek), first).status().code(), absl::StatusCode::kDataLoss);
}

TEST(SigningKeyEnvelopeTest, PrivateKeyMustMatchThePublishedJwk) {
  const Kek kek = MakeKek('a');
  storage::SigningKeyRecord record = Sealed(kek, NewKey());
  const storage::SigningKeyRecord other = Sealed(kek, NewKey());
  record.public_jwk_json = other.public_jwk_json;
  EXPECT_FALSE(OpenSigningKey(KekRing(kek), record).ok());
}

TEST(SigningKeyEnvelopeTest, HmacKeysCannotBeManaged) {
  absl::StatusOr<storage::SigningKeyRecord> record = SealNewKeyRecord(
      MakeKek('a'), NewKey(jwt::Algorithm::kHS256), storage::KeyState::kNext, kT0, "imported");
  EXPECT_EQ(record.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tokend::keys
