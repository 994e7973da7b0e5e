#pragma once

#include <optional>
#include <string>
#include <vector>

#include "services/tokend/keys/key_manager.h"
#include "storage/postgres/postgres_options.h"

namespace tokend::server {

// What `tokend keys ...` needs from the flags (KeysCommandContextFromFlags).
struct KeysCommandContext {
  bool memory_store = false;           // --store=memory: refused (nothing to administer)
  storage::PostgresOptions postgres;   // the database of --store
  std::string kek_file;                // --kek_file
  std::optional<std::string> kek_env;  // TOKEND_KEK
  std::string previous_kek_file;       // --previous_kek_file
  keys::KeyManagerOptions manager_options;
};

// Signing-key administration next to the database, for operators (and the only way to rewrap):
//   tokend keys list                        the keys and their states (no KEK needed)
//   tokend keys rotate [--immediate]        rotate now (publish first, unless --immediate)
//   tokend keys remove KID [--reason=TEXT]  emergency removal of a compromised key
//   tokend keys import FILE [--as=next|active|retired]   bring your own key (PEM or JWK)
//   tokend keys rewrap --kek_file=NEW --previous_kek_file=OLD   re-seal every key under NEW
// Running replicas follow within seconds (LISTEN/NOTIFY, else their periodic reload). Prints
// results on stdout and errors on stderr; never prints private material. Returns the exit code
// (0 ok, 1 failure, 2 usage).
int RunKeysCommand(const std::vector<std::string>& args, const KeysCommandContext& context);

}  // namespace tokend::server
