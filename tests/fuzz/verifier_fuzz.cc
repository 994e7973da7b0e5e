// libFuzzer target for the untrusted-input surface of tokend::jwt: JwtVerifier::VerifyAndDecode,
// VerifyCompactJws, Base64UrlDecode, ValidateStrictJsonObject and public JWK import. Beyond "does
// not crash", it checks two properties: base64url decoding is canonical (decode then encode gives
// the input back), and nothing verifies unless the signature is ours.
//
// The keys are the published RFC 7515 / RFC 8037 example keys, so the seed corpus
// (tests/fuzz/corpus/verifier, made by make_seeds.py) holds tokens that really verify. Each input
// is also signed as a payload and as a header with the Ed25519 key, so the fuzzer reaches the
// header, typ and claim checks behind a valid signature.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "jwt/base64url.h"
#include "jwt/json.h"
#include "jwt/key_set.h"
#include "jwt/keys.h"
#include "jwt/signer.h"
#include "jwt/verifier.h"

namespace {

using tokend::jwt::Algorithm;
using tokend::jwt::Expectations;
using tokend::jwt::JwtVerifier;
using tokend::jwt::KeySet;
using tokend::jwt::SigningKey;

// RFC 8037 A.1, RFC 7515 A.3, A.2 and A.1 private keys.
constexpr const char* kPrivateJwks[] = {
    R"({"kty":"OKP","crv":"Ed25519","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",)"
    R"("x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})",
    R"({"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",)"
    R"("y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",)"
    R"("d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"})",
    R"({"kty":"RSA","n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ",)"
    R"("e":"AQAB","d":"Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97IjlA7_GQ5sLKMgvfTeXZx9SE-7YwVol2NXOoAJe46sui395IW_GO-pWJ1O0BkTGoVEn2bKVRUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn439X0M_V51gfpRLI9JYanrC4D4qAdGcopV_0ZHHzQlBjudU2QvXt4ehNYTCBr6XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl_x_jTj3ccPDVZFD9pIuhLhBOneufuBiB4cS98l2SR_RQyGWSeWjnczT0QU91p1DhOVRuOopznQ",)"
    R"("p":"4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdiYrqBdss1l58BQ3KhooKeQTa9AB0Hw_Py5PJdTJNPY8cQn7ouZ2KKDcmnPGBY5t7yLc1QlQ5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc",)"
    R"("q":"uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxaewHgHAjLYsp1ZSe7zFYHj7C6ul7TjeLQeZD_YwD66t62wDmpe_HlB-TnBA-njbglfIsRLtXlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc",)"
    R"("dp":"BwKfV3Akq5_MFZDFZCnW-wzl-CCo83WoZvnLQwCTeDv8uzluRSnm71I3QCLdhrqE2e9YkxvuxdBfpT_PI7Yz-FOKnu1R6HsJeDCjn12Sk3vmAktV2zb34MCdy7cpdTh_YVr7tss2u6vneTwrA86rZtu5Mbr1C1XsmvkxHQAdYo0",)"
    R"("dq":"h_96-mK1R_7glhsum81dZxjTnYynPbZpHziZjeeHcXYsXaaMwkOlODsWa7I9xXDoRwbKgB719rrmI2oKr6N3Do9U0ajaHF-NKJnwgjMd2w9cjz3_-kyNlxAr2v4IKhGNpmM5iIgOS1VZnOZ68m6_pbLBSp3nssTdlqvd0tIiTHU",)"
    R"("qi":"IYd7DHOhrWvxkwPQsRM2tOgrjbcrfvtQJipd-DlcxyVuuM9sQLdgjVk2oy26F0EmpScGLq2MowX7fhd_QJQ3ydy5cY7YIBi87w93IKLEdfnbJtoOPLUW0ITrJReOgo1cq9SbsxYawBgfp_gh6A5603k2-ZQwVK0JKSHuLFkuQ3U"})",
    R"({"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"})",
};

// Verification time used by the seeds (make_seeds.py): exp = kNow + 300.
constexpr int64_t kNow = 1700000000;

struct Fixture {
  std::vector<SigningKey> signers;
  KeySet keys;
  JwtVerifier verifier;
  std::string eddsa_header;
  std::string valid_payload;

  static Fixture* Make() {
    std::vector<SigningKey> signers;
    KeySet keys;
    JwtVerifier::Builder builder;
    builder.ExpectIssuer("https://issuer.test");
    for (const char* jwk : kPrivateJwks) {
      auto key = SigningKey::FromJwk(jwk);
      if (!key.ok() || !keys.Add(key->verification_key()).ok()) std::abort();
      builder.AllowAlgorithm(key->algorithm());
      signers.push_back(*key);
    }
    auto verifier = builder.Build();
    if (!verifier.ok()) std::abort();
    std::string header = R"({"alg":"EdDSA","kid":")" + signers[0].kid() + R"(","typ":"at+jwt"})";
    std::string payload = R"({"iss":"https://issuer.test","aud":"api","exp":)" +
                          std::to_string(kNow + 300) + R"(,"scope":"read"})";
    return new Fixture{std::move(signers), std::move(keys), *std::move(verifier), std::move(header),
                       std::move(payload)};
  }
};

void VerifyToken(const Fixture& f, std::string_view token) {
  const absl::Time now = absl::FromUnixSeconds(kNow);
  (void)f.verifier.VerifyAndDecode(token, f.keys, Expectations::ForAudience("api", {"read"}), now);
  (void)f.verifier.VerifyAndDecode(token, f.keys, Expectations::AnyAudienceForRevocation(), now);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Fixture* fixture = Fixture::Make();
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  VerifyToken(*fixture, input);
  for (const SigningKey& key : fixture->signers) {
    (void)tokend::jwt::VerifyCompactJws(input, key.verification_key());
  }

  auto decoded = tokend::jwt::Base64UrlDecode(input);
  if (decoded.ok() && tokend::jwt::Base64UrlEncode(*decoded) != input) {
    std::abort();  // two encodings of the same bytes would make tokens malleable
  }
  (void)tokend::jwt::ValidateStrictJsonObject(input);
  (void)tokend::jwt::VerificationKey::FromJwk(input);

  // The input as a payload and as a header, under a valid Ed25519 signature.
  const SigningKey& eddsa = fixture->signers[0];
  if (auto token = tokend::jwt::SignCompactJws(fixture->eddsa_header, input, eddsa); token.ok()) {
    VerifyToken(*fixture, *token);
  }
  if (auto token = tokend::jwt::SignCompactJws(input, fixture->valid_payload, eddsa); token.ok()) {
    VerifyToken(*fixture, *token);
  }
  return 0;
}
