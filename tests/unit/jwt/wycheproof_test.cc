// Wycheproof vectors (C2SP/wycheproof, Apache-2.0), read from ../shared/data/jose-vectors when
// present: every vector's expected result is checked against VerificationKey::VerifySignature
// (raw signature files) or VerifyCompactJws (JWS file).

#include <map>
#include <string>

#include "gtest/gtest.h"
#include "jwt/keys.h"
#include "jwt/verifier.h"
#include "rapidjson/document.h"
#include "tests/unit/jwt/jwt_test_util.h"

namespace tokend::jwt {
namespace {

using testing::HexDecode;
using testing::JsonText;
using testing::Str;

// Loads a Wycheproof file, or skips the test when ../shared is not there.
#define LOAD_OR_SKIP(doc, name)                                                            \
  rapidjson::Document doc;                                                                 \
  do {                                                                                     \
    const std::string path =                                                               \
        testing::SourceDir() + "/../shared/data/jose-vectors/wycheproof/" + (name);        \
    std::optional<std::string> text = testing::ReadFile(path);                             \
    if (!text.has_value()) GTEST_SKIP() << "Wycheproof vectors not available at " << path; \
    doc.Parse(text->c_str());                                                              \
    ASSERT_FALSE(doc.HasParseError()) << path;                                             \
  } while (false)

struct Tally {
  int valid = 0;
  int invalid = 0;
  int acceptable = 0;
};

// Checks every test of every group against `key_of(group)`; returns counts for sanity checks.
template <typename KeyFn>
Tally CheckSignatureFile(const rapidjson::Document& doc, KeyFn key_of, bool all_must_fail) {
  Tally tally;
  for (const auto& group : doc["testGroups"].GetArray()) {
    absl::StatusOr<VerificationKey> key = key_of(group);
    EXPECT_TRUE(key.ok()) << key.status();
    if (!key.ok()) continue;
    for (const auto& test : group["tests"].GetArray()) {
      const std::string result = Str(test, "result");
      const bool accepted =
          key->VerifySignature(HexDecode(Str(test, "msg")), HexDecode(Str(test, "sig")));
      const std::string where =
          "tcId " + std::to_string(test["tcId"].GetInt()) + " (" + Str(test, "comment") + ")";
      if (all_must_fail) {
        EXPECT_FALSE(accepted) << where;
      } else if (result == "valid") {
        EXPECT_TRUE(accepted) << where;
      } else if (result == "invalid") {
        EXPECT_FALSE(accepted) << where;
      }
      if (result == "valid") ++tally.valid;
      if (result == "invalid") ++tally.invalid;
      if (result == "acceptable") ++tally.acceptable;
    }
  }
  return tally;
}

TEST(WycheproofTest, Ed25519) {
  LOAD_OR_SKIP(doc, "ed25519_test.json");
  Tally t = CheckSignatureFile(
      doc,
      [](const rapidjson::Value& group) {
        // Load through both entry points and require they agree on the key.
        absl::StatusOr<VerificationKey> pem =
            VerificationKey::FromPublicPem(Str(group, "publicKeyPem"));
        absl::StatusOr<VerificationKey> jwk =
            VerificationKey::FromJwk(JsonText(group["publicKeyJwk"]));
        EXPECT_TRUE(pem.ok() && jwk.ok());
        if (pem.ok() && jwk.ok()) {
          EXPECT_EQ(pem->Thumbprint(), jwk->Thumbprint());
        }
        return pem;
      },
      /*all_must_fail=*/false);
  EXPECT_GT(t.valid, 10);
  EXPECT_GT(t.invalid, 50);
}

TEST(WycheproofTest, EcdsaP256P1363IsTheEs256Format) {
  LOAD_OR_SKIP(doc, "ecdsa_secp256r1_sha256_p1363_test.json");
  Tally t = CheckSignatureFile(
      doc,
      [](const rapidjson::Value& group) {
        return VerificationKey::FromPublicPem(Str(group, "publicKeyPem"));
      },
      /*all_must_fail=*/false);
  EXPECT_GT(t.valid, 50);
  EXPECT_GT(t.invalid, 50);
}

TEST(WycheproofTest, EcdsaP256DerSignaturesAreNeverEs256Signatures) {
  LOAD_OR_SKIP(doc, "ecdsa_secp256r1_sha256_test.json");
  Tally t = CheckSignatureFile(
      doc,
      [](const rapidjson::Value& group) {
        return VerificationKey::FromPublicPem(Str(group, "publicKeyPem"));
      },
      /*all_must_fail=*/true);
  EXPECT_GT(t.valid, 50) << "valid DER signatures must still be refused";
}

TEST(WycheproofTest, RsaPkcs1v15Sha256With2048BitKeys) {
  LOAD_OR_SKIP(doc, "rsa_signature_2048_sha256_test.json");
  Tally t = CheckSignatureFile(
      doc,
      [](const rapidjson::Value& group) {
        absl::StatusOr<VerificationKey> pem =
            VerificationKey::FromPublicPem(Str(group, "publicKeyPem"));
        absl::StatusOr<VerificationKey> jwk = VerificationKey::FromJwk(JsonText(group["keyJwk"]));
        EXPECT_TRUE(jwk.ok()) << jwk.status();
        if (pem.ok() && jwk.ok()) {
          EXPECT_EQ(pem->Thumbprint(), jwk->Thumbprint());
        }
        return pem;
      },
      /*all_must_fail=*/false);
  EXPECT_GT(t.valid, 5);
  EXPECT_GT(t.invalid, 100);
}

// Vectors whose Wycheproof label contradicts RFC 7515 in this snapshot; tokend follows the RFC and
// the test asserts its behaviour explicitly.
//  - 367, 370 ("invalidBase64Padding*") are byte-identical to tcId 357 ("ValidMac", valid): a
//    canonical compact JWS with a correct MAC; the label bug is C2SP/wycheproof issue #236.
//  - 372, 373 ("InvalidCharacterInserted*") contain '?', outside the base64url alphabet; RFC 7515
//    §2 and §5.2 forbid any additional characters, so they must be rejected despite "valid".
const std::map<int, bool>& JwsLabelOverrides() {
  static const auto* overrides =
      new std::map<int, bool>{{367, true}, {370, true}, {372, false}, {373, false}};
  return *overrides;
}

// JWS vectors: groups for algorithms tokend does not implement (RS384, PS256, ES512, ...) and
// keys marked for encryption must fail to load or fail to verify; the rest must match exactly.
TEST(WycheproofTest, JsonWebSignature) {
  LOAD_OR_SKIP(doc, "json_web_signature_test.json");
  int checked_valid = 0;
  int checked_invalid = 0;
  for (const auto& group : doc["testGroups"].GetArray()) {
    const bool has_public = group.HasMember("public");
    absl::StatusOr<VerificationKey> key = absl::UnknownError("unset");
    if (has_public) {
      key = VerificationKey::FromJwk(JsonText(group["public"]));
    } else {
      absl::StatusOr<SigningKey> secret = SigningKey::FromJwk(JsonText(group["private"]));
      if (secret.ok()) {
        key = secret->verification_key();
      } else {
        key = secret.status();
      }
    }
    const std::string jwk_alg = Str(group[has_public ? "public" : "private"], "alg");
    const bool supported = jwk_alg == "HS256" || jwk_alg == "ES256" || jwk_alg == "RS256";
    if (supported) {
      EXPECT_TRUE(key.ok()) << jwk_alg << ": " << key.status();
    }
    for (const auto& test : group["tests"].GetArray()) {
      const std::string where =
          "tcId " + std::to_string(test["tcId"].GetInt()) + " (" + Str(test, "comment") + ")";
      // Some vectors use the JSON serialization (an object, or a string holding one); tokend
      // only speaks the compact form, so those can never be accepted.
      const std::string jws = test["jws"].IsString() ? Str(test, "jws") : JsonText(test["jws"]);
      const bool accepted = key.ok() && VerifyCompactJws(jws, *key).ok();
      const std::string result = Str(test, "result");
      auto override_it = JwsLabelOverrides().find(test["tcId"].GetInt());
      if (override_it != JwsLabelOverrides().end()) {
        EXPECT_EQ(accepted, override_it->second) << "label override " << where;
        continue;
      }
      if (result == "valid" && supported && jws.front() != '{') {
        EXPECT_TRUE(accepted) << jwk_alg << " " << where;
        ++checked_valid;
      } else if (result == "valid") {
        EXPECT_FALSE(accepted) << "unsupported form or algorithm accepted: " << jwk_alg << " "
                               << where;
      } else {
        EXPECT_FALSE(accepted) << jwk_alg << " " << where;
        ++checked_invalid;
      }
    }
  }
  EXPECT_GT(checked_valid, 5);
  EXPECT_GT(checked_invalid, 100);
}

}  // namespace
}  // namespace tokend::jwt
