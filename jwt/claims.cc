#include "jwt/claims.h"

#include <algorithm>
#include <array>
#include <string_view>

namespace tokend::jwt {

bool IsRegisteredClaimName(std::string_view name) {
  static constexpr std::array<std::string_view, 10> kRegistered = {
      "iss", "sub", "aud", "exp", "nbf", "iat", "jti", "client_id", "scope", "sid"};
  return std::find(kRegistered.begin(), kRegistered.end(), name) != kRegistered.end();
}

}  // namespace tokend::jwt
