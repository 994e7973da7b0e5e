#include "util/log.h"

#include <unistd.h>

#include <cctype>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace tokend::log {

void Write(Severity severity, std::string_view message) {
  char level = severity == Severity::kInfo ? 'I' : severity == Severity::kWarning ? 'W' : 'E';
  // Logging is the one place besides SystemClock that reads the wall clock: a log timestamp is
  // not a trust decision.
  std::string line = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  line.push_back(' ');
  line.push_back(level);
  line.append(" tokend: ");
  line.append(message);
  line.push_back('\n');
  const char* data = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(STDERR_FILENO, data, left);
    if (n <= 0) return;  // stderr is gone; nothing sensible to do
    data += n;
    left -= static_cast<size_t>(n);
  }
}

std::string RedactDsn(std::string_view dsn) {
  std::string out(dsn);
  // URI form: scheme://user:password@host...
  if (size_t scheme = out.find("://"); scheme != std::string::npos) {
    size_t authority = scheme + 3;
    size_t end = out.find_first_of("/?", authority);
    if (end == std::string::npos) end = out.size();
    size_t at = out.rfind('@', end);
    if (at != std::string::npos && at >= authority) {
      size_t colon = out.find(':', authority);
      if (colon != std::string::npos && colon < at) {
        out.replace(colon + 1, at - colon - 1, "***");
      }
    }
    // ...?password=secret&...
    size_t query = out.find('?', authority);
    while (query != std::string::npos) {
      size_t param = query + 1;
      size_t amp = out.find('&', param);
      size_t stop = amp == std::string::npos ? out.size() : amp;
      if (absl::StartsWithIgnoreCase(absl::string_view(out).substr(param, stop - param),
                                     "password=")) {
        out.replace(param + 9, stop - param - 9, "***");
        stop = param + 9 + 3;
      }
      query = stop < out.size() ? stop : std::string::npos;
    }
  }
  // key=value form: password = 'quoted value' or password=bare
  std::string lower = absl::AsciiStrToLower(out);
  size_t pos = 0;
  while ((pos = lower.find("password", pos)) != std::string::npos) {
    bool word_start = pos == 0 || std::isspace(static_cast<unsigned char>(lower[pos - 1])) != 0;
    size_t eq = pos + 8;
    while (eq < lower.size() && lower[eq] == ' ') ++eq;
    if (!word_start || eq >= lower.size() || lower[eq] != '=') {
      pos += 8;
      continue;
    }
    size_t value = eq + 1;
    while (value < lower.size() && lower[value] == ' ') ++value;
    size_t end = value;
    if (end < out.size() && out[end] == '\'') {
      ++end;
      while (end < out.size() && out[end] != '\'') {
        if (out[end] == '\\' && end + 1 < out.size()) ++end;
        ++end;
      }
      if (end < out.size()) ++end;  // closing quote
    } else {
      while (end < out.size() && std::isspace(static_cast<unsigned char>(out[end])) == 0) ++end;
    }
    out.replace(value, end - value, "***");
    lower = absl::AsciiStrToLower(out);
    pos = value + 3;
  }
  return out;
}

}  // namespace tokend::log
