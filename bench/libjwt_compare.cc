// libjwt 1.10 (Debian's libjwt-dev) as a comparison point for jwt_bench. Compiled without the
// repository's include path (see comparison.h); <jwt.h> is the system C header.

#include <jwt.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "comparison.h"

namespace tokend::bench {
namespace {

struct JwtFree {
  void operator()(jwt_t* jwt) const { jwt_free(jwt); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtFree>;

jwt_alg_t ToLibjwtAlg(const std::string& alg) {
  if (alg == "HS256") return JWT_ALG_HS256;
  if (alg == "RS256") return JWT_ALG_RS256;
  if (alg == "ES256") return JWT_ALG_ES256;
  return JWT_ALG_INVAL;
}

bool Supports(const std::string& alg) { return ToLibjwtAlg(alg) != JWT_ALG_INVAL; }

bool Fail(std::string* error, const char* what) {
  *error = std::string("libjwt: ") + what;
  return false;
}

bool Sign(const TokenSpec& spec, std::string* token, std::string* error) {
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return Fail(error, "jwt_new failed");
  JwtPtr jwt(raw);
  // libjwt 1.10 always writes "typ":"JWT" itself (a typ header set here is overwritten).
  bool ok = jwt_add_header(jwt.get(), "kid", spec.kid.c_str()) == 0 &&
            jwt_add_grant(jwt.get(), "iss", spec.issuer.c_str()) == 0 &&
            jwt_add_grant(jwt.get(), "sub", spec.subject.c_str()) == 0 &&
            jwt_add_grant(jwt.get(), "aud", spec.audience.c_str()) == 0 &&
            jwt_add_grant_int(jwt.get(), "exp", spec.expires_at) == 0 &&
            jwt_add_grant_int(jwt.get(), "iat", spec.issued_at) == 0 &&
            jwt_add_grant_int(jwt.get(), "nbf", spec.not_before) == 0 &&
            jwt_add_grant(jwt.get(), "jti", spec.jwt_id.c_str()) == 0 &&
            jwt_add_grant(jwt.get(), "client_id", spec.client_id.c_str()) == 0 &&
            jwt_add_grant(jwt.get(), "scope", spec.scope.c_str()) == 0 &&
            jwt_add_grant(jwt.get(), "store_id", spec.store_id.c_str()) == 0;
  if (!ok) return Fail(error, "jwt_add_grant failed");
  const std::string& key = spec.alg == "HS256" ? spec.hmac_secret : spec.private_pem;
  if (jwt_set_alg(jwt.get(), ToLibjwtAlg(spec.alg),
                  reinterpret_cast<const unsigned char*>(key.data()),
                  static_cast<int>(key.size())) != 0) {
    return Fail(error, "jwt_set_alg failed");
  }
  char* out = jwt_encode_str(jwt.get());
  if (out == nullptr) return Fail(error, "jwt_encode_str failed");
  token->assign(out);
  free(out);  // libjwt 1.10 has no jwt_free_str; it allocates with malloc.
  return true;
}

bool Verify(const TokenSpec& spec, const std::string& token, std::string* error) {
  const std::string& key = spec.alg == "HS256" ? spec.hmac_secret : spec.public_pem;
  jwt_t* raw = nullptr;
  // jwt_decode parses the key (PEM) on every call: libjwt 1.10 has no pre-parsed key object.
  if (jwt_decode(&raw, token.c_str(), reinterpret_cast<const unsigned char*>(key.data()),
                 static_cast<int>(key.size())) != 0) {
    return Fail(error, "jwt_decode rejected the token");
  }
  JwtPtr jwt(raw);
  // libjwt 1.10 takes alg from the header and has no claim validation: pin alg and check the
  // claims here, as any caller of it must.
  if (jwt_get_alg(jwt.get()) != ToLibjwtAlg(spec.alg)) return Fail(error, "unexpected alg");
  errno = 0;
  const long exp = jwt_get_grant_int(jwt.get(), "exp");
  if (errno != 0 || spec.now >= exp) return Fail(error, "expired or no exp");
  const long nbf = jwt_get_grant_int(jwt.get(), "nbf");
  if (errno != 0 || spec.now < nbf) return Fail(error, "not yet valid or no nbf");
  const char* iss = jwt_get_grant(jwt.get(), "iss");
  if (iss == nullptr || spec.issuer != iss) return Fail(error, "wrong issuer");
  const char* aud = jwt_get_grant(jwt.get(), "aud");
  if (aud == nullptr || spec.audience != aud) return Fail(error, "wrong audience");
  const char* scope = jwt_get_grant(jwt.get(), "scope");
  if (scope == nullptr || !ScopeContains(scope, spec.required_scope)) {
    return Fail(error, "insufficient scope");
  }
  if (jwt_get_grant(jwt.get(), "sub") == nullptr) return Fail(error, "no sub");
  return true;
}

}  // namespace

const ComparisonLibrary& Libjwt() {
  static const ComparisonLibrary kLibjwt{"libjwt", &Supports, &Sign, &Verify};
  return kLibjwt;
}

}  // namespace tokend::bench
