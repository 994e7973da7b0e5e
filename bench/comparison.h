#pragma once

// The interface between jwt_bench and the third-party JWT libraries it compares against
// (Debian's libjwt and cpp-jwt). Plain standard types only: the comparison TUs are compiled
// WITHOUT the repository's include path, because cpp-jwt's <jwt/jwt.hpp> and our "jwt/..."
// folder share a name, and keeping the two apart is simpler than reasoning about search order.

#include <cstdint>
#include <string>
#include <vector>

namespace tokend::bench {

// The typical access token of the benchmark, and the key it is signed with, in plain types.
struct TokenSpec {
  std::string alg;          // "ES256", "RS256" or "HS256"
  std::string kid;          // our kid, written in the header where the library allows it
  std::string private_pem;  // PKCS#8 PEM; empty for HS256
  std::string public_pem;   // SubjectPublicKeyInfo PEM; empty for HS256
  std::string hmac_secret;  // HS256 only (raw bytes)
  std::string issuer;
  std::string subject;
  std::string audience;
  std::string jwt_id;
  std::string client_id;
  std::string scope;           // space-separated
  std::string required_scope;  // one scope a verifier demands
  std::string store_id;        // the custom claim
  int64_t issued_at = 0;       // Unix seconds
  int64_t not_before = 0;
  int64_t expires_at = 0;
  int64_t now = 0;  // a fixed instant inside [not_before, expires_at)
};

// A JWT library under comparison. Sign mints the typical token; Verify performs the complete
// decode + signature + claim checks (alg pinned, exp, nbf, iss, aud, required scope) that a
// resource server needs. Both return false and fill *error (no key material) on failure.
struct ComparisonLibrary {
  const char* name;  // "libjwt", "cppjwt"
  bool (*supports)(const std::string& alg);
  bool (*sign)(const TokenSpec& spec, std::string* token, std::string* error);
  bool (*verify)(const TokenSpec& spec, const std::string& token, std::string* error);
};

// libjwt 1.10 (C, jansson): HS256, RS256, ES256; no EdDSA.
const ComparisonLibrary& Libjwt();
// cpp-jwt 1.4 (header-only, nlohmann::json): HS256, RS256, ES256; no EdDSA.
const ComparisonLibrary& CppJwt();

// The libraries this build has (a build without libjwt-dev or libcpp-jwt-dev compares with
// fewer; CMake says which it found). Order: libjwt, cpp-jwt.
std::vector<const ComparisonLibrary*> ComparisonLibraries();

// True when `scope` (space-separated) contains `wanted` as a whole word.
bool ScopeContains(const std::string& scope, const std::string& wanted);

}  // namespace tokend::bench
