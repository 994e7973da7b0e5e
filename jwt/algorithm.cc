#include "jwt/algorithm.h"

namespace tokend::jwt {

std::string_view AlgorithmName(Algorithm alg) {
  switch (alg) {
    case Algorithm::kEdDSA:
      return "EdDSA";
    case Algorithm::kES256:
      return "ES256";
    case Algorithm::kRS256:
      return "RS256";
    case Algorithm::kHS256:
      return "HS256";
  }
  return "";
}

std::optional<Algorithm> AlgorithmFromName(std::string_view name) {
  // Exact match only: "none", "None", "hs256" and friends must never select an algorithm.
  if (name == "EdDSA") return Algorithm::kEdDSA;
  if (name == "ES256") return Algorithm::kES256;
  if (name == "RS256") return Algorithm::kRS256;
  if (name == "HS256") return Algorithm::kHS256;
  return std::nullopt;
}

}  // namespace tokend::jwt
