#include "services/tokend/auth/caller_resolver.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/tokend/auth/xfcc.h"

namespace tokend::auth {

CallerResolver::CallerResolver(ForwardedCerts forwarded, TrustedProxies proxies)
    : forwarded_(forwarded), proxies_(std::move(proxies)) {}

absl::StatusOr<CallerIdentity> CallerResolver::Resolve(const ConnectionFacts& facts,
                                                       DenyReason* reason) const {
  auto fail = [reason](DenyReason why, absl::Status status) -> absl::Status {
    if (reason != nullptr) *reason = why;
    return status;
  };
  if (forwarded_ == ForwardedCerts::kTrustFromProxies && !facts.forwarded_cert_headers.empty()) {
    // Only the proxy in front of tokend may vouch for a client; from anyone else the header is
    // an attempt to borrow an identity.
    if (!proxies_.ContainsPeer(facts.peer)) {
      return fail(DenyReason::kForwardedCert,
                  absl::UnauthenticatedError(
                      "x-forwarded-client-cert is only accepted from a trusted proxy"));
    }
    // Two headers cannot both be the nearest proxy's: refuse rather than pick one.
    if (facts.forwarded_cert_headers.size() != 1) {
      return fail(DenyReason::kForwardedCert,
                  absl::UnauthenticatedError("more than one x-forwarded-client-cert header"));
    }
    absl::StatusOr<std::string> id = IdentityFromXfcc(facts.forwarded_cert_headers.front());
    if (!id.ok()) return fail(DenyReason::kForwardedCert, id.status());
    CallerIdentity caller;
    caller.id = *std::move(id);
    caller.source = IdentitySource::kForwardedCertificate;
    return caller;
  }
  if (facts.peer_certificate_pem.has_value()) {
    absl::StatusOr<CertificateNames> names = NamesFromCertificatePem(*facts.peer_certificate_pem);
    if (!names.ok()) {
      return fail(DenyReason::kUnauthenticated,
                  absl::UnauthenticatedError("the client certificate could not be read"));
    }
    absl::StatusOr<std::string> id = IdentityFromNames(*names);
    if (!id.ok()) return fail(DenyReason::kUnauthenticated, id.status());
    CallerIdentity caller;
    caller.id = *std::move(id);
    caller.source = IdentitySource::kPeerCertificate;
    return caller;
  }
  return CallerIdentity::Anonymous();
}

}  // namespace tokend::auth
