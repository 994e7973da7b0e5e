#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace tokend::auth {

// The TLS files of the gRPC port (--tls_cert, --tls_key, --tls_client_ca).
struct TlsFiles {
  std::string cert;       // PEM chain, leaf first
  std::string key;        // PEM private key of the leaf
  std::string client_ca;  // PEM bundle of CAs that client certificates must chain to; empty:
                          // no client certificates are requested
  absl::Duration reload_interval = absl::Seconds(10);  // how often the files are re-read
};

// Checks at startup that the files exist and parse and that the key belongs to the
// certificate, so a typo fails fast instead of failing every handshake (gRPC's file watcher
// only logs). FAILED_PRECONDITION naming the file and the problem; never prints key material.
// Later changes are not checked here: gRPC keeps the last good pair when a reload fails.
absl::Status ValidateTlsFiles(const TlsFiles& files);

}  // namespace tokend::auth
