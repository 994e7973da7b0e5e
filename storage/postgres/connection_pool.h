#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "pqxx/connection"
#include "storage/postgres/pool_stats.h"

namespace tokend::storage::pg {

// A fixed set of `size` PostgreSQL connections, each used by one thread at a time.
// Guarantees: Acquire() waits at most acquire_timeout for a free slot (then UNAVAILABLE); a
// slot's connection is opened lazily, on the acquire that finds it closed, with the connection
// string's connect_timeout, libpqxx's silent reconnection disabled, the session's
// statement_timeout set and the pooled statements (queries.h) declared; a connection found
// broken when its lease ends is dropped, so the pool heals by itself once the database is back.
// Does not retry anything and does not check the schema. Thread-safe; every Lease must be gone
// before the pool is destroyed.
class ConnectionPool {
 public:
  struct Options {
    std::string connection_string;  // already carries connect_timeout (ConnectionStringFor)
    int size = 8;
    absl::Duration acquire_timeout = absl::Seconds(2);
    absl::Duration statement_timeout = absl::Seconds(2);
  };

  // Exclusive use of one pooled connection; returns it when destroyed.
  class Lease {
   public:
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    ~Lease();
    pqxx::connection& connection() const { return *connection_; }

   private:
    friend class ConnectionPool;
    Lease(ConnectionPool* pool, int slot, pqxx::connection* connection)
        : pool_(pool), slot_(slot), connection_(connection) {}
    ConnectionPool* pool_;
    int slot_;
    pqxx::connection* connection_;
  };

  explicit ConnectionPool(Options options);
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;
  ~ConnectionPool();

  // UNAVAILABLE when no slot frees up within acquire_timeout or the connection cannot be opened.
  absl::StatusOr<Lease> Acquire();

  PostgresPoolStats stats() const;

 private:
  bool HasFreeSlot() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !free_.empty(); }
  // Opens slots_[slot]; called by the slot's holder without mu_.
  absl::Status Open(int slot);
  void Release(int slot);

  const Options options_;
  // slots_[i] is read and written only by the thread holding slot i (handed over under mu_).
  std::vector<std::unique_ptr<pqxx::connection>> slots_;
  mutable absl::Mutex mu_;
  std::vector<int> free_ ABSL_GUARDED_BY(mu_);
  int in_use_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<int> open_{0};
  std::atomic<int64_t> connection_errors_{0};
  std::atomic<int64_t> acquire_timeouts_{0};
};

}  // namespace tokend::storage::pg
