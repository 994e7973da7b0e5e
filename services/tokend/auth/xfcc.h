#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tokend::auth {

// One element of an x-forwarded-client-cert header: what one proxy says about the client
// certificate it verified (Envoy's format). Values are unquoted and unescaped.
struct XfccElement {
  std::string by;                 // the proxy's own identity (URI SAN of its certificate)
  std::string hash;               // SHA-256 of the client certificate, hex
  std::string cert;               // the URL-encoded PEM client certificate
  std::string chain;              // the URL-encoded PEM chain
  std::string subject;            // the client certificate's subject DN (RFC 2253), e.g. "CN=a,O=b"
  std::vector<std::string> uris;  // URI SANs (SPIFFE IDs)
  std::vector<std::string> dns;   // DNS SANs
  bool has_subject = false;       // Subject appeared (possibly empty, as Istio sends it)
};

// Bounds on what the parser accepts (a header above them is refused, not truncated).
struct XfccLimits {
  static constexpr size_t kMaxHeaderBytes = size_t{64} * 1024;  // room for a Cert and Chain
  static constexpr size_t kMaxElements = 16;
  static constexpr size_t kMaxPairsPerElement = 32;
};

// Parses Envoy's x-forwarded-client-cert grammar strictly:
//   header  = element *( "," element )
//   element = pair *( ";" pair )
//   pair    = key "=" value
//   key     = By | Hash | Cert | Chain | Subject | URI | DNS   (case-insensitive)
//   value   = quoted / bare
//   quoted  = DQUOTE *( any char but DQUOTE and "\" / "\" DQUOTE / "\" "\" / "\" other ) DQUOTE
//   bare    = *( visible ASCII but DQUOTE "," ";" "\" )
// Inside quotes, "\"" and "\\" are escapes; a backslash before any other character is kept
// as is, so an RFC 2253 escape in a Subject ("CN=a\,b") survives. No whitespace is allowed
// outside quotes and no control character anywhere. By, Hash, Cert, Chain and Subject may
// appear at most once per element; URI and DNS may repeat. Anything else (an unknown key, an
// empty element, a trailing separator, an unterminated quote, a value with a stray quote)
// is INVALID_ARGUMENT: a header a proxy did not produce is refused, never half-read.
// Thread-safe (pure).
absl::StatusOr<std::vector<XfccElement>> ParseXfcc(std::string_view header);

// The identity in an x-forwarded-client-cert header, from its LAST element. Envoy (with
// forward_client_cert_details APPEND_FORWARD or SANITIZE_SET, as Istio configures it) appends
// its own element at the end, describing the client it verified itself; earlier elements
// were written by proxies further away (or by the client) and are only syntax-checked. The
// identity is chosen like a certificate's (IdentityFromNames): the element's SPIFFE URI, else
// its first DNS, else the CN of its Subject, else the names of its Cert. UNAUTHENTICATED for
// a malformed header or an element that names nobody; the message never echoes the header.
absl::StatusOr<std::string> IdentityFromXfcc(std::string_view header);

// The first CN attribute of an RFC 2253 distinguished name ("CN=svc,OU=x,O=y"), with its
// backslash escapes ("\,", "\+", "\22") resolved. Empty string when the DN has no CN.
// INVALID_ARGUMENT for a DN that does not parse (an attribute without "=", a dangling
// escape, a hex-encoded "#..." value).
absl::StatusOr<std::string> CommonNameFromDn(std::string_view dn);

// Percent-decoding as used for XFCC's Cert and Chain. INVALID_ARGUMENT for a bad escape.
absl::StatusOr<std::string> UrlDecode(std::string_view text);

}  // namespace tokend::auth
