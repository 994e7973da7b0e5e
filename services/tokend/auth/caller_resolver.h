#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "services/tokend/auth/auth_metrics.h"
#include "services/tokend/auth/identity.h"
#include "services/tokend/auth/trusted_proxies.h"

namespace tokend::auth {

// What the transport knows about one call, independent of gRPC's types.
struct ConnectionFacts {
  std::string_view peer;  // gRPC's peer string: "ipv4:127.0.0.1:5000", "ipv6:[::1]:5000", ...
  // Every x-forwarded-client-cert header value of the call (normally none or one).
  std::vector<std::string_view> forwarded_cert_headers;
  // The PEM certificate of a peer the TLS handshake authenticated; unset otherwise.
  std::optional<std::string_view> peer_certificate_pem;
};

// Names the caller of one call:
//   1. With forwarded certificates trusted (--trust_forwarded_client_cert) and the header
//      present: only from a trusted proxy (else UNAUTHENTICATED: someone is trying to speak
//      for another), exactly one header, parsed strictly (IdentityFromXfcc); the identity is
//      that of the client the nearest proxy verified.
//   2. Else the verified client certificate of the connection (IdentityFromNames).
//   3. Else anonymous.
// With forwarded certificates not trusted, the header is ignored altogether: it carries no
// meaning then, and is not worth refusing a call over. Never echoes header content.
// Immutable, thread-safe.
class CallerResolver {
 public:
  enum class ForwardedCerts { kIgnore, kTrustFromProxies };

  CallerResolver(ForwardedCerts forwarded, TrustedProxies proxies);

  // On failure, `*reason` (if given) says which DenyReason to count.
  absl::StatusOr<CallerIdentity> Resolve(const ConnectionFacts& facts,
                                         DenyReason* reason = nullptr) const;

 private:
  const ForwardedCerts forwarded_;
  const TrustedProxies proxies_;
};

}  // namespace tokend::auth
