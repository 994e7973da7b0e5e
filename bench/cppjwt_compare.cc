// cpp-jwt 1.4 (Debian's libcpp-jwt-dev) as a comparison point for jwt_bench. This TU is compiled
// WITHOUT the repository's include path, so <jwt/jwt.hpp> and the headers it includes as
// "jwt/..." can only resolve to /usr/include/jwt/, never to our jwt/ folder (see comparison.h).
// cpp-jwt also defines non-inline functions in its headers: include it in this one TU only.

#include <exception>
#include <jwt/jwt.hpp>
#include <string>
#include <system_error>

#include "comparison.h"

namespace tokend::bench {
namespace {

bool Supports(const std::string& alg) { return alg == "HS256" || alg == "RS256" || alg == "ES256"; }

bool Fail(std::string* error, const std::string& what) {
  *error = "cppjwt: " + what;
  return false;
}

bool Sign(const TokenSpec& spec, std::string* token, std::string* error) {
  using namespace jwt::params;  // cpp-jwt's documented style; confined to this function.
  try {
    const std::string& key = spec.alg == "HS256" ? spec.hmac_secret : spec.private_pem;
    // cpp-jwt only accepts typ "JWT" (it rejects "at+jwt" on decode), so its tokens keep that.
    jwt::jwt_object obj{algorithm(spec.alg), secret(key), headers({{"kid", spec.kid}})};
    obj.add_claim("iss", spec.issuer)
        .add_claim("sub", spec.subject)
        .add_claim("aud", spec.audience)
        .add_claim("exp", spec.expires_at)
        .add_claim("iat", spec.issued_at)
        .add_claim("nbf", spec.not_before)
        .add_claim("jti", spec.jwt_id)
        .add_claim("client_id", spec.client_id)
        .add_claim("scope", spec.scope)
        .add_claim("store_id", spec.store_id);
    std::error_code ec;
    *token = obj.signature(ec);
    if (ec) return Fail(error, ec.message());
    return true;
  } catch (const std::exception& e) {
    return Fail(error, e.what());
  }
}

bool Verify(const TokenSpec& spec, const std::string& token, std::string* error) {
  using namespace jwt::params;
  try {
    const std::string& key = spec.alg == "HS256" ? spec.hmac_secret : spec.public_pem;
    std::error_code ec;
    // decode() pins the algorithm list, verifies the signature (parsing the PEM key on every
    // call: cpp-jwt has no pre-parsed key object) and checks exp, nbf (against the system
    // clock), iss and aud.
    auto obj = jwt::decode(token, algorithms({spec.alg}), ec, secret(key), issuer(spec.issuer),
                           aud(spec.audience), verify(true));
    if (ec) return Fail(error, ec.message());
    if (!obj.payload().has_claim("sub")) return Fail(error, "no sub");
    const std::string scope = obj.payload().get_claim_value<std::string>("scope");
    if (!ScopeContains(scope, spec.required_scope)) return Fail(error, "insufficient scope");
    return true;
  } catch (const std::exception& e) {
    return Fail(error, e.what());
  }
}

}  // namespace

const ComparisonLibrary& CppJwt() {
  static const ComparisonLibrary kCppJwt{"cppjwt", &Supports, &Sign, &Verify};
  return kCppJwt;
}

}  // namespace tokend::bench
