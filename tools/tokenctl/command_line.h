#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tokend::tokenctl {

// The command line as absl::ParseCommandLine should see it, plus the values of repeatable
// flags, which Abseil would otherwise overwrite (the last --audience would win).
struct PreparedArgs {
  std::vector<std::string> args;  // argv[0] first; every flag in "--name=value" form
  std::map<std::string, std::vector<std::string>> repeated;  // flag name -> values, in order
};

// Checks and normalizes argv before Abseil parses it, so that a mistake is a usage error (exit
// 2) rather than Abseil's exit(1), which tokenctl reserves for "invalid token":
//   - "--refresh-token" is accepted as "--refresh_token" (hyphens in flag names);
//   - "--name value" becomes "--name=value" for non-boolean flags;
//   - unknown flags and values the flag cannot parse are INVALID_ARGUMENT;
//   - flags named in `repeatable` are removed from `args` and collected in `repeated`.
// Abseil's own flags (--help, --helpfull, --version, --flagfile, ...) pass through untouched.
// Arguments after "--" are positional. Not thread-safe (reads the global flag registry and
// test-parses values into the flags, which ParseCommandLine then sets again).
absl::StatusOr<PreparedArgs> PrepareArgs(int argc, char** argv,
                                         const std::set<std::string>& repeatable);

}  // namespace tokend::tokenctl
