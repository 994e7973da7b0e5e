#pragma once

#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/tokend/core/denylist.h"
#include "storage/token_store.h"
#include "util/background_loop.h"
#include "util/clock.h"

namespace tokend::core {

class TokenMetrics;

// Keeps a Denylist in step with the store: a full reload at Start() and every reload_interval,
// plus the RevocationFeed's events in between (applied at once; a gap triggers a reload).
//
// Freshness is the time of the last successful full reload, and nothing else: a feed can fall
// silent without noticing, so only a reload proves the list complete. The syncer writes its
// max_staleness and fail_mode into the Denylist (Denylist::IsUsable), which TokenService::Verify
// consults. Does not prune the store (that is the store's janitor). Thread-safe; Start() and
// Stop() are meant to be called once each from the owning thread (Stop is idempotent, and the
// destructor calls it). The reloads run on a BackgroundLoop, so Stop() and a feed gap wake it
// at once.
class DenylistSyncer {
 public:
  struct Options {
    absl::Duration reload_interval = absl::Seconds(5);
    absl::Duration max_staleness = absl::Seconds(60);
    FailMode fail_mode = FailMode::kClosed;
  };

  // `waiter` paces the reload thread (tests inject one); null: real time.
  DenylistSyncer(Denylist& denylist, storage::TokenStore& store, storage::RevocationFeed& feed,
                 const util::Clock& clock, TokenMetrics& metrics, Options options,
                 std::unique_ptr<util::LoopWaiter> waiter = nullptr);
  DenylistSyncer(const DenylistSyncer&) = delete;
  DenylistSyncer& operator=(const DenylistSyncer&) = delete;
  ~DenylistSyncer();

  // Starts the feed, does the initial full load and starts the reload thread. Returns the first
  // error of the load or of starting the feed; the syncer keeps running either way (reloading
  // and retrying the feed), so a server may start while the database is down and become ready
  // once a reload succeeds.
  absl::Status Start();
  // Stops the feed and joins the reload thread.
  void Stop();

  // One full reload now, on the calling thread (also what the reload thread does).
  absl::Status ReloadNow();

  // Last successful full reload within max_staleness of `now`.
  bool Fresh(absl::Time now) const;

 private:
  // One run of the reload thread: restart the feed if it is down, then a full reload.
  void ReloadInBackground();
  void OnRevocation(const storage::Revocation& revocation);
  void OnGap();
  absl::Status StartFeed();
  void UpdateGauges(absl::Time now);

  Denylist& denylist_;
  storage::TokenStore& store_;
  storage::RevocationFeed& feed_;
  const util::Clock& clock_;
  TokenMetrics& metrics_;
  const Options options_;

  absl::Mutex reload_mu_;                                   // one full reload at a time
  bool last_reload_ok_ ABSL_GUARDED_BY(reload_mu_) = true;  // log transitions only
  mutable absl::Mutex mu_;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool feed_started_ ABSL_GUARDED_BY(mu_) = false;
  util::BackgroundLoop loop_;  // last: stopped before the members its task uses go
};

}  // namespace tokend::core
