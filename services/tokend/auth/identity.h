#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tokend::auth {

// Where a caller's identity came from.
enum class IdentitySource {
  kNone,                  // no client certificate and no trusted forwarded one: anonymous
  kPeerCertificate,       // the client certificate verified in this connection's TLS handshake
  kForwardedCertificate,  // x-forwarded-client-cert, from a trusted proxy that verified it
};

// The identity of callers that have none. Reserved: a certificate that names itself
// "anonymous" is refused, so a policy entry `id: anonymous` can only ever mean "no identity".
inline constexpr std::string_view kAnonymousId = "anonymous";

// Who is calling: the string the policy matches and the client_id recorded in tokens. Only
// Anonymous() and the identity resolvers construct one with a source other than kNone.
struct CallerIdentity {
  std::string id = std::string(kAnonymousId);
  IdentitySource source = IdentitySource::kNone;

  bool anonymous() const { return source == IdentitySource::kNone; }
  static CallerIdentity Anonymous() { return {}; }
};

// The names of an X.509 certificate that can identify its holder.
struct CertificateNames {
  std::vector<std::string> uris;  // URI SANs, in certificate order
  std::vector<std::string> dns;   // DNS SANs, in certificate order
  std::string common_name;        // the subject's first CN, or empty
};

// The names of the first certificate in `pem` (a PEM chain: the leaf comes first), read with
// OpenSSL. INVALID_ARGUMENT if there is no parseable certificate. Does not verify anything:
// the TLS handshake (or the trusted proxy) did.
absl::StatusOr<CertificateNames> NamesFromCertificatePem(std::string_view pem);

// The identity a certificate's names establish: its SPIFFE ID (the one URI SAN with the
// spiffe scheme), else its first DNS SAN, else its subject CN. UNAUTHENTICATED when none is
// present, when there is more than one SPIFFE ID, or when the chosen name fails
// ValidateIdentity / IsValidSpiffeId. URI SANs of other schemes are ignored.
absl::StatusOr<std::string> IdentityFromNames(const CertificateNames& names);

// An identity fit for policy matching, logs and the client_id claim: 1..256 bytes of printable
// ASCII (space allowed inside, not at either end), and not the reserved kAnonymousId.
// UNAUTHENTICATED otherwise, without echoing the value.
absl::Status ValidateIdentity(std::string_view id);

// A SPIFFE ID as the SPIFFE spec defines it: "spiffe://" + a trust domain of [a-z0-9.-_] +
// an optional path of "/"-separated non-empty segments of [A-Za-z0-9.-_], none "." or "..",
// no trailing "/", no query or fragment. Checked so that a pattern such as
// "spiffe://td/ns/payments/*" cannot be escaped with "..", "%2F" or a second authority.
bool IsValidSpiffeId(std::string_view id);

}  // namespace tokend::auth
