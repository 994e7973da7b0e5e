#include "storage/postgres/postgres_key_change_feed.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "pqxx/connection"
#include "pqxx/nontransaction"
#include "pqxx/notification"
#include "storage/postgres/connection_string.h"
#include "storage/postgres/postgres_error.h"
#include "storage/postgres/queries.h"

namespace tokend::storage {

// One LISTENing connection. Destroyed (and re-created) on any connection failure.
class PostgresKeyChangeFeed::Listener {
 public:
  // Throws on failure (mapped by the caller).
  explicit Listener(PostgresKeyChangeFeed* feed)
      : connection_(std::make_unique<pqxx::connection>(pg::ConnectionStringFor(feed->options_))) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    // Why: a silent libpqxx reconnection would re-LISTEN without telling us about the gap.
    connection_->inhibit_reactivation(true);
#pragma GCC diagnostic pop
    {
      pqxx::nontransaction tx(*connection_);
      tx.exec_params(pg::kSetStatementTimeout.sql,
                     absl::StrCat(absl::ToInt64Milliseconds(feed->options_.statement_timeout)));
      tx.commit();
    }
    receiver_ = std::make_unique<Receiver>(*connection_, feed);
    // libpqxx swallows a failed LISTEN on a broken connection: check that it took.
    pqxx::nontransaction tx(*connection_);
    const int listening =
        tx.exec_params(pg::kIsListening.sql, std::string(pg::kKeyChannel)).at(0).at(0).as<int>();
    tx.commit();
    if (listening != 1) throw pqxx::broken_connection("LISTEN did not take effect");
    last_traffic_ = std::chrono::steady_clock::now();
  }

  ~Listener() {
    // Close first, so removing the receiver sends no UNLISTEN to a possibly dead server.
    connection_->disconnect();
    receiver_.reset();
  }

  // Waits up to `wait` for notifications (delivered through the receiver); probes the connection
  // after `liveness` without traffic. Throws when the connection is lost.
  void Poll(absl::Duration wait, absl::Duration liveness) {
    if (!connection_->is_open()) throw pqxx::broken_connection("connection closed");
    const int64_t micros = absl::ToInt64Microseconds(wait);
    const int delivered = connection_->await_notification(micros / 1000000, micros % 1000000);
    if (!connection_->is_open()) throw pqxx::broken_connection("connection closed");
    const auto now = std::chrono::steady_clock::now();
    if (delivered > 0) {
      last_traffic_ = now;
    } else if (now - last_traffic_ >= absl::ToChronoMicroseconds(liveness)) {
      pqxx::nontransaction tx(*connection_);
      tx.exec_params(pg::kPing.sql);
      tx.commit();
      last_traffic_ = now;
    }
  }

 private:
  class Receiver : public pqxx::notification_receiver {
   public:
    Receiver(pqxx::connection& connection, PostgresKeyChangeFeed* feed)
        : pqxx::notification_receiver(connection, pg::kKeyChannel), feed_(feed) {}
    void operator()(const std::string& /*payload*/, int /*backend_pid*/) override {
      ++feed_->notifications_;
      feed_->on_change_();
    }

   private:
    PostgresKeyChangeFeed* feed_;
  };

  std::unique_ptr<pqxx::connection> connection_;
  std::unique_ptr<Receiver> receiver_;
  std::chrono::steady_clock::time_point last_traffic_;
};

PostgresKeyChangeFeed::PostgresKeyChangeFeed(PostgresOptions options,
                                             PostgresFeedOptions feed_options)
    : options_(std::move(options)), feed_options_(std::move(feed_options)) {}

PostgresKeyChangeFeed::~PostgresKeyChangeFeed() {
  Stop();
  if (thread_.joinable()) thread_.join();
}

absl::Status PostgresKeyChangeFeed::Start(std::function<void()> on_change) {
  if (!on_change) return absl::InvalidArgumentError("on_change is required");
  {
    absl::MutexLock lock(&mu_);
    if (started_) return absl::FailedPreconditionError("feed already started");
    started_ = true;
  }
  on_change_ = std::move(on_change);
  if (absl::Status connected = Connect(); !connected.ok()) {
    absl::MutexLock lock(&mu_);
    started_ = false;
    return connected;
  }
  thread_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

void PostgresKeyChangeFeed::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (!started_ || stopping_) return;
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
  listener_.reset();
  connected_ = false;
}

PostgresKeyChangeFeed::Stats PostgresKeyChangeFeed::stats() const {
  Stats stats;
  stats.notifications = notifications_.load();
  stats.reconnects = reconnects_.load();
  stats.connected = connected_.load();
  return stats;
}

absl::Status PostgresKeyChangeFeed::Connect() {
  try {
    listener_ = std::make_unique<Listener>(this);
    connected_ = true;
    return absl::OkStatus();
  } catch (...) {
    listener_.reset();
    return pg::StatusFromException(std::current_exception(), "listen tokend_keys");
  }
}

void PostgresKeyChangeFeed::Run() {
  absl::Duration backoff = feed_options_.initial_backoff;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
    }
    if (listener_ == nullptr) {
      if (absl::Status connected = Connect(); !connected.ok()) {
        Warn(absl::StrCat("key change feed: reconnect failed, retrying in ",
                          absl::FormatDuration(backoff), ": ", connected.message()));
        if (SleepUnlessStopping(backoff)) return;
        backoff = std::min(backoff * 2, feed_options_.max_backoff);
        continue;
      }
      backoff = feed_options_.initial_backoff;
      ++reconnects_;
      on_change_();  // changes committed while we were away are unknown to us: reload
      continue;
    }
    try {
      listener_->Poll(feed_options_.poll_interval, feed_options_.liveness_interval);
    } catch (...) {
      const absl::Status lost = pg::StatusFromException(std::current_exception(), "listen");
      Warn(absl::StrCat("key change feed: connection lost, reconnecting: ", lost.message()));
      listener_.reset();
      connected_ = false;
    }
  }
}

void PostgresKeyChangeFeed::Warn(std::string_view message) const {
  if (feed_options_.log_warning) {
    feed_options_.log_warning(message);
  } else {
    const std::string line = "W " + std::string(message) + "\n";
    (void)std::fwrite(line.data(), 1, line.size(), stderr);  // nowhere to report a failure
  }
}

bool PostgresKeyChangeFeed::SleepUnlessStopping(absl::Duration duration) {
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(absl::Condition(this, &PostgresKeyChangeFeed::StoppingLocked),
                              duration);
}

}  // namespace tokend::storage
