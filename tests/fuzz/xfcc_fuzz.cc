// libFuzzer target for the x-forwarded-client-cert surface of tokend::auth: ParseXfcc,
// IdentityFromXfcc, CommonNameFromDn, UrlDecode, TrustedProxies::ContainsPeer and the
// certificate-name path behind a Cert value. Beyond "does not crash", it checks that the
// parser's limits hold and that every identity it yields is one ValidateIdentity accepts.
//
// Seeds: tests/fuzz/corpus/xfcc (what Envoy and Istio send, plus hostile variants).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "services/tokend/auth/identity.h"
#include "services/tokend/auth/trusted_proxies.h"
#include "services/tokend/auth/xfcc.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tokend::auth;  // NOLINT: a fuzz target, not a header
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  auto elements = ParseXfcc(input);
  if (elements.ok()) {
    Check(!elements->empty());
    Check(elements->size() <= XfccLimits::kMaxElements);
    Check(input.size() <= XfccLimits::kMaxHeaderBytes);
    for (const XfccElement& element : *elements) {
      for (const std::string& uri : element.uris) Check(!uri.empty());
      for (const std::string& dns : element.dns) Check(!dns.empty());
    }
  }
  auto identity = IdentityFromXfcc(input);
  if (identity.ok()) {
    Check(elements.ok());  // an identity only from a header that parses
    Check(ValidateIdentity(*identity).ok());
  } else {
    Check(identity.status().code() == absl::StatusCode::kUnauthenticated);
  }

  (void)CommonNameFromDn(input);
  (void)UrlDecode(input);
  (void)IsValidSpiffeId(input);

  static const TrustedProxies* proxies = [] {
    auto parsed = TrustedProxies::Parse({"127.0.0.1/32", "::1/128", "10.0.0.0/8", "unix"});
    Check(parsed.ok());
    return new TrustedProxies(*parsed);
  }();
  (void)proxies->ContainsPeer(input);
  (void)TrustedProxies::Parse({std::string(input)});

  // The PEM path of a forwarded Cert (OpenSSL's parser on arbitrary input).
  auto names = NamesFromCertificatePem(input);
  if (names.ok()) (void)IdentityFromNames(*names);
  return 0;
}
