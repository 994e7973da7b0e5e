// Interoperability of the JWT core with two independent implementations, PyJWT 2.6 and
// jwcrypto 1.1 (Debian's python3-jwt and python3-jwcrypto), both ways, for every algorithm:
// tokens the core signs must verify there (header typ, kid, claims, audience), tokens they sign
// with our keys (or with keys they generate) must verify here, and their forgeries must not.
// The scripts live beside this file and are found through TOKEND_SOURCE_DIR.

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "jwt/algorithm.h"
#include "jwt/base64url.h"
#include "jwt/claims.h"
#include "jwt/key_set.h"
#include "jwt/keys.h"
#include "jwt/secret_data.h"
#include "jwt/signer.h"
#include "jwt/verifier.h"
#include "jwt/verify_error.h"

namespace tokend::jwt {

// Readable parameter names in gtest (and ctest) output; found by ADL, so outside the
// anonymous namespace.
void PrintTo(Algorithm alg, std::ostream* os) { *os << AlgorithmName(alg); }

namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kPython[] = "/usr/bin/python3";
constexpr char kIssuer[] = "https://issuer.interop.example";
constexpr char kSubject[] = "user-42";
constexpr char kAudience[] = "https://api.interop.example";
constexpr char kJwtId[] = "3f1c9a7e-interop";
constexpr char kClientId[] = "interop-client";
constexpr char kStoreId[] = "store-0042";
constexpr absl::Duration kLifetime = absl::Minutes(10);
// Exit status of the scripts when PyJWT, jwcrypto or cryptography cannot be imported.
constexpr int kModulesMissing = 3;

std::string ShellQuote(const std::string& text) {
  return absl::StrCat("'", absl::StrReplaceAll(text, {{"'", "'\\''"}}), "'");
}

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout; stderr goes to the test log
};

CommandResult RunCommand(const std::string& command) {
  CommandResult result;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  size_t n = 0;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) result.output.append(buffer, n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// PKCS#8 DER -> "BEGIN PRIVATE KEY" PEM, the form PyJWT and jwcrypto read.
std::string PrivateKeyPem(std::string_view der) {
  // Debian's Abseil has its own string_view type: pass a std::string.
  const std::string der_bytes(der);
  const std::string base64 = absl::Base64Escape(der_bytes);
  std::string pem = "-----BEGIN PRIVATE KEY-----\n";
  for (size_t i = 0; i < base64.size(); i += 64) {
    absl::StrAppend(&pem, base64.substr(i, 64), "\n");
  }
  absl::StrAppend(&pem, "-----END PRIVATE KEY-----\n");
  return pem;
}

std::string AlgName(Algorithm alg) { return std::string(AlgorithmName(alg)); }

class InteropTestBase : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* source_dir = std::getenv("TOKEND_SOURCE_DIR");
    ASSERT_NE(source_dir, nullptr) << "TOKEND_SOURCE_DIR is not set; run this test through ctest";
    script_dir_ = absl::StrCat(source_dir, "/tests/interop/");
    std::string pattern = (std::filesystem::temp_directory_path() / "tokend-interop-XXXXXX");
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);  // mode 0700: the files hold private keys
    dir_ = pattern;
    // The independent verifiers read the wall clock, so the tokens are minted against it.
    now_ = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
  }

  void TearDown() override {
    std::error_code ignored;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
  }

  void WriteFile(const std::string& name, std::string_view content) const {
    std::ofstream out(dir_ + "/" + name, std::ios::binary);
    out << content;
    EXPECT_TRUE(out.good()) << "cannot write " << name;
  }

  std::string ReadFile(const std::string& name) const {
    std::ifstream in(dir_ + "/" + name, std::ios::binary);
    std::stringstream content;
    content << in.rdbuf();
    return content.str();
  }

  // A fresh key of the core; writes what the scripts need (see interop_common.py) and
  // expected.json with the claims of Claims() and the key's kid.
  absl::StatusOr<SigningKey> MakeKeyFiles(Algorithm alg) const {
    absl::StatusOr<SigningKey> key = SigningKey::Generate(alg);
    if (!key.ok()) return key.status();
    const SecretData der = key->ExportPrivatePkcs8Der();
    if (alg == Algorithm::kHS256) {
      WriteFile("HS256.secret.b64u", Base64UrlEncode(der.ExposeSecret()));
    } else {
      WriteFile(AlgName(alg) + ".private.pem", PrivateKeyPem(der.ExposeSecret()));
      absl::StatusOr<std::string> jwk = key->verification_key().PublicJwkJson();
      if (!jwk.ok()) return jwk.status();
      WriteFile(AlgName(alg) + ".public.jwk.json", *jwk);
    }
    WriteExpected(key->kid());
    return key;
  }

  JwtClaims Claims() const {
    JwtClaims claims;
    claims.issuer = kIssuer;
    claims.subject = kSubject;
    claims.audiences = {kAudience};
    claims.issued_at = now_;
    claims.not_before = now_;
    claims.expires_at = now_ + kLifetime;
    claims.jwt_id = kJwtId;
    claims.client_id = kClientId;
    claims.scopes = {"openid", "orders:read"};
    claims.custom_claims_json = absl::StrCat(R"({"store_id":")", kStoreId, R"("})");
    return claims;
  }

  void WriteExpected(const std::string& kid) const {
    const int64_t now = absl::ToUnixSeconds(now_);
    WriteFile("expected.json",
              absl::StrCat(R"({"iss":")", kIssuer, R"(","sub":")", kSubject, R"(","aud":")",
                           kAudience, R"(","jti":")", kJwtId, R"(","client_id":")", kClientId,
                           R"(","scope":"openid orders:read","store_id":")", kStoreId,
                           R"(","iat":)", now, R"(,"nbf":)", now, R"(,"exp":)",
                           now + absl::ToInt64Seconds(kLifetime), R"(,"kid":")", kid, R"("})"));
  }

  // Runs a script of tests/interop with /usr/bin/python3; a missing module fails the test
  // with the fix rather than with a confusing verification error.
  CommandResult RunScript(std::string_view script, const std::vector<std::string>& args) const {
    // -B: no __pycache__ in the source tree.
    std::string command =
        absl::StrCat(kPython, " -B ", ShellQuote(script_dir_ + std::string(script)));
    for (const std::string& arg : args) absl::StrAppend(&command, " ", ShellQuote(arg));
    CommandResult result = RunCommand(command);
    EXPECT_NE(result.exit_code, kModulesMissing)
        << kPython << " lacks PyJWT, jwcrypto or cryptography: install Debian's python3-jwt "
        << "python3-jwcrypto python3-cryptography (bash scripts/setup.sh)";
    EXPECT_NE(result.exit_code, 127) << kPython << " not found (bash scripts/setup.sh)";
    return result;
  }

  // A token printed by sign_with_pyjwt.py, or "" (with a test failure).
  std::string SignWithPython(Algorithm alg, std::string_view lib, std::string_view mode) const {
    CommandResult result =
        RunScript("sign_with_pyjwt.py", {"--dir", dir_, "--alg", AlgName(alg), "--lib",
                                         std::string(lib), "--mode", std::string(mode)});
    EXPECT_EQ(result.exit_code, 0) << "sign_with_pyjwt.py " << lib << " " << mode << " failed";
    return std::string(absl::StripAsciiWhitespace(result.output));
  }

  // Verifies as a resource server of kAudience that allows every algorithm would.
  absl::StatusOr<VerifiedJwt> Verify(std::string_view token, const VerificationKey& key) const {
    absl::StatusOr<JwtVerifier> verifier = JwtVerifier::Builder()
                                               .ExpectIssuer(kIssuer)
                                               .AllowAlgorithm(Algorithm::kEdDSA)
                                               .AllowAlgorithm(Algorithm::kES256)
                                               .AllowAlgorithm(Algorithm::kRS256)
                                               .AllowAlgorithm(Algorithm::kHS256)
                                               .Build();
    if (!verifier.ok()) return verifier.status();
    KeySet keys;
    absl::Status added = keys.Add(key);
    if (!added.ok()) return added;
    return verifier->VerifyAndDecode(token, keys,
                                     Expectations::ForAudience(kAudience, {"orders:read"}), now_);
  }

  void ExpectTypicalClaims(const VerifiedJwt& jwt) const {
    EXPECT_EQ(jwt.issuer(), kIssuer);
    EXPECT_EQ(jwt.subject(), kSubject);
    EXPECT_THAT(jwt.audiences(), ElementsAre(kAudience));
    EXPECT_EQ(jwt.jwt_id(), kJwtId);
    EXPECT_EQ(jwt.client_id(), kClientId);
    EXPECT_THAT(jwt.scopes(), ElementsAre("openid", "orders:read"));
    EXPECT_EQ(jwt.issued_at(), now_);
    EXPECT_EQ(jwt.expires_at(), now_ + kLifetime);
    EXPECT_EQ(jwt.not_before(), now_);
    EXPECT_THAT(jwt.payload_json(), HasSubstr(kStoreId));
  }

  std::string script_dir_;
  std::string dir_;
  absl::Time now_;
};

using PythonSetupTest = InteropTestBase;

TEST_F(PythonSetupTest, PythonHasPyJwtJwcryptoAndCryptography) {
  EXPECT_EQ(RunScript("verify_with_pyjwt.py", {"--check-modules"}).exit_code, 0);
}

class PythonInteropTest : public InteropTestBase,
                          public ::testing::WithParamInterface<Algorithm> {};

TEST_P(PythonInteropTest, TokenSignedByCoreVerifiesWithPyJwtAndJwcrypto) {
  absl::StatusOr<SigningKey> key = MakeKeyFiles(GetParam());
  ASSERT_TRUE(key.ok()) << key.status();
  absl::StatusOr<std::string> token = SignAccessToken(Claims(), *key);
  ASSERT_TRUE(token.ok()) << token.status();
  WriteFile(AlgName(GetParam()) + ".token", *token);

  CommandResult result =
      RunScript("verify_with_pyjwt.py", {"--dir", dir_, "--alg", AlgName(GetParam())});
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr("OK " + AlgName(GetParam()) + " pyjwt"));
  EXPECT_THAT(result.output, HasSubstr("OK " + AlgName(GetParam()) + " jwcrypto"));
}

TEST_P(PythonInteropTest, CoreAcceptsTokenSignedByPyJwtWithOurKey) {
  absl::StatusOr<SigningKey> key = MakeKeyFiles(GetParam());
  ASSERT_TRUE(key.ok()) << key.status();
  const std::string token = SignWithPython(GetParam(), "pyjwt", "ours");
  absl::StatusOr<VerifiedJwt> jwt = Verify(token, key->verification_key());
  ASSERT_TRUE(jwt.ok()) << jwt.status();
  EXPECT_EQ(jwt->algorithm(), GetParam());
  EXPECT_EQ(jwt->kid(), key->kid());
  ExpectTypicalClaims(*jwt);
}

TEST_P(PythonInteropTest, CoreAcceptsTokenSignedByJwcryptoWithOurKey) {
  absl::StatusOr<SigningKey> key = MakeKeyFiles(GetParam());
  ASSERT_TRUE(key.ok()) << key.status();
  const std::string token = SignWithPython(GetParam(), "jwcrypto", "ours");
  absl::StatusOr<VerifiedJwt> jwt = Verify(token, key->verification_key());
  ASSERT_TRUE(jwt.ok()) << jwt.status();
  EXPECT_EQ(jwt->kid(), key->kid());
  ExpectTypicalClaims(*jwt);
}

TEST_P(PythonInteropTest, CoreLoadsJwkGeneratedByJwcryptoAndAcceptsItsToken) {
  ASSERT_TRUE(MakeKeyFiles(GetParam()).ok());  // for expected.json only
  const std::string token = SignWithPython(GetParam(), "jwcrypto", "generated");
  const std::string jwk = ReadFile(AlgName(GetParam()) + ".generated.jwk.json");
  // An HS256 JWK is a secret: only SigningKey reads it; the others are public JWKs.
  absl::StatusOr<VerificationKey> key = absl::InternalError("unset");
  if (GetParam() == Algorithm::kHS256) {
    absl::StatusOr<SigningKey> secret = SigningKey::FromJwk(jwk);
    ASSERT_TRUE(secret.ok()) << secret.status();
    key = secret->verification_key();
  } else {
    key = VerificationKey::FromJwk(jwk);
  }
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->kid(), "py-generated");
  EXPECT_EQ(key->algorithm(), GetParam());
  absl::StatusOr<VerifiedJwt> jwt = Verify(token, *key);
  ASSERT_TRUE(jwt.ok()) << jwt.status();
  ExpectTypicalClaims(*jwt);
}

TEST_P(PythonInteropTest, TokenSignedByPyJwtWithAnotherKeyIsBadSignature) {
  absl::StatusOr<SigningKey> key = MakeKeyFiles(GetParam());
  ASSERT_TRUE(key.ok()) << key.status();
  const std::string token = SignWithPython(GetParam(), "pyjwt", "other-key");
  absl::StatusOr<VerifiedJwt> jwt = Verify(token, key->verification_key());
  ASSERT_FALSE(jwt.ok());
  EXPECT_EQ(GetVerifyError(jwt.status()), VerifyError::kBadSignature) << jwt.status();
}

TEST_P(PythonInteropTest, ThumbprintMatchesJwcrypto) {
  absl::StatusOr<SigningKey> key = MakeKeyFiles(GetParam());
  ASSERT_TRUE(key.ok()) << key.status();
  CommandResult result = RunScript("verify_with_pyjwt.py",
                                   {"--dir", dir_, "--alg", AlgName(GetParam()), "--thumbprint"});
  ASSERT_EQ(result.exit_code, 0);
  EXPECT_EQ(absl::StripAsciiWhitespace(result.output), key->verification_key().Thumbprint());
  // A generated key's kid is its RFC 7638 thumbprint.
  EXPECT_EQ(key->kid(), key->verification_key().Thumbprint());
}

INSTANTIATE_TEST_SUITE_P(AllAlgorithms, PythonInteropTest,
                         ::testing::Values(Algorithm::kEdDSA, Algorithm::kES256, Algorithm::kRS256,
                                           Algorithm::kHS256),
                         [](const ::testing::TestParamInfo<Algorithm>& info) {
                           return AlgName(info.param);
                         });

using PythonForgeryTest = InteropTestBase;

TEST_F(PythonForgeryTest, UnsignedTokenFromPyJwtIsRejected) {
  absl::StatusOr<SigningKey> key = MakeKeyFiles(Algorithm::kEdDSA);
  ASSERT_TRUE(key.ok()) << key.status();
  const std::string token = SignWithPython(Algorithm::kEdDSA, "pyjwt", "none");
  ASSERT_TRUE(absl::EndsWith(token, ".")) << "PyJWT's alg none token has an empty signature";

  // As PyJWT makes it: the empty signature segment is already malformed.
  absl::StatusOr<VerifiedJwt> jwt = Verify(token, key->verification_key());
  ASSERT_FALSE(jwt.ok());
  EXPECT_EQ(GetVerifyError(jwt.status()), VerifyError::kMalformed) << jwt.status();

  // With some signature bytes appended, it reaches the alg check: "none" is not an algorithm
  // tokend knows, so it is never in the allow-list.
  jwt = Verify(token + "AAAA", key->verification_key());
  ASSERT_FALSE(jwt.ok());
  EXPECT_EQ(GetVerifyError(jwt.status()), VerifyError::kAlgorithmNotAllowed) << jwt.status();
}

TEST_F(PythonForgeryTest, HmacKeyedWithOurPublicKeyIsRejected) {
  for (Algorithm alg : {Algorithm::kRS256, Algorithm::kES256, Algorithm::kEdDSA}) {
    SCOPED_TRACE(AlgName(alg));
    absl::StatusOr<SigningKey> key = MakeKeyFiles(alg);
    ASSERT_TRUE(key.ok()) << key.status();
    const std::string token = SignWithPython(alg, "pyjwt", "hmac-with-public-pem");
    absl::StatusOr<VerifiedJwt> jwt = Verify(token, key->verification_key());
    ASSERT_FALSE(jwt.ok());
    // The key decides the algorithm: an HS256 header on an asymmetric key's kid is refused
    // before any MAC is computed, even though the verifier allows HS256.
    EXPECT_EQ(GetVerifyError(jwt.status()), VerifyError::kAlgorithmNotAllowed) << jwt.status();
  }
}

}  // namespace
}  // namespace tokend::jwt
