#include "tests/e2e/pg_e2e_support.h"

#include <openssl/rand.h>

#include <cstdlib>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace tokend::e2e {

absl::Status PostgresAvailable() {
  if (testing::TestPostgresDsn().has_value()) return absl::OkStatus();
  const char* ci = std::getenv("CI");
  if (ci != nullptr && *ci != '\0') {
    return absl::InternalError(
        "TOKEND_TEST_PG_DSN is not set, and CI is: PostgreSQL e2e tests must run in CI");
  }
  return absl::FailedPreconditionError(
      "TOKEND_TEST_PG_DSN is not set: skipping. Run `source scripts/lib/pg.sh; pg_tmp_start` "
      "first to get a throwaway PostgreSQL.");
}

absl::StatusOr<std::unique_ptr<testing::PgTestDatabase>> FreshEmptyDatabase() {
  if (absl::Status available = PostgresAvailable(); !available.ok()) return available;
  return testing::PgTestDatabase::Create(testing::PgTestDatabase::Schema::kEmpty);
}

std::string StoreFlag(const std::string& dsn) { return "--store=postgresql:" + dsn; }

absl::Status MigrateWithTokend(const std::string& dsn) {
  std::string output;
  absl::StatusOr<int> code =
      TokendProcess::RunToExit({"migrate", StoreFlag(dsn)}, absl::Seconds(90), &output);
  if (!code.ok()) return code.status();
  if (*code != 0) {
    return absl::InternalError(absl::StrCat("tokend migrate exited ", *code, ":\n", output));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Psql(const std::string& dsn, const std::string& sql) {
  const char* bin = std::getenv("TOKEND_TEST_PG_BIN");
  std::string psql = absl::StrCat(bin != nullptr ? bin : "/usr/lib/postgresql/15/bin", "/psql");
  std::string output;
  absl::StatusOr<int> code =
      RunProgram({psql, "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-c", sql},
                 absl::Seconds(60), &output);
  if (!code.ok()) return code.status();
  if (*code != 0) return absl::InternalError(absl::StrCat("psql exited ", *code, ": ", output));
  return std::string(absl::StripTrailingAsciiWhitespace(output));
}

std::string WriteRefreshSecret(const ScratchDir& dir) {
  unsigned char bytes[32];
  RAND_bytes(bytes, sizeof(bytes));
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char b : bytes) {
    hex.push_back(kHex[b >> 4]);
    hex.push_back(kHex[b & 0xf]);
  }
  return dir.Write("refresh_secret", hex + "\n");
}

}  // namespace tokend::e2e
