#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace tokend::testing {

// What a test certificate says. Validity is relative to the moment it is made, so no
// certificate in a test has a calendar expiry.
struct CertSpec {
  std::string common_name;
  std::vector<std::string> uris;                // URI SANs, e.g. spiffe://mesh.test/ns/a/sa/b
  std::vector<std::string> dns;                 // DNS SANs
  std::vector<std::string> ips;                 // IP SANs
  absl::Duration not_before = -absl::Hours(1);  // from now
  absl::Duration lifetime = absl::Hours(24);    // from not_before
};

// A PEM private key (PKCS#8) and its PEM certificate.
struct KeyAndCert {
  std::string key_pem;
  std::string cert_pem;
};

// A throwaway certificate authority made with OpenSSL at test time (EC P-256, SHA-256): its
// own self-signed certificate and leaf certificates for TLS servers and clients (both
// serverAuth and clientAuth). Not thread-safe.
class TestCa {
 public:
  static absl::StatusOr<std::unique_ptr<TestCa>> Create(const std::string& name);
  ~TestCa();
  TestCa(const TestCa&) = delete;
  TestCa& operator=(const TestCa&) = delete;

  const std::string& cert_pem() const { return cert_pem_; }
  absl::StatusOr<KeyAndCert> Issue(const CertSpec& spec);

 private:
  TestCa() = default;
  struct State;
  std::unique_ptr<State> state_;
  std::string cert_pem_;
};

// A self-signed leaf (its own issuer), for parsing tests that need no chain.
absl::StatusOr<KeyAndCert> SelfSignedCert(const CertSpec& spec);

}  // namespace tokend::testing
