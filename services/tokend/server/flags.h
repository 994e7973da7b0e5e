#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/tokend/server/keys_command.h"
#include "services/tokend/server/server_config.h"

namespace tokend::server {

// tokend's command-line flags (defined in flags.cc) and what they turn into.
//
// Every flag defined in flags.cc can also be set from the environment as TOKEND_<NAME IN UPPER
// CASE> (e.g. TOKEND_STORE); the list is derived from the registered flags, so a new flag gets
// its variable without anyone keeping a list. A flag given on the command line wins.

// Applies TOKEND_<NAME> for every server flag. Call before absl::ParseCommandLine. An invalid
// value is INVALID_ARGUMENT naming the variable (never echoing the value: it may be a secret).
absl::Status ApplyEnvironmentToFlags();

// The environment variable of a flag: "TOKEND_" + its name in upper case.
std::string EnvironmentVariableFor(absl::string_view flag_name);

// Whether `file` (a flag's definition site) holds flags `--help` should list for tokend.
bool IsTokendFlagFile(absl::string_view file);

// The server's configuration from the parsed flags (and TOKEND_KEK, TOKEND_REFRESH_SECRET):
// validated, with the KEKs and the refresh derivation secret loaded. Every error is
// INVALID_ARGUMENT with a message an operator can act on (it names the flag).
absl::StatusOr<ServerConfig> ServerConfigFromFlags();

// --store parsed; INVALID_ARGUMENT for anything but "memory", postgresql://... or
// "postgresql:" + a key=value DSN.
absl::StatusOr<StoreSpec> ParseStoreSpec(const std::string& store);

// The --store flag and the PostgreSQL options of the --db_* flags, for `tokend migrate`.
absl::StatusOr<StoreSpec> StoreSpecFromFlags();

// What `tokend keys ...` needs from the flags.
absl::StatusOr<KeysCommandContext> KeysCommandContextFromFlags();

}  // namespace tokend::server
