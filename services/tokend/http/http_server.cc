#include "services/tokend/http/http_server.h"

#include <civetweb.h>
#include <netdb.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>
#include <thread>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "prometheus/text_serializer.h"
#include "util/log.h"

namespace tokend::http {
namespace {

std::string JsonString(const std::string& text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          (void)std::snprintf(buf, sizeof(buf), "\\u%04x", c);  // 6 bytes + NUL always fit
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out += "\"";
  return out;
}

struct Header {
  const char* name;
  std::string value;
};

// Sends a complete response. `head`: headers only (Content-Length still describes the body).
int Respond(mg_connection* conn, int status, const char* content_type, const std::string& body,
            bool head, const std::vector<Header>& extra = {}) {
  mg_response_header_start(conn, status);
  if (content_type != nullptr) mg_response_header_add(conn, "Content-Type", content_type, -1);
  std::string length = std::to_string(body.size());
  mg_response_header_add(conn, "Content-Length", length.c_str(), -1);
  for (const Header& header : extra) {
    mg_response_header_add(conn, header.name, header.value.c_str(),
                           static_cast<int>(header.value.size()));
  }
  mg_response_header_send(conn);
  if (!head && !body.empty()) mg_write(conn, body.data(), body.size());
  return status;
}

// A Host header fit to echo into a URL: host name or address characters and a port only.
int LogCivetweb(const mg_connection* /*conn*/, const char* message) {
  log::Warning(absl::StrCat("http: ", message));
  return 1;  // handled: civetweb does not print it again
}

}  // namespace

HttpServer::HttpServer(Options options, Sources sources)
    : options_(std::move(options)), sources_(std::move(sources)) {}

HttpServer::~HttpServer() { Stop(); }

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(Options options, Sources sources) {
  if (sources.registry == nullptr || !sources.jwks_json || !sources.signing_algorithms ||
      sources.readiness == nullptr) {
    return absl::InvalidArgumentError("http server: every source is required");
  }
  if (options.listen.empty() || options.listen.find(':') == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("http listen address must be host:port, got \"", options.listen, "\""));
  }
  std::unique_ptr<HttpServer> server(new HttpServer(std::move(options), std::move(sources)));
  mg_init_library(0);
  std::string threads = std::to_string(server->options_.num_threads);
  const char* config[] = {"listening_ports",
                          server->options_.listen.c_str(),
                          "num_threads",
                          threads.c_str(),
                          "request_timeout_ms",
                          "10000",
                          "enable_keep_alive",
                          "yes",
                          nullptr};
  mg_callbacks callbacks;
  std::memset(&callbacks, 0, sizeof(callbacks));
  callbacks.log_message = &LogCivetweb;
  char error_text[256] = {0};
  unsigned error_code = 0;
  mg_error_data error;
  error.code = &error_code;
  error.text = error_text;
  error.text_buffer_size = sizeof(error_text);
  mg_init_data init;
  init.callbacks = &callbacks;
  init.user_data = server.get();
  init.configuration_options = config;
  server->context_ = mg_start2(&init, &error);
  if (server->context_ == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("http server cannot listen on ", server->options_.listen, ": ", error_text));
  }
  mg_server_port ports[4];
  std::memset(ports, 0, sizeof(ports));
  int count = mg_get_server_ports(server->context_, 4, ports);
  if (count < 1) return absl::InternalError("http server: no listening port");
  server->port_ = ports[0].port;
  mg_set_request_handler(server->context_, "/", &HttpServer::HandleRequest, server.get());
  return server;
}

void HttpServer::Stop() {
  if (context_ == nullptr) return;
  mg_context* context = context_;
  context_ = nullptr;
  // civetweb's listener polls with a 2 s timeout and notices the stop flag only after it; a
  // connection to the listening port wakes it at once, so shutdown does not stall.
  std::atomic<bool> stopped{false};
  std::thread stopper([context, &stopped] {
    mg_stop(context);
    stopped.store(true);
  });
  while (!stopped.load()) {
    WakeListener();
    for (int i = 0; i < 10 && !stopped.load(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  stopper.join();
}

void HttpServer::WakeListener() const {
  std::string host = options_.listen.substr(0, options_.listen.rfind(':'));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port_).c_str(), &hints, &found) != 0) return;
  for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0) continue;
    bool connected = connect(fd, ai->ai_addr, ai->ai_addrlen) == 0;
    close(fd);
    if (connected) break;
  }
  freeaddrinfo(found);
}

int HttpServer::HandleRequest(mg_connection* conn, void* self) {
  return static_cast<HttpServer*>(self)->Dispatch(conn);
}

int HttpServer::Dispatch(mg_connection* conn) {
  const mg_request_info* info = mg_get_request_info(conn);
  std::string method = info->request_method != nullptr ? info->request_method : "";
  std::string path = info->local_uri != nullptr ? info->local_uri : "";
  bool head = method == "HEAD";
  if (method != "GET" && !head) {
    return Respond(conn, 405, "text/plain", "method not allowed\n", false,
                   {{"Allow", "GET, HEAD"}});
  }
  if (path == "/metrics") return ServeMetrics(conn, head);
  if (path == "/healthz") return Respond(conn, 200, "text/plain", "ok\n", head);
  if (path == "/readyz") return ServeReadyz(conn, head);
  if (path == "/.well-known/jwks.json") return ServeJwks(conn, head);
  if (path == "/.well-known/openid-configuration") return ServeDiscovery(conn, head);
  return Respond(conn, 404, "text/plain", "not found\n", head);
}

int HttpServer::ServeMetrics(mg_connection* conn, bool head) const {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, sources_.registry->Collect());
  return Respond(conn, 200, "text/plain; version=0.0.4; charset=utf-8", out.str(), head);
}

int HttpServer::ServeReadyz(mg_connection* conn, bool head) const {
  Readiness::Result result = sources_.readiness->Current();
  if (result.ready && result.degraded.empty()) {
    return Respond(conn, 200, "text/plain", "ready\n", head);
  }
  auto object = [](const std::vector<std::pair<std::string, std::string>>& entries) {
    std::string out = "{";
    for (size_t i = 0; i < entries.size(); ++i) {
      if (i > 0) out += ",";
      out += JsonString(entries[i].first) + ":" + JsonString(entries[i].second);
    }
    return out + "}";
  };
  std::string body = result.ready ? R"({"ready":true)" : R"({"ready":false,"not_ready":)";
  if (!result.ready) body += object(result.failing);
  if (!result.degraded.empty()) body += R"(,"degraded":)" + object(result.degraded);
  body += "}\n";
  return Respond(conn, result.ready ? 200 : 503, "application/json", body, head,
                 {{"Cache-Control", "no-store"}});
}

int HttpServer::ServeJwks(mg_connection* conn, bool head) {
  std::string body = sources_.jwks_json();
  std::string etag = ETagFor(body);
  std::vector<Header> headers = {
      {"Cache-Control",
       absl::StrCat("public, max-age=", absl::ToInt64Seconds(options_.jwks_max_age))}};
  // No digest, no ETag (and no 304): a made-up tag could answer "unchanged" for a changed set.
  if (!etag.empty()) headers.push_back({"ETag", etag});
  const char* if_none_match = mg_get_header(conn, "If-None-Match");
  if (!etag.empty() && if_none_match != nullptr && IfNoneMatchMatches(if_none_match, etag)) {
    mg_response_header_start(conn, 304);
    for (const Header& header : headers) {
      mg_response_header_add(conn, header.name, header.value.c_str(), -1);
    }
    mg_response_header_send(conn);
    return 304;
  }
  return Respond(conn, 200, "application/jwk-set+json", body, head, headers);
}

int HttpServer::ServeDiscovery(mg_connection* conn, bool head) {
  std::string base;
  if (absl::StartsWith(options_.issuer, "https://") ||
      absl::StartsWith(options_.issuer, "http://")) {
    // An issuer URL is where discovery documents and keys live (OpenID Connect Discovery §4).
    base = std::string(absl::StripSuffix(options_.issuer, "/"));
  } else {
    // From configuration only, never from the request's Host header: the document is served
    // with "public, max-age", so a reflected Host would let one request poison a shared cache.
    const size_t colon = options_.listen.rfind(':');
    const std::string host =
        colon == std::string::npos ? options_.listen : options_.listen.substr(0, colon);
    base = absl::StrCat("http://", host, ":", port_);
  }
  std::string algs;
  for (const std::string& alg : sources_.signing_algorithms()) {
    if (!algs.empty()) algs += ",";
    algs += JsonString(alg);
  }
  std::string body = absl::StrCat("{\"issuer\":", JsonString(options_.issuer),
                                  ",\"jwks_uri\":", JsonString(base + "/.well-known/jwks.json"),
                                  ",\"id_token_signing_alg_values_supported\":[", algs, "]",
                                  ",\"token_signing_alg_values_supported\":[", algs, "]}\n");
  return Respond(conn, 200, "application/json", body, head,
                 {{"Cache-Control",
                   absl::StrCat("public, max-age=", absl::ToInt64Seconds(options_.jwks_max_age))}});
}

std::string HttpServer::ETagFor(const std::string& body) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  unsigned int length = 0;
  if (EVP_Digest(body.data(), body.size(), digest, &length, EVP_sha256(), nullptr) != 1 ||
      length != SHA256_DIGEST_LENGTH) {
    return {};
  }
  static const char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (int i = 0; i < 16; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xf]);
  }
  out.push_back('"');
  return out;
}

bool HttpServer::IfNoneMatchMatches(const std::string& header, const std::string& etag) {
  for (absl::string_view part : absl::StrSplit(header, ',')) {
    absl::string_view tag = absl::StripAsciiWhitespace(part);
    if (tag == "*") return true;
    // If-None-Match uses the weak comparison (RFC 9110 §13.1.2): W/ is ignored.
    absl::ConsumePrefix(&tag, "W/");
    if (tag == etag) return true;
  }
  return false;
}

}  // namespace tokend::http
