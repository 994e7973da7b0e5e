#include "services/tokend/keys/refresh_secret.h"

namespace tokend::keys {

absl::StatusOr<jwt::SecretData> DeriveRefreshDerivationSecret(const Kek& kek) {
  return kek.DeriveSecret(kRefreshDerivationLabel, 32);
}

}  // namespace tokend::keys
