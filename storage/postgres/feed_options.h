#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "absl/time/time.h"

namespace tokend::storage {

// Tuning of the PostgreSQL change feeds (PostgresRevocationFeed, PostgresKeyChangeFeed), which
// share one listener (pg::ChannelListener); the defaults suit production.
struct PostgresFeedOptions {
  // How long one wait for a notification lasts: bounds how long Stop() takes.
  absl::Duration poll_interval = absl::Milliseconds(200);
  // Reconnection backoff: doubles from initial to max while the database stays away.
  absl::Duration initial_backoff = absl::Milliseconds(50);
  absl::Duration max_backoff = absl::Seconds(1);
  // After this long without traffic the listening connection is probed with a query, so a
  // silently dead connection is noticed (and reported as a gap) rather than trusted.
  absl::Duration liveness_interval = absl::Seconds(5);
  // Where warnings go (a line without secrets or payload content); stderr when empty.
  std::function<void(std::string_view)> log_warning;
};

// What a feed has seen since it started, for metrics and tests.
struct PostgresFeedStats {
  int64_t delivered = 0;   // notifications handed to the caller
  int64_t malformed = 0;   // notifications ignored because their payload did not decode
  int64_t pings = 0;       // liveness probes, each after a quiet liveness_interval
  int64_t reconnects = 0;  // successful reconnections, each followed by a gap report
  bool connected = false;
};

}  // namespace tokend::storage
