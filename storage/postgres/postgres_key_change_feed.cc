#include "storage/postgres/postgres_key_change_feed.h"

#include <string_view>
#include <utility>

#include "storage/postgres/channel_listener.h"
#include "storage/postgres/queries.h"

namespace tokend::storage {

PostgresKeyChangeFeed::PostgresKeyChangeFeed(PostgresOptions options,
                                             PostgresFeedOptions feed_options)
    : listener_(pg::ChannelListener::OnPostgres("key change feed", pg::kKeyChannel,
                                                std::move(options), std::move(feed_options))) {}

PostgresKeyChangeFeed::~PostgresKeyChangeFeed() = default;

absl::Status PostgresKeyChangeFeed::Start(std::function<void()> on_change) {
  if (!on_change) return absl::InvalidArgumentError("on_change is required");
  pg::ChannelListener::Callbacks callbacks;
  callbacks.on_payload = [on_change](std::string_view /*payload*/) {
    on_change();  // whatever the payload says, the caller reloads
    return true;
  };
  callbacks.on_gap = std::move(on_change);  // changes committed while away are unknown: reload
  return listener_->Start(std::move(callbacks));
}

void PostgresKeyChangeFeed::Stop() { listener_->Stop(); }

PostgresKeyChangeFeed::Stats PostgresKeyChangeFeed::stats() const { return listener_->stats(); }

}  // namespace tokend::storage
