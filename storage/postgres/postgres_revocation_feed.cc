#include "storage/postgres/postgres_revocation_feed.h"

#include <optional>
#include <string_view>
#include <utility>

#include "storage/postgres/channel_listener.h"
#include "storage/postgres/queries.h"
#include "storage/postgres/revocation_payload.h"

namespace tokend::storage {

PostgresRevocationFeed::PostgresRevocationFeed(PostgresOptions options,
                                               PostgresFeedOptions feed_options)
    : listener_(pg::ChannelListener::OnPostgres("revocation feed", pg::kRevocationChannel,
                                                std::move(options), std::move(feed_options))) {}

PostgresRevocationFeed::~PostgresRevocationFeed() = default;

absl::Status PostgresRevocationFeed::Start(Callbacks callbacks) {
  if (!callbacks.on_revocation) return absl::InvalidArgumentError("on_revocation is required");
  pg::ChannelListener::Callbacks listener_callbacks;
  listener_callbacks.on_payload =
      [on_revocation = std::move(callbacks.on_revocation)](std::string_view payload) {
        std::optional<Revocation> revocation = pg::DecodeRevocationPayload(payload);
        if (!revocation.has_value()) return false;
        on_revocation(*revocation);
        return true;
      };
  listener_callbacks.on_gap = std::move(callbacks.on_gap);
  return listener_->Start(std::move(listener_callbacks));
}

void PostgresRevocationFeed::Stop() { listener_->Stop(); }

PostgresRevocationFeed::Stats PostgresRevocationFeed::stats() const { return listener_->stats(); }

}  // namespace tokend::storage
