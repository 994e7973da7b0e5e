#include "services/tokend/keys/key_ring.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "jwt/base64url.h"
#include "jwt/claims.h"
#include "jwt/signer.h"
#include "jwt/verifier.h"

namespace tokend::keys {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A fresh directory under TEST_TMPDIR or /tmp, removed with its files at the end.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TEST_TMPDIR");
    std::string pattern = absl::StrCat(base != nullptr ? base : "/tmp", "/key_ring_test.XXXXXX");
    path_ = mkdtemp(pattern.data()) != nullptr ? pattern : "";
  }
  ~TempDir() {
    for (const std::string& file : files_) unlink(file.c_str());
    if (!path_.empty()) rmdir(path_.c_str());
  }
  std::string Write(const std::string& name, const std::string& content) {
    const std::string file = absl::StrCat(path_, "/", name);
    std::ofstream(file, std::ios::binary) << content;
    chmod(file.c_str(), 0600);
    files_.push_back(file);
    return file;
  }

 private:
  std::string path_;
  std::vector<std::string> files_;
};

using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

PkeyPtr ToPkey(const jwt::SigningKey& key) {
  const jwt::SecretData der = key.ExportPrivatePkcs8Der();
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.ExposeSecret().data());
  return PkeyPtr(d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(der.size())), EVP_PKEY_free);
}

std::string ToPkcs8Pem(const jwt::SigningKey& key) {
  PkeyPtr pkey = ToPkey(key);
  EXPECT_NE(pkey, nullptr);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  EXPECT_EQ(PEM_write_bio_PrivateKey(bio.get(), pkey.get(), nullptr, nullptr, 0, nullptr, nullptr),
            1);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string Ed25519PrivateJwk(const jwt::SigningKey& key, const std::string& kid) {
  PkeyPtr pkey = ToPkey(key);
  unsigned char d[32], x[32];
  size_t d_len = sizeof(d), x_len = sizeof(x);
  EXPECT_EQ(EVP_PKEY_get_raw_private_key(pkey.get(), d, &d_len), 1);
  EXPECT_EQ(EVP_PKEY_get_raw_public_key(pkey.get(), x, &x_len), 1);
  std::string jwk = absl::StrCat(
      R"({"kty":"OKP","crv":"Ed25519","d":")",
      jwt::Base64UrlEncode(std::string_view(reinterpret_cast<char*>(d), d_len)), R"(","x":")",
      jwt::Base64UrlEncode(std::string_view(reinterpret_cast<char*>(x), x_len)), "\"");
  if (!kid.empty()) absl::StrAppend(&jwk, R"(,"kid":")", kid, "\"");
  return jwk + "}";
}

std::string HmacJwk(bool with_alg) {
  return absl::StrCat(R"({"kty":"oct","k":")", jwt::Base64UrlEncode(std::string(32, 'h')), "\"",
                      with_alg ? R"(,"alg":"HS256")" : "", R"(,"kid":"hmac-1"})");
}

jwt::SigningKey MustGenerate(jwt::Algorithm alg) {
  absl::StatusOr<jwt::SigningKey> key = GenerateSigningKey(alg);
  EXPECT_TRUE(key.ok()) << key.status();
  return *std::move(key);
}

// Signs with `key` and verifies against the ring's published keys.
bool RingVerifies(const KeyRing& ring, const jwt::SigningKey& key) {
  jwt::JwtClaims claims;
  claims.issuer = "iss";
  claims.subject = "sub";
  claims.audiences = {"aud"};
  claims.issued_at = absl::FromUnixSeconds(1'700'000'000);
  claims.expires_at = claims.issued_at + absl::Minutes(5);
  absl::StatusOr<std::string> token = jwt::SignAccessToken(claims, key);
  if (!token.ok()) return false;
  jwt::JwtVerifier::Builder builder;
  builder.ExpectIssuer("iss")
      .AllowAlgorithm(jwt::Algorithm::kEdDSA)
      .AllowAlgorithm(jwt::Algorithm::kES256)
      .AllowAlgorithm(jwt::Algorithm::kRS256)
      .AllowAlgorithm(jwt::Algorithm::kHS256);
  absl::StatusOr<jwt::JwtVerifier> verifier = builder.Build();
  if (!verifier.ok()) return false;
  return verifier
      ->VerifyAndDecode(*token, *ring.VerificationKeys(), jwt::Expectations::ForAudience("aud"),
                        claims.issued_at)
      .ok();
}

TEST(LoadSigningKeyFilesTest, LoadsPemAndJwkFilesInOrder) {
  TempDir dir;
  const jwt::SigningKey es = MustGenerate(jwt::Algorithm::kES256);
  const jwt::SigningKey rs = MustGenerate(jwt::Algorithm::kRS256);
  const jwt::SigningKey ed = MustGenerate(jwt::Algorithm::kEdDSA);
  const jwt::SigningKey ed2 = MustGenerate(jwt::Algorithm::kEdDSA);
  absl::StatusOr<std::vector<jwt::SigningKey>> keys = LoadSigningKeyFiles({
      dir.Write("es.pem", ToPkcs8Pem(es)),
      dir.Write("rs.pem", "\n" + ToPkcs8Pem(rs)),
      dir.Write("ed.jwk", "  " + Ed25519PrivateJwk(ed, "named-kid")),
      dir.Write("ed2.json", Ed25519PrivateJwk(ed2, "")),
      dir.Write("hmac.jwk", HmacJwk(/*with_alg=*/true)),
  });
  ASSERT_TRUE(keys.ok()) << keys.status();
  ASSERT_EQ(keys->size(), 5u);
  EXPECT_EQ((*keys)[0].algorithm(), jwt::Algorithm::kES256);
  EXPECT_EQ((*keys)[0].kid(), es.kid()) << "PEM: the thumbprint";
  EXPECT_EQ((*keys)[1].algorithm(), jwt::Algorithm::kRS256);
  EXPECT_EQ((*keys)[1].kid(), rs.kid());
  EXPECT_EQ((*keys)[2].kid(), "named-kid") << "JWK: its own kid";
  EXPECT_EQ((*keys)[3].kid(), ed2.kid()) << "JWK without kid: the thumbprint";
  EXPECT_EQ((*keys)[4].algorithm(), jwt::Algorithm::kHS256);
  EXPECT_EQ((*keys)[4].kid(), "hmac-1");
}

TEST(LoadSigningKeyFilesTest, HmacJwkNeedsAnExplicitAlg) {
  TempDir dir;
  absl::StatusOr<std::vector<jwt::SigningKey>> keys =
      LoadSigningKeyFiles({dir.Write("hmac.jwk", HmacJwk(/*with_alg=*/false))});
  EXPECT_EQ(keys.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(keys.status().message(), HasSubstr("HS256"));
}

TEST(LoadSigningKeyFilesTest, ErrorsNameTheFileButNeverItsContent) {
  TempDir dir;
  const std::string junk = "this is not a key but a secret-looking-string";
  const std::string junk_file = dir.Write("junk.txt", junk);
  absl::StatusOr<std::vector<jwt::SigningKey>> keys = LoadSigningKeyFiles({junk_file});
  ASSERT_FALSE(keys.ok());
  EXPECT_THAT(keys.status().message(), HasSubstr(junk_file));
  EXPECT_THAT(keys.status().message(), Not(HasSubstr("secret-looking")));

  const std::string bad_pem =
      dir.Write("bad.pem", "-----BEGIN PRIVATE KEY-----\nQUJD\n-----END PRIVATE KEY-----\n");
  keys = LoadSigningKeyFiles({bad_pem});
  ASSERT_FALSE(keys.ok());
  EXPECT_THAT(keys.status().message(), HasSubstr(bad_pem));

  keys = LoadSigningKeyFiles({dir.Write("bad.jwk", R"({"kty":"OKP","crv":"Ed25519"})")});
  EXPECT_FALSE(keys.ok());

  keys = LoadSigningKeyFiles({"/nonexistent/key.pem"});
  EXPECT_FALSE(keys.ok());
  EXPECT_THAT(keys.status().message(), HasSubstr("/nonexistent/key.pem"));

  EXPECT_EQ(LoadSigningKeyFiles({}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(KeyRingTest, FirstKeySignsAndAllVerify) {
  TempDir dir;
  const jwt::SigningKey a = MustGenerate(jwt::Algorithm::kEdDSA);
  const jwt::SigningKey b = MustGenerate(jwt::Algorithm::kES256);
  absl::StatusOr<std::vector<jwt::SigningKey>> loaded = LoadSigningKeyFiles(
      {dir.Write("a.jwk", Ed25519PrivateJwk(a, "")), dir.Write("b.pem", ToPkcs8Pem(b))});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  absl::StatusOr<std::unique_ptr<KeyRing>> ring = KeyRing::FromSigningKeys(*loaded);
  ASSERT_TRUE(ring.ok()) << ring.status();
  EXPECT_EQ((*ring)->ActiveKey().kid(), a.kid());
  EXPECT_EQ((*ring)->VerificationKeys()->size(), 2u);
  EXPECT_NE((*ring)->VerificationKeys()->Find(b.kid()), nullptr);
  EXPECT_TRUE(RingVerifies(**ring, a));
  EXPECT_TRUE(RingVerifies(**ring, b));
  EXPECT_FALSE(RingVerifies(**ring, MustGenerate(jwt::Algorithm::kEdDSA)));
}

TEST(KeyRingTest, RejectsNoKeysAndDuplicateKids) {
  EXPECT_EQ(KeyRing::FromSigningKeys({}).status().code(), absl::StatusCode::kInvalidArgument);
  const jwt::SigningKey a = MustGenerate(jwt::Algorithm::kEdDSA);
  EXPECT_EQ(KeyRing::FromSigningKeys({a, a}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(KeyRingTest, ReplaceSwapsAtomicallyAndOldSnapshotsStayValid) {
  const jwt::SigningKey a = MustGenerate(jwt::Algorithm::kEdDSA);
  const jwt::SigningKey b = MustGenerate(jwt::Algorithm::kEdDSA);
  absl::StatusOr<std::unique_ptr<KeyRing>> ring = KeyRing::FromSigningKeys({a});
  ASSERT_TRUE(ring.ok());
  std::shared_ptr<const jwt::KeySet> before = (*ring)->VerificationKeys();

  // Rotate: b signs, a still verifies.
  ASSERT_TRUE((*ring)->Replace(b, {a.verification_key()}).ok());
  EXPECT_EQ((*ring)->ActiveKey().kid(), b.kid());
  EXPECT_TRUE(RingVerifies(**ring, a));
  EXPECT_TRUE(RingVerifies(**ring, b));
  EXPECT_EQ(before->size(), 1u) << "an old snapshot is immutable";
  EXPECT_NE(before->Find(a.kid()), nullptr);

  // Retire a.
  ASSERT_TRUE((*ring)->Replace(b, {}).ok());
  EXPECT_FALSE(RingVerifies(**ring, a));

  // A kid clash changes nothing.
  absl::StatusOr<jwt::SigningKey> clash =
      jwt::SigningKey::FromHmacSecret(jwt::SecretData(std::string(32, 'x')), b.kid());
  ASSERT_TRUE(clash.ok());
  EXPECT_EQ((*ring)->Replace(b, {clash->verification_key()}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*ring)->ActiveKey().kid(), b.kid());
  EXPECT_TRUE(RingVerifies(**ring, b));
}

TEST(KeyRingTest, ConcurrentReadersNeverSeeAHalfBuiltKeySet) {
  const jwt::SigningKey a = MustGenerate(jwt::Algorithm::kEdDSA);
  const jwt::SigningKey b = MustGenerate(jwt::Algorithm::kEdDSA);
  absl::StatusOr<std::unique_ptr<KeyRing>> ring = KeyRing::FromSigningKeys({a});
  ASSERT_TRUE(ring.ok());
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::atomic<int> reads{0};
  std::thread reader([&] {
    while (!stop || reads < 100) {
      std::shared_ptr<const jwt::KeySet> keys = (*ring)->VerificationKeys();
      const bool has_a = keys->Find(a.kid()) != nullptr;
      const bool has_b = keys->Find(b.kid()) != nullptr;
      if (keys->size() != 1 || has_a == has_b) ++bad;
      ++reads;
    }
  });
  for (int i = 0; i < 500; ++i) {
    ASSERT_TRUE((*ring)->Replace(i % 2 ? a : b, {}).ok());
  }
  stop = true;
  reader.join();
  EXPECT_EQ(bad.load(), 0);
}

}  // namespace
}  // namespace tokend::keys
