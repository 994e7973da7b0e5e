#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "tests/e2e/tokend_process.h"
#include "tests/testing/test_certs.h"
#include "tokend/v1/token_service.grpc.pb.h"

namespace tokend::e2e {

// A client certificate on disk.
struct ClientCert {
  std::string name;
  std::string cert_path;
  std::string key_path;
  std::string cert_pem;
  std::string key_pem;
};

// The certificates of one auth test, made at test time with OpenSSL and written to a scratch
// directory: a mesh CA, a server certificate for "localhost" / 127.0.0.1 signed by it, an
// unrelated CA, and client certificates on demand. Not thread-safe.
class AuthCerts {
 public:
  static absl::StatusOr<std::unique_ptr<AuthCerts>> Create();

  // A client certificate signed by the mesh CA (or `ca`), written as <name>.crt/.key.
  absl::StatusOr<ClientCert> Client(const std::string& name, const testing::CertSpec& spec,
                                    testing::TestCa* ca = nullptr);
  // Shorthand: a certificate whose only name is the SPIFFE ID `spiffe_id`.
  absl::StatusOr<ClientCert> Spiffe(const std::string& name, const std::string& spiffe_id);

  // Re-issues the server certificate (a new serial and key) and swaps both files atomically;
  // returns the new certificate PEM.
  absl::StatusOr<std::string> RotateServerCert();

  // --tls_cert, --tls_key and (mtls) --tls_client_ca.
  std::vector<std::string> ServerFlags(bool mtls = true) const;

  testing::TestCa& ca() { return *ca_; }
  testing::TestCa& other_ca() { return *other_ca_; }
  const ScratchDir& dir() const { return dir_; }
  const std::string& ca_path() const { return ca_path_; }
  const std::string& client_ca_path() const { return client_ca_path_; }
  const std::string& server_cert_pem() const { return server_cert_pem_; }

  // Writes `content` to `name` in the scratch directory atomically (rename(2)).
  std::string WriteAtomically(const std::string& name, const std::string& content) const;

 private:
  AuthCerts() = default;

  ScratchDir dir_;
  std::unique_ptr<testing::TestCa> ca_;
  std::unique_ptr<testing::TestCa> other_ca_;
  std::string ca_path_;         // the mesh CA: clients trust tokend's certificate with it
  std::string client_ca_path_;  // --tls_client_ca
  std::string server_cert_path_;
  std::string server_key_path_;
  std::string server_cert_pem_;
};

// A stub speaking TLS to 127.0.0.1:port, checking tokend's certificate against `ca_pem` for
// the name "localhost", presenting `client` when given (mutual TLS). Each call makes its own
// channel (and connection).
std::unique_ptr<v1::TokenService::Stub> TlsStub(int port, const std::string& ca_pem,
                                                const ClientCert* client);

// The value of one Prometheus sample on tokend's /metrics, e.g.
// Scrape(port, "tokend_auth_denied_total", {{"reason", "rpc"}, ...}); nullopt if absent.
std::optional<double> Scrape(int http_port, const std::string& name,
                             const std::map<std::string, std::string>& labels = {});

// Reads a whole file ("" if it cannot be read).
std::string ReadAll(const std::string& path);

}  // namespace tokend::e2e
