#include "storage/postgres/connection_pool.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "storage/postgres/connection.h"
#include "storage/postgres/postgres_error.h"
#include "storage/postgres/queries.h"

namespace tokend::storage::pg {

ConnectionPool::Lease::Lease(Lease&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)),
      slot_(other.slot_),
      connection_(std::exchange(other.connection_, nullptr)) {}

ConnectionPool::Lease::~Lease() {
  if (pool_ != nullptr) pool_->Release(slot_);
}

namespace {

// Whether an idle connection is still usable, without a round trip: reading what the server
// may have sent lets libpq notice a closed socket, so the first call after a server restart
// does not fail on a stale connection. Two reads: at shutdown the server sends a termination
// notice (consumed by the first) and then closes (seen by the second).
bool StillOpen(pqxx::connection& connection) {
  try {
    for (int i = 0; i < 2 && connection.is_open(); ++i) connection.get_notifs();
  } catch (...) {
    return false;
  }
  return connection.is_open();
}

}  // namespace

ConnectionPool::ConnectionPool(Options options) : options_(std::move(options)) {
  slots_.resize(static_cast<size_t>(options_.size));
  absl::MutexLock lock(&mu_);
  for (int i = options_.size - 1; i >= 0; --i) free_.push_back(i);
}

ConnectionPool::~ConnectionPool() = default;

absl::StatusOr<ConnectionPool::Lease> ConnectionPool::Acquire() {
  int slot;
  {
    absl::MutexLock lock(&mu_);
    if (!mu_.AwaitWithTimeout(absl::Condition(this, &ConnectionPool::HasFreeSlot),
                              options_.acquire_timeout)) {
      ++acquire_timeouts_;
      return absl::UnavailableError(absl::StrCat("postgres: no free connection within ",
                                                 absl::FormatDuration(options_.acquire_timeout),
                                                 " (pool of ", options_.size, ")"));
    }
    slot = free_.back();  // LIFO: the most recently used connection is the warmest
    free_.pop_back();
    ++in_use_;
  }
  std::unique_ptr<pqxx::connection>& connection = slots_[static_cast<size_t>(slot)];
  if (connection != nullptr && !StillOpen(*connection)) {
    connection.reset();
    --open_;
    ++connection_errors_;
  }
  if (connection == nullptr) {
    if (absl::Status opened = Open(slot); !opened.ok()) {
      Release(slot);
      return opened;
    }
  }
  return Lease(this, slot, connection.get());
}

absl::Status ConnectionPool::Open(int slot) {
  try {
    // Not reactivated by libpqxx: a broken connection is dropped and re-opened here instead.
    std::unique_ptr<pqxx::connection> connection = OpenConnection(options_.connection_string);
    for (const Query& query : kPooledQueries) connection->prepare(query.name, query.sql);
    SetStatementTimeout(*connection, options_.statement_timeout);
    slots_[static_cast<size_t>(slot)] = std::move(connection);
    ++open_;
    return absl::OkStatus();
  } catch (...) {
    ++connection_errors_;
    return StatusFromException(std::current_exception(), "connect");
  }
}

void ConnectionPool::Release(int slot) {
  std::unique_ptr<pqxx::connection>& connection = slots_[static_cast<size_t>(slot)];
  if (connection != nullptr && !connection->is_open()) {
    connection.reset();  // broken: re-opened by the next Acquire of this slot
    --open_;
    ++connection_errors_;
  }
  absl::MutexLock lock(&mu_);
  free_.push_back(slot);
  --in_use_;
}

PostgresPoolStats ConnectionPool::stats() const {
  PostgresPoolStats stats;
  stats.size = options_.size;
  {
    absl::MutexLock lock(&mu_);
    stats.in_use = in_use_;
  }
  stats.open = open_.load();
  stats.connection_errors = connection_errors_.load();
  stats.acquire_timeouts = acquire_timeouts_.load();
  return stats;
}

}  // namespace tokend::storage::pg
