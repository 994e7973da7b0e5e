#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "jwt/algorithm.h"

namespace tokend::e2e {

// A fresh private key as PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"), for --signing_key files.
// Minted at test time: no key or token fixture with a calendar expiry lives in the tree.
absl::StatusOr<std::string> GeneratePrivateKeyPem(jwt::Algorithm algorithm);

}  // namespace tokend::e2e
