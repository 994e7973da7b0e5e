#pragma once

#include <string>
#include <string_view>

namespace tokend::log {

// Plain stderr logging for the server binary (Debian's Abseil 20220623 has no absl/log).
// One line per call: "<UTC time> <I|W|E> <message>", written with a single write so lines from
// different threads never interleave. Thread-safe. It does not filter its input: callers must
// never pass a token, key, secret or DSN password (use RedactDsn for connection strings).
enum class Severity { kInfo, kWarning, kError };

void Write(Severity severity, std::string_view message);
inline void Info(std::string_view message) { Write(Severity::kInfo, message); }
inline void Warning(std::string_view message) { Write(Severity::kWarning, message); }
inline void Error(std::string_view message) { Write(Severity::kError, message); }

// A DSN fit for a log line: the password of a URI ("postgresql://user:pass@host") and any
// libpq "password=..." value are replaced by "***".
std::string RedactDsn(std::string_view dsn);

}  // namespace tokend::log
