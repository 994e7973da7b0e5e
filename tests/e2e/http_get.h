#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace tokend::e2e {

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
};

// A minimal HTTP/1.1 GET over a raw socket to 127.0.0.1:port ("Connection: close"; the body
// is everything until the server closes). For tests only: no TLS, chunking or redirects.
absl::StatusOr<HttpResponse> HttpGet(int port, const std::string& path,
                                     const std::vector<std::string>& extra_headers = {},
                                     absl::Duration timeout = absl::Seconds(10));

}  // namespace tokend::e2e
