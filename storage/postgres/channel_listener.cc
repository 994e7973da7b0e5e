#include "storage/postgres/channel_listener.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"
#include "pqxx/connection"
#include "pqxx/except"
#include "pqxx/nontransaction"
#include "pqxx/notification"
#include "storage/postgres/connection.h"
#include "storage/postgres/connection_string.h"
#include "storage/postgres/postgres_error.h"
#include "storage/postgres/queries.h"
#include "util/status_macros.h"

namespace tokend::storage::pg {
namespace {

// Monotonic readings as absl::Time; only their differences mean anything.
class SteadyClock final : public util::Clock {
 public:
  absl::Time Now() const override {
    return absl::UnixEpoch() +
           absl::FromChrono(std::chrono::steady_clock::now().time_since_epoch());
  }
};

// A LISTENing libpqxx connection. Closed, never repaired, when anything fails: the listener
// opens a new one.
class PqxxListenSession final : public ListenSession {
 public:
  static absl::StatusOr<std::unique_ptr<ListenSession>> Open(
      const PostgresOptions& options, const std::string& channel,
      std::function<void(std::string_view)> on_payload) {
    auto session = std::unique_ptr<PqxxListenSession>(new PqxxListenSession(channel));
    try {
      session->connection_ = OpenConnection(ConnectionStringFor(options));
      SetStatementTimeout(*session->connection_, options.statement_timeout);
      session->receiver_ =
          std::make_unique<Receiver>(*session->connection_, channel, std::move(on_payload));
      // libpqxx swallows a failed LISTEN on a broken connection: check that it took.
      pqxx::nontransaction tx(*session->connection_);
      const int listening = tx.exec_params(kIsListening.sql, channel).at(0).at(0).as<int>();
      tx.commit();
      if (listening != 1) throw pqxx::broken_connection("LISTEN did not take effect");
    } catch (...) {
      return StatusFromException(std::current_exception(), session->operation_);
    }
    return std::unique_ptr<ListenSession>(std::move(session));
  }

  PqxxListenSession(const PqxxListenSession&) = delete;
  PqxxListenSession& operator=(const PqxxListenSession&) = delete;

  ~PqxxListenSession() override {
    // Close first, so removing the receiver sends no UNLISTEN to a possibly dead server.
    if (connection_ != nullptr) connection_->disconnect();
    receiver_.reset();
  }

  absl::StatusOr<int> Poll(absl::Duration wait) override {
    try {
      // A connection libpq already marked bad would make await_notification return at once.
      if (!connection_->is_open()) throw pqxx::broken_connection("connection closed");
      const int64_t micros = absl::ToInt64Microseconds(wait);
      const int received = connection_->await_notification(micros / 1000000, micros % 1000000);
      if (!connection_->is_open()) throw pqxx::broken_connection("connection closed");
      return received;
    } catch (...) {
      return StatusFromException(std::current_exception(), operation_);
    }
  }

  absl::Status Ping() override {
    try {
      pqxx::nontransaction tx(*connection_);
      tx.exec_params(kPing.sql);
      tx.commit();
      return absl::OkStatus();
    } catch (...) {
      return StatusFromException(std::current_exception(), operation_);
    }
  }

 private:
  class Receiver final : public pqxx::notification_receiver {
   public:
    Receiver(pqxx::connection& connection, const std::string& channel,
             std::function<void(std::string_view)> on_payload)
        : pqxx::notification_receiver(connection, channel), on_payload_(std::move(on_payload)) {}
    void operator()(const std::string& payload, int /*backend_pid*/) override {
      on_payload_(payload);
    }

   private:
    std::function<void(std::string_view)> on_payload_;
  };

  explicit PqxxListenSession(const std::string& channel)
      : operation_(absl::StrCat("listen ", channel)) {}

  const std::string operation_;
  std::unique_ptr<pqxx::connection> connection_;
  std::unique_ptr<Receiver> receiver_;
};

}  // namespace

ListenSessionFactory PostgresListenSessions(PostgresOptions options) {
  return [options = std::move(options)](const std::string& channel,
                                        std::function<void(std::string_view)> on_payload) {
    return PqxxListenSession::Open(options, channel, std::move(on_payload));
  };
}

ChannelListener::ChannelListener(Options options, ListenSessionFactory open_session)
    : name_(std::move(options.name)),
      channel_(std::move(options.channel)),
      feed_(std::move(options.feed)),
      open_session_(std::move(open_session)),
      own_clock_(options.clock == nullptr ? std::make_unique<SteadyClock>() : nullptr),
      clock_(options.clock != nullptr ? *options.clock : *own_clock_),
      backoff_(feed_.initial_backoff),
      loop_(
          [&] {
            util::BackgroundLoop::Options loop_options;
            loop_options.name = name_;
            loop_options.waiter = std::move(options.waiter);
            return loop_options;
          }(),
          [this] { return Step(); }) {}

std::unique_ptr<ChannelListener> ChannelListener::OnPostgres(std::string name, std::string channel,
                                                             PostgresOptions postgres,
                                                             PostgresFeedOptions feed) {
  Options options;
  options.name = std::move(name);
  options.channel = std::move(channel);
  options.feed = std::move(feed);
  return std::make_unique<ChannelListener>(std::move(options),
                                           PostgresListenSessions(std::move(postgres)));
}

ChannelListener::~ChannelListener() { Stop(); }

absl::Status ChannelListener::Start(Callbacks callbacks) {
  if (!callbacks.on_payload) return absl::InvalidArgumentError("on_payload is required");
  absl::MutexLock lock(&lifecycle_mu_);
  if (state_ != State::kIdle) return absl::FailedPreconditionError(name_ + " already started");
  callbacks_ = std::move(callbacks);
  TOKEND_RETURN_IF_ERROR(Connect());  // nothing runs: Start() may be called again
  backoff_ = feed_.initial_backoff;
  state_ = State::kRunning;
  loop_.Start();
  return absl::OkStatus();
}

void ChannelListener::Stop() {
  absl::MutexLock lock(&lifecycle_mu_);
  if (state_ != State::kRunning) return;
  state_ = State::kStopped;
  loop_.Stop();
  session_.reset();
  connected_ = false;
}

PostgresFeedStats ChannelListener::stats() const {
  PostgresFeedStats stats;
  stats.delivered = delivered_.load();
  stats.malformed = malformed_.load();
  stats.pings = pings_.load();
  stats.reconnects = reconnects_.load();
  stats.connected = connected_.load();
  return stats;
}

absl::Status ChannelListener::Connect() {
  absl::StatusOr<std::unique_ptr<ListenSession>> session =
      open_session_(channel_, [this](std::string_view payload) { Receive(payload); });
  if (!session.ok()) return session.status();
  session_ = *std::move(session);
  last_traffic_ = clock_.Now();
  connected_ = true;
  return absl::OkStatus();
}

absl::Duration ChannelListener::Step() {
  if (session_ == nullptr) {
    if (absl::Status connected = Connect(); !connected.ok()) {
      const absl::Duration wait = backoff_;
      Warn(absl::StrCat(name_, ": reconnect failed, retrying in ", absl::FormatDuration(wait), ": ",
                        connected.message()));
      backoff_ = std::min(backoff_ * 2, feed_.max_backoff);
      return wait;
    }
    backoff_ = feed_.initial_backoff;
    ++reconnects_;
    // Whatever was committed while we were away is lost to us: the caller reloads.
    if (callbacks_.on_gap) callbacks_.on_gap();
    return absl::ZeroDuration();
  }
  absl::StatusOr<int> received = session_->Poll(feed_.poll_interval);
  absl::Status alive = received.status();
  if (alive.ok()) {
    const absl::Time now = clock_.Now();
    if (*received > 0) {
      last_traffic_ = now;
    } else if (now - last_traffic_ >= feed_.liveness_interval) {
      ++pings_;
      alive = session_->Ping();
      last_traffic_ = now;
    }
  }
  if (!alive.ok()) {
    Warn(absl::StrCat(name_, ": connection lost, reconnecting: ", alive.message()));
    session_.reset();
    connected_ = false;
  }
  return absl::ZeroDuration();  // Poll itself waits
}

void ChannelListener::Receive(std::string_view payload) {
  if (callbacks_.on_payload(payload)) {
    ++delivered_;
    return;
  }
  ++malformed_;
  // The size only: the content is untrusted and may hold anything.
  Warn(absl::StrCat(name_, ": ignored a malformed notification of ", payload.size(), " bytes"));
}

void ChannelListener::Warn(std::string_view message) const {
  if (feed_.log_warning) {
    feed_.log_warning(message);
  } else {
    const std::string line = "W " + std::string(message) + "\n";
    (void)std::fwrite(line.data(), 1, line.size(), stderr);  // nowhere to report a failure
  }
}

}  // namespace tokend::storage::pg
