#include "services/tokend/server/migrate_command.h"

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "services/tokend/server/flags.h"
#include "storage/postgres/migrations.h"
#include "util/log.h"

namespace tokend::server {

absl::Status RunMigrate() {
  absl::StatusOr<StoreSpec> spec = StoreSpecFromFlags();
  if (!spec.ok() || spec->memory) {
    absl::Status usage = absl::InvalidArgumentError(
        "tokend migrate needs --store=postgresql://... (or postgresql:<key=value DSN>)");
    log::Error(std::string{usage.message()});
    return usage;
  }
  log::Info(absl::StrCat("migrate: applying migrations to ", log::RedactDsn(spec->dsn)));
  if (absl::Status status = storage::MigrateSchema(spec->dsn); !status.ok()) {
    log::Error(absl::StrCat("migrate failed: ", status.ToString()));
    // Exit 1, not 2: the command was right, the database was not.
    return {status.code() == absl::StatusCode::kInvalidArgument ? absl::StatusCode::kInternal
                                                                : status.code(),
            status.message()};
  }
  log::Info("migrate: schema is up to date");
  return absl::OkStatus();
}

}  // namespace tokend::server
