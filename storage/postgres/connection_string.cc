#include "storage/postgres/connection_string.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace tokend::storage::pg {
namespace {

bool IsUri(std::string_view dsn) {
  return dsn.rfind("postgresql://", 0) == 0 || dsn.rfind("postgres://", 0) == 0;
}

std::string QuoteKeywordValue(std::string_view value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

std::string PercentEncode(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (absl::ascii_isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xF]);
    }
  }
  return out;
}

int64_t CeilSeconds(absl::Duration d) {
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(absl::ToDoubleSeconds(d))));
}

}  // namespace

std::string AppendConnectionParams(std::string_view dsn,
                                   const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out(dsn);
  if (IsUri(dsn)) {
    bool has_query = dsn.find('?') != std::string_view::npos;
    for (const auto& [key, value] : params) {
      absl::StrAppend(&out, has_query ? "&" : "?", key, "=", PercentEncode(value));
      has_query = true;
    }
  } else {
    for (const auto& [key, value] : params) {
      absl::StrAppend(&out, out.empty() ? "" : " ", key, "=", QuoteKeywordValue(value));
    }
  }
  return out;
}

std::string ConnectionStringFor(const PostgresOptions& options) {
  const int64_t user_timeout_ms =
      absl::ToInt64Milliseconds(options.statement_timeout + absl::Seconds(1));
  return AppendConnectionParams(
      options.dsn, {{"connect_timeout", absl::StrCat(CeilSeconds(options.connect_timeout))},
                    {"keepalives", "1"},
                    {"keepalives_idle", "5"},
                    {"keepalives_interval", "2"},
                    {"keepalives_count", "3"},
                    {"tcp_user_timeout", absl::StrCat(user_timeout_ms)},
                    {"fallback_application_name", "tokend"}});
}

std::string WithDatabase(std::string_view dsn, std::string_view database) {
  return AppendConnectionParams(dsn, {{"dbname", std::string(database)}});
}

}  // namespace tokend::storage::pg
