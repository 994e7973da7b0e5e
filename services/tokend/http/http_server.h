#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "prometheus/registry.h"
#include "services/tokend/http/readiness.h"

struct mg_context;
struct mg_connection;

namespace tokend::http {

// The operational HTTP listener (civetweb), read-only GETs:
//   /metrics                            Prometheus text format of `registry`
//   /healthz                            200 while the process runs
//   /readyz                             200 "ready", or 503 with a JSON body naming the failing
//                                       checks (Readiness::Current, never computed inline)
//   /.well-known/jwks.json              the JWKS; Cache-Control public, max-age; a strong ETag
//                                       (SHA-256 of the body), 304 on a matching If-None-Match
//   /.well-known/openid-configuration   issuer, jwks_uri, signing algorithms in use
// Anything else is 404; methods other than GET/HEAD are 405. Serves no files. Thread-safe: the
// sources must be thread-safe and outlive the server. Does not authenticate anyone: everything
// it serves is public (the JWKS holds public keys only).
class HttpServer {
 public:
  struct Options {
    std::string listen = "127.0.0.1:9090";  // host:port; port 0 picks a free port
    int num_threads = 4;
    std::string issuer;  // for the discovery document
    absl::Duration jwks_max_age = absl::Minutes(10);
  };
  struct Sources {
    prometheus::Registry* registry = nullptr;
    std::function<std::string()> jwks_json;
    std::function<std::vector<std::string>()> signing_algorithms;  // "EdDSA", ...
    const Readiness* readiness = nullptr;
  };

  // Binds and starts serving. UNAVAILABLE if the address cannot be bound, INVALID_ARGUMENT for
  // a malformed address or missing sources.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(Options options, Sources sources);

  ~HttpServer();  // Stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The bound port (the real one when Options::listen asked for port 0).
  int port() const { return port_; }
  // Stops accepting and waits for the handlers running now. Idempotent.
  void Stop();

  // The quoted strong ETag of a body: "\"" + hex(SHA-256(body))[0..32) + "\"", or empty when the
  // digest fails (then no ETag is sent). Public for tests.
  static std::string ETagFor(const std::string& body);
  // Whether an If-None-Match header value ("a", W/"b", *) matches `etag`.
  static bool IfNoneMatchMatches(const std::string& header, const std::string& etag);

 private:
  HttpServer(Options options, Sources sources);

  static int HandleRequest(mg_connection* conn, void* self);
  int Dispatch(mg_connection* conn);
  int ServeMetrics(mg_connection* conn, bool head) const;
  int ServeReadyz(mg_connection* conn, bool head) const;
  int ServeJwks(mg_connection* conn, bool head);
  int ServeDiscovery(mg_connection* conn, bool head);
  void WakeListener() const;

  const Options options_;
  const Sources sources_;
  mg_context* context_ = nullptr;
  int port_ = 0;
};

}  // namespace tokend::http
