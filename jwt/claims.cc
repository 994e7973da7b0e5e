#include "jwt/claims.h"

#include <array>
#include <string_view>

namespace tokend::jwt {

bool IsRegisteredClaimName(std::string_view name) {
  static constexpr std::array<std::string_view, 10> kRegistered = {
      "iss", "sub", "aud", "exp", "nbf", "iat", "jti", "client_id", "scope", "sid"};
  for (std::string_view registered : kRegistered) {
    if (name == registered) return true;
  }
  return false;
}

}  // namespace tokend::jwt
