#pragma once

#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "util/clock.h"

namespace tokend::auth {

class AuthMetrics;

// One security-relevant event. It has no field for a token, a refresh token or a key, and
// nothing should be smuggled into `reason` or `extra`: callers pass status messages (which
// never contain token text, CONVENTIONS §9) and public identifiers (jti, kid, family id).
struct AuditEvent {
  std::string event;    // "issue", "refresh", "revoke", "refresh_reuse", "policy_reload", "key"
  std::string caller;   // the caller's identity; empty if it could not be identified
  std::string subject;  // of the token concerned
  std::vector<std::string> audiences;
  std::vector<std::string> scopes;
  std::string jti;      // the token id concerned
  std::string outcome;  // "ok", "denied" or "error"
  std::string code;     // the status code name ("OK", "PERMISSION_DENIED", ...)
  std::string reason;   // why (a status message), empty when OK
  std::vector<std::pair<std::string, std::string>> extra;  // more public fields, e.g. kid
};

// "ok" for OK; "denied" for UNAUTHENTICATED, PERMISSION_DENIED and RESOURCE_EXHAUSTED; else
// "error".
std::string_view AuditOutcome(const absl::Status& status);
// `text` with every run of 40+ base64url/'.' characters (a JWT, a refresh token) replaced by
// "<redacted>".
std::string RedactLongTokens(std::string_view text);

// Fills outcome, code and reason of `event` from `status`.
void SetAuditStatus(const absl::Status& status, AuditEvent& event);

// The audit trail: one JSON object per line,
//   {"time":"2024-05-01T12:00:00.123Z","event":"issue","caller":"spiffe://...","subject":"u",
//    "audiences":["orders"],"scopes":["read"],"jti":"...","outcome":"ok","code":"OK",
//    "reason":"",...extra}
// with every string JSON-escaped (control and non-ASCII bytes as \u00XX), so one event is
// always exactly one line. Strings are cut at 256 bytes and lists at 32 entries, so a client
// cannot make a line arbitrarily long; `reason` goes through RedactLongTokens as a last line
// of defence (free text from clients, such as a revocation reason, must be passed through it
// by whoever puts it into `extra`). Each line is written with one write(2) under a mutex, so
// lines never interleave. Write errors are counted (tokend_audit_write_errors_total) and
// never fail the audited call. Thread-safe.
class AuditLog {
 public:
  using Sink = std::function<bool(std::string_view line)>;  // false: write failed

  // To stderr.
  static std::unique_ptr<AuditLog> ToStderr(const util::Clock& clock, AuthMetrics* metrics);
  // Appends to `path` (created 0600 if missing).
  static absl::StatusOr<std::unique_ptr<AuditLog>> ToFile(const std::string& path,
                                                          const util::Clock& clock,
                                                          AuthMetrics* metrics);
  // To any sink (tests).
  AuditLog(Sink sink, const util::Clock& clock, AuthMetrics* metrics);
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  void Record(const AuditEvent& event);

  // The line for `event` at `time`, ending in "\n".
  static std::string FormatLine(const AuditEvent& event, absl::Time time);

 private:
  Sink sink_;
  const util::Clock& clock_;
  AuthMetrics* const metrics_;  // may be null
  int fd_ = -1;                 // owned, when writing to a file
  absl::Mutex mu_;              // serializes sink_ calls
};

}  // namespace tokend::auth
