// jwt_bench: sign and full verify of a typical access token, per algorithm, for the tokend JWT
// core beside the bare OpenSSL call on the same bytes and key, Debian's libjwt and cpp-jwt.
// Case names are exact: BM_<Sign|Verify>/<EdDSA|ES256|RS256|HS256>/<tokend|openssl|libjwt|cppjwt>
// (bench/compare.py reads them). Also registers the JSON library comparison (json_bench.cc).

#include <benchmark/benchmark.h>

#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/bench_fixture.h"
#include "bench/comparison.h"
#include "bench/json_bench.h"
#include "jwt/signer.h"
#include "jwt/verifier.h"
#include "jwt/verify_error.h"

namespace tokend::bench {
namespace {

// One operation of a case; false (and *error) stops the run with SkipWithError.
using Operation = std::function<bool(std::string* error)>;

// Registers `name` so that the operation is first checked once; a case whose setup check fails
// still appears in the output, as an error, so compare.py can report it instead of missing it.
void Register(const std::string& name, Operation op) {
  std::string setup_error;
  const bool setup_ok = op(&setup_error);
  if (!setup_ok) {
    std::fprintf(stderr, "jwt_bench: %s: setup check failed: %s\n", name.c_str(),
                 setup_error.c_str());
  }
  benchmark::RegisterBenchmark(
      name.c_str(), [op = std::move(op), setup_ok, setup_error](benchmark::State& state) {
        if (!setup_ok) {
          state.SkipWithError(setup_error.c_str());
          return;
        }
        std::string error;
        for (auto _ : state) {
          if (!op(&error)) {
            state.SkipWithError(error.c_str());
            break;
          }
        }
        state.SetItemsProcessed(state.iterations());
      });
}

void RegisterCase(const BenchFixture& fixture, const AlgorithmCase& c) {
  const std::string sign = absl::StrCat("BM_Sign/", c.name, "/");
  const std::string verify = absl::StrCat("BM_Verify/", c.name, "/");

  // The core: SignAccessToken serializes the claims, encodes and signs.
  Register(sign + "tokend", [&fixture, &c](std::string* error) {
    absl::StatusOr<std::string> token = jwt::SignAccessToken(fixture.claims(), *c.signing_key);
    if (!token.ok()) {
      *error = token.status().ToString();
      return false;
    }
    benchmark::DoNotOptimize(token->data());
    return true;
  });
  // Bare OpenSSL over the same signing input.
  Register(sign + "openssl", [&c](std::string* error) {
    absl::StatusOr<std::string> signature = c.baseline->Sign(c.signing_input);
    if (!signature.ok()) {
      *error = signature.status().ToString();
      return false;
    }
    benchmark::DoNotOptimize(signature->data());
    return true;
  });
  std::vector<std::pair<const ComparisonLibrary*, std::string>> libraries;
  for (const ComparisonLibrary* library : ComparisonLibraries()) {
    if (!library->supports(c.name)) continue;
    std::string own_token;
    std::string error;
    if (!library->sign(c.spec, &own_token, &error)) {
      std::fprintf(stderr, "jwt_bench: %s cannot sign %s: %s\n", library->name, c.name.c_str(),
                   error.c_str());
    }
    libraries.emplace_back(library, std::move(own_token));
    Register(sign + library->name, [library, &c](std::string* error) {
      std::string token;
      if (!library->sign(c.spec, &token, error)) return false;
      benchmark::DoNotOptimize(token.data());
      return true;
    });
  }

  // The core: the full VerifyAndDecode (size, split, header, alg, kid, signature, typ, payload,
  // exp/nbf/iat, iss, aud, scope) at a fixed `now` inside the validity window.
  Register(verify + "tokend", [&fixture, &c](std::string* error) {
    absl::StatusOr<jwt::VerifiedJwt> verified = c.verifier->VerifyAndDecode(
        c.token, fixture.key_set(), fixture.expectations(), fixture.now());
    if (!verified.ok()) {
      *error = verified.status().ToString();
      return false;
    }
    benchmark::DoNotOptimize(verified->subject().data());
    return true;
  });
  Register(verify + "openssl", [&c](std::string* error) {
    if (!c.baseline->Verify(c.signing_input, c.bare_signature)) {
      *error = "bare OpenSSL verification failed";
      return false;
    }
    return true;
  });
  // Each library verifies a token it minted itself with the same claims and key (header
  // typ "JWT" instead of "at+jwt": libjwt 1.10 cannot write another typ and cpp-jwt refuses
  // any other on decode), so every verifier reads a token of the same size and shape.
  for (const auto& [library, own_token] : libraries) {
    Register(verify + library->name, [library, &c, token = own_token](std::string* error) {
      return library->verify(c.spec, token, error);
    });
  }

  // Where the core's time goes (diagnostics, not targets): each stage adds one layer.
  //   openssl_ctxcopy  bare OpenSSL from a context initialized once (the floor with caching)
  //   key_sign         SigningKey::Sign of the signing input (+ ES256 DER -> raw r||s)
  //   compact_jws      SignCompactJws of the token's header and payload (+ base64url, joins)
  //   (BM_Sign/../tokend then adds the claims and header serialization of SignAccessToken)
  const std::string sign_stage = absl::StrCat("BM_SignStage/", c.name, "/");
  const std::string verify_stage = absl::StrCat("BM_VerifyStage/", c.name, "/");
  Register(sign_stage + "openssl_ctxcopy", [&c](std::string* error) {
    absl::StatusOr<std::string> signature = c.baseline->SignFromTemplate(c.signing_input);
    if (!signature.ok()) {
      *error = signature.status().ToString();
      return false;
    }
    benchmark::DoNotOptimize(signature->data());
    return true;
  });
  Register(sign_stage + "key_sign", [&c](std::string* error) {
    absl::StatusOr<std::string> signature = c.signing_key->Sign(c.signing_input);
    if (!signature.ok()) {
      *error = signature.status().ToString();
      return false;
    }
    benchmark::DoNotOptimize(signature->data());
    return true;
  });
  Register(sign_stage + "compact_jws", [&c](std::string* error) {
    absl::StatusOr<std::string> token =
        jwt::SignCompactJws(c.header_json, c.payload_json, *c.signing_key);
    if (!token.ok()) {
      *error = token.status().ToString();
      return false;
    }
    benchmark::DoNotOptimize(token->data());
    return true;
  });
  //   openssl_ctxcopy  bare OpenSSL verification from a context initialized once
  //   key_verify       VerificationKey::VerifySignature (+ ES256 raw -> DER); VerifyAndDecode
  //                    then adds splitting, base64url, strict JSON, key lookup and claim checks
  Register(verify_stage + "openssl_ctxcopy", [&c](std::string* error) {
    if (!c.baseline->VerifyFromTemplate(c.signing_input, c.bare_signature)) {
      *error = "bare OpenSSL verification failed";
      return false;
    }
    return true;
  });
  const jwt::VerificationKey* key = fixture.key_set().Find(c.signing_key->kid());
  Register(verify_stage + "key_verify", [key, &c](std::string* error) {
    if (key == nullptr || !key->VerifySignature(c.signing_input, c.raw_signature)) {
      *error = "VerifySignature failed";
      return false;
    }
    return true;
  });
}

// Not a benchmark: whether each library accepts the other's tokens, printed for the record.
void PrintCrossChecks(const BenchFixture& fixture) {
  for (const auto& c : fixture.cases()) {
    for (const ComparisonLibrary* library : ComparisonLibraries()) {
      if (!library->supports(c->name)) continue;
      std::string error;
      const std::string lib_verdict = library->verify(c->spec, c->token, &error)
                                          ? "accepts"
                                          : absl::StrCat("rejects (", error, ")");
      std::string lib_token;
      std::string core_verdict = "n/a (library cannot sign)";
      if (library->sign(c->spec, &lib_token, &error)) {
        absl::StatusOr<jwt::VerifiedJwt> verified = c->verifier->VerifyAndDecode(
            lib_token, fixture.key_set(), fixture.expectations(), fixture.now());
        core_verdict =
            verified.ok() ? "accepts" : absl::StrCat("rejects (", verified.status().message(), ")");
      }
      std::fprintf(stderr, "jwt_bench: interop %s: %s %s the core's token; the core %s its token\n",
                   c->name.c_str(), library->name, lib_verdict.c_str(), core_verdict.c_str());
    }
  }
}

}  // namespace
}  // namespace tokend::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  // The only wall-clock read: tokens are minted relative to it, never to a calendar date.
  absl::StatusOr<std::unique_ptr<tokend::bench::BenchFixture>> fixture =
      tokend::bench::BenchFixture::Create(absl::Now());
  if (!fixture.ok()) {
    std::fprintf(stderr, "jwt_bench: setup failed: %s\n", fixture.status().ToString().c_str());
    return 1;
  }
  for (const auto& c : (*fixture)->cases()) tokend::bench::RegisterCase(**fixture, *c);
  tokend::bench::PrintCrossChecks(**fixture);

  // The JSON comparison runs on the payload the core really produces.
  tokend::bench::RegisterJsonBenchmarks((*fixture)->cases().front()->payload_json);

  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
