#pragma once

#include <exception>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace tokend::storage::pg {

// The one place libpqxx exceptions become absl::Status (CONVENTIONS §4). Call it from a catch
// block with std::current_exception(); `operation` (a query or step name) prefixes the message.
//   broken connection, too many connections, connection exception (SQLSTATE 08xxx),
//   operator intervention (57P0x), statement timeout / query canceled (57014),
//   insufficient resources (53xxx), lock not available (55P03),
//   commit outcome unknown (in_doubt_error, 40003)                        => UNAVAILABLE
//   serialization failure (40001), deadlock (40P01), other 40xxx          => ABORTED
//   unique violation (23505)                                              => ALREADY_EXISTS
//   anything else                                                         => INTERNAL "SQLSTATE x"
// Why the messages are built from codes and fixed phrases only: server messages can quote row
// values (e.g. a duplicate key's hash), and nothing here may leak token data or the DSN. For
// connection failures the first line of libpq's message is kept (it names host and port,
// never the password), with any "password=..." text masked anyway.
absl::Status StatusFromException(std::exception_ptr error, absl::string_view operation);

}  // namespace tokend::storage::pg
