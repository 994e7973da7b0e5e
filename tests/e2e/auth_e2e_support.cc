#include "tests/e2e/auth_e2e_support.h"

#include <cstdio>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "tests/e2e/http_get.h"

namespace tokend::e2e {
namespace {

testing::CertSpec ServerSpec() {
  testing::CertSpec spec;
  spec.common_name = "tokend";
  spec.dns = {"localhost"};
  spec.ips = {"127.0.0.1"};
  spec.uris = {"spiffe://mesh.test/ns/tokend/sa/tokend"};
  return spec;
}

// "a=\"x\",b=\"y\"" -> {a: x, b: y} (values without escapes, as tokend's labels are).
std::map<std::string, std::string> ParseLabels(std::string_view text) {
  std::map<std::string, std::string> labels;
  for (absl::string_view pair :
       absl::StrSplit(absl::string_view(text.data(), text.size()), "\",", absl::SkipEmpty())) {
    size_t eq = pair.find('=');
    if (eq == absl::string_view::npos) continue;
    absl::string_view value = pair.substr(eq + 1);
    absl::ConsumePrefix(&value, "\"");
    absl::ConsumeSuffix(&value, "\"");
    labels[std::string(pair.substr(0, eq))] = std::string(value);
  }
  return labels;
}

}  // namespace

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string AuthCerts::WriteAtomically(const std::string& name, const std::string& content) const {
  const std::string tmp = dir_.Write(name + ".tmp", content);
  const std::string path = dir_.File(name);
  std::rename(tmp.c_str(), path.c_str());
  return path;
}

absl::StatusOr<std::unique_ptr<AuthCerts>> AuthCerts::Create() {
  std::unique_ptr<AuthCerts> certs(new AuthCerts());
  absl::StatusOr<std::unique_ptr<testing::TestCa>> ca = testing::TestCa::Create("mesh test CA");
  if (!ca.ok()) return ca.status();
  certs->ca_ = *std::move(ca);
  absl::StatusOr<std::unique_ptr<testing::TestCa>> other = testing::TestCa::Create("some other CA");
  if (!other.ok()) return other.status();
  certs->other_ca_ = *std::move(other);
  certs->ca_path_ = certs->dir_.Write("ca.crt", certs->ca_->cert_pem());
  certs->client_ca_path_ = certs->dir_.Write("client-ca.crt", certs->ca_->cert_pem());
  absl::StatusOr<testing::KeyAndCert> server = certs->ca_->Issue(ServerSpec());
  if (!server.ok()) return server.status();
  certs->server_cert_path_ = certs->dir_.Write("server.crt", server->cert_pem);
  certs->server_key_path_ = certs->dir_.Write("server.key", server->key_pem);
  certs->server_cert_pem_ = server->cert_pem;
  return certs;
}

absl::StatusOr<ClientCert> AuthCerts::Client(const std::string& name, const testing::CertSpec& spec,
                                             testing::TestCa* ca) {
  absl::StatusOr<testing::KeyAndCert> issued = (ca != nullptr ? ca : ca_.get())->Issue(spec);
  if (!issued.ok()) return issued.status();
  ClientCert client;
  client.name = name;
  client.cert_pem = issued->cert_pem;
  client.key_pem = issued->key_pem;
  client.cert_path = dir_.Write(name + ".crt", issued->cert_pem);
  client.key_path = dir_.Write(name + ".key", issued->key_pem);
  return client;
}

absl::StatusOr<ClientCert> AuthCerts::Spiffe(const std::string& name,
                                             const std::string& spiffe_id) {
  testing::CertSpec spec;
  spec.uris = {spiffe_id};
  return Client(name, spec);
}

absl::StatusOr<std::string> AuthCerts::RotateServerCert() {
  absl::StatusOr<testing::KeyAndCert> server = ca_->Issue(ServerSpec());
  if (!server.ok()) return server.status();
  // Key first, then certificate: gRPC's watcher refuses a pair that does not match and keeps
  // the old one until both files agree.
  WriteAtomically("server.key", server->key_pem);
  WriteAtomically("server.crt", server->cert_pem);
  server_cert_pem_ = server->cert_pem;
  return server->cert_pem;
}

std::vector<std::string> AuthCerts::ServerFlags(bool mtls) const {
  std::vector<std::string> flags = {"--tls_cert=" + server_cert_path_,
                                    "--tls_key=" + server_key_path_};
  if (mtls) flags.push_back("--tls_client_ca=" + client_ca_path_);
  return flags;
}

std::unique_ptr<v1::TokenService::Stub> TlsStub(int port, const std::string& ca_pem,
                                                const ClientCert* client) {
  ::grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ca_pem;
  if (client != nullptr) {
    ssl.pem_cert_chain = client->cert_pem;
    ssl.pem_private_key = client->key_pem;
  }
  ::grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("localhost");
  // A private subchannel pool: no connection is shared with another identity's channel.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return v1::TokenService::NewStub(::grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port),
                                                               ::grpc::SslCredentials(ssl), args));
}

std::optional<double> Scrape(int http_port, const std::string& name,
                             const std::map<std::string, std::string>& labels) {
  absl::StatusOr<HttpResponse> response = HttpGet(http_port, "/metrics");
  if (!response.ok() || response->status != 200) return std::nullopt;
  for (absl::string_view line : absl::StrSplit(response->body, '\n')) {
    if (!absl::ConsumePrefix(&line, name)) continue;
    std::map<std::string, std::string> got;
    if (absl::ConsumePrefix(&line, "{")) {
      size_t close = line.find("} ");
      if (close == absl::string_view::npos) continue;
      got = ParseLabels(std::string_view(line.data(), close));
      line.remove_prefix(close + 1);
    } else if (!absl::StartsWith(line, " ")) {
      continue;  // a longer metric name with this prefix
    }
    if (got != labels) continue;
    double value = 0;
    if (absl::SimpleAtod(absl::StripAsciiWhitespace(line), &value)) return value;
  }
  return std::nullopt;
}

}  // namespace tokend::e2e
