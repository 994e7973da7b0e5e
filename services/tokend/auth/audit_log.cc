#include "services/tokend/auth/audit_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "services/tokend/auth/auth_metrics.h"

namespace tokend::auth {
namespace {

constexpr size_t kMaxFieldBytes = 256;
constexpr size_t kMaxListEntries = 32;
constexpr size_t kRedactRun = 40;

// base64url and '.': the alphabet of JWTs and refresh tokens ("rt1." + 43 characters).
bool IsTokenChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

}  // namespace

std::string RedactLongTokens(std::string_view text) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    if (!IsTokenChar(text[i])) {
      out.push_back(text[i++]);
      continue;
    }
    size_t end = i;
    while (end < text.size() && IsTokenChar(text[end])) ++end;
    if (end - i >= kRedactRun) {
      out.append("<redacted>");
    } else {
      out.append(text.substr(i, end - i));
    }
    i = end;
  }
  return out;
}

namespace {

void AppendJsonString(std::string_view value, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  const bool cut = value.size() > kMaxFieldBytes;
  if (cut) value = value.substr(0, kMaxFieldBytes);
  out.push_back('"');
  for (char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      default:
        // Control and non-ASCII bytes escaped one by one: the line stays ASCII and a single
        // line whatever the input (a cut multi-byte character cannot make it invalid).
        if (c < 0x20 || c >= 0x7f) {
          out.append("\\u00");
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xf]);
        } else {
          out.push_back(ch);
        }
    }
  }
  if (cut) out.append("...");
  out.push_back('"');
}

void AppendField(std::string_view name, std::string_view value, std::string& out) {
  out.push_back(',');
  AppendJsonString(name, out);
  out.push_back(':');
  AppendJsonString(value, out);
}

void AppendList(std::string_view name, const std::vector<std::string>& values, std::string& out) {
  out.push_back(',');
  AppendJsonString(name, out);
  out.append(":[");
  for (size_t i = 0; i < values.size() && i < kMaxListEntries; ++i) {
    if (i > 0) out.push_back(',');
    AppendJsonString(values[i], out);
  }
  out.push_back(']');
}

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

std::string_view AuditOutcome(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return "ok";
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kResourceExhausted:
      return "denied";
    default:
      return "error";
  }
}

void SetAuditStatus(const absl::Status& status, AuditEvent& event) {
  event.outcome = std::string(AuditOutcome(status));
  event.code = absl::StatusCodeToString(status.code());
  event.reason = std::string{status.message()};
}

std::string AuditLog::FormatLine(const AuditEvent& event, absl::Time time) {
  std::string out = "{\"time\":";
  AppendJsonString(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone()), out);
  AppendField("event", event.event, out);
  AppendField("caller", event.caller, out);
  AppendField("subject", event.subject, out);
  AppendList("audiences", event.audiences, out);
  AppendList("scopes", event.scopes, out);
  AppendField("jti", event.jti, out);
  AppendField("outcome", event.outcome, out);
  AppendField("code", event.code, out);
  AppendField("reason", RedactLongTokens(event.reason), out);
  for (const auto& [name, value] : event.extra) AppendField(name, value, out);
  out.append("}\n");
  return out;
}

AuditLog::AuditLog(Sink sink, const util::Clock& clock, AuthMetrics* metrics)
    : sink_(std::move(sink)), clock_(clock), metrics_(metrics) {}

AuditLog::~AuditLog() {
  if (fd_ >= 0) ::close(fd_);
}

std::unique_ptr<AuditLog> AuditLog::ToStderr(const util::Clock& clock, AuthMetrics* metrics) {
  return std::make_unique<AuditLog>(
      [](std::string_view line) { return WriteAll(STDERR_FILENO, line); }, clock, metrics);
}

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::ToFile(const std::string& path,
                                                           const util::Clock& clock,
                                                           AuthMetrics* metrics) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        // NOLINTNEXTLINE(concurrency-mt-unsafe): only called once, while the server starts.
        absl::StrCat("cannot open audit log ", path, ": ", std::strerror(errno)));
  }
  auto log = std::make_unique<AuditLog>([fd](std::string_view line) { return WriteAll(fd, line); },
                                        clock, metrics);
  log->fd_ = fd;
  return log;
}

void AuditLog::Record(const AuditEvent& event) {
  const std::string line = FormatLine(event, clock_.Now());
  bool ok;
  {
    absl::MutexLock lock(&mu_);
    ok = sink_(line);
  }
  if (!ok && metrics_ != nullptr) metrics_->RecordAuditWriteError();
}

}  // namespace tokend::auth
