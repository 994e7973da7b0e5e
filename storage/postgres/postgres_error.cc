#include "storage/postgres/postgres_error.h"

#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "pqxx/except"

namespace tokend::storage::pg {
namespace {

constexpr size_t kMaxDetail = 160;

// First line of a libpq connection message, bounded, with anything after "password" masked.
std::string ConnectionDetail(absl::string_view what) {
  absl::string_view line = what.substr(0, what.find('\n'));
  if (line.size() > kMaxDetail) line = line.substr(0, kMaxDetail);
  std::string detail(line);
  const size_t pw = absl::AsciiStrToLower(detail).find("password");
  if (pw != std::string::npos) detail = absl::StrCat(detail.substr(0, pw), "password ***");
  while (!detail.empty() && (detail.back() == ' ' || detail.back() == '\r')) detail.pop_back();
  return detail;
}

absl::Status FromSqlState(absl::string_view sqlstate, absl::string_view operation) {
  const std::string prefix = absl::StrCat("postgres ", operation, ": ");
  if (sqlstate == "23505") {
    return absl::AlreadyExistsError(absl::StrCat(prefix, "unique violation (SQLSTATE 23505)"));
  }
  if (sqlstate == "57014") {
    return absl::UnavailableError(
        absl::StrCat(prefix, "statement timeout or canceled (SQLSTATE 57014)"));
  }
  if (absl::StartsWith(sqlstate, "08") || absl::StartsWith(sqlstate, "57P") ||
      absl::StartsWith(sqlstate, "53") || sqlstate == "55P03" || sqlstate == "40003") {
    return absl::UnavailableError(
        absl::StrCat(prefix, "database unavailable (SQLSTATE ", sqlstate, ")"));
  }
  if (absl::StartsWith(sqlstate, "40")) {
    return absl::AbortedError(
        absl::StrCat(prefix, "transaction conflict (SQLSTATE ", sqlstate, ")"));
  }
  return absl::InternalError(
      absl::StrCat(prefix, "database error (SQLSTATE ",
                   sqlstate.empty() ? absl::string_view("unknown") : sqlstate, ")"));
}

}  // namespace

absl::Status StatusFromException(std::exception_ptr error, absl::string_view operation) {
  const std::string prefix = absl::StrCat("postgres ", operation, ": ");
  try {
    std::rethrow_exception(std::move(error));
  } catch (const pqxx::broken_connection& e) {
    return absl::UnavailableError(
        absl::StrCat(prefix, "connection lost or refused: ", ConnectionDetail(e.what())));
  } catch (const pqxx::in_doubt_error&) {
    return absl::UnavailableError(absl::StrCat(prefix, "connection lost, commit outcome unknown"));
  } catch (const pqxx::statement_completion_unknown&) {
    return FromSqlState("40003", operation);
  } catch (const pqxx::serialization_failure&) {
    return FromSqlState("40001", operation);
  } catch (const pqxx::deadlock_detected&) {
    return FromSqlState("40P01", operation);
  } catch (const pqxx::transaction_rollback&) {
    return FromSqlState("40000", operation);
  } catch (const pqxx::sql_error& e) {
    return FromSqlState(e.sqlstate(), operation);
  } catch (const pqxx::failure&) {
    // libpqxx raises a bare failure when libpq returns no result, typically a dead socket.
    return absl::UnavailableError(absl::StrCat(prefix, "no result from the server"));
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(absl::StrCat(prefix, "out of memory"));
  } catch (const std::exception&) {
    // Conversion and usage errors: their text may quote values, so it is not kept.
    return absl::InternalError(absl::StrCat(prefix, "unexpected client error"));
  } catch (...) {
    return absl::InternalError(absl::StrCat(prefix, "unknown exception"));
  }
}

}  // namespace tokend::storage::pg
