#include "services/tokend/core/denylist_syncer.h"

#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/tokend/core/token_metrics.h"
#include "util/log.h"

namespace tokend::core {

DenylistSyncer::DenylistSyncer(Denylist& denylist, storage::TokenStore& store,
                               storage::RevocationFeed& feed, const util::Clock& clock,
                               TokenMetrics& metrics, Options options,
                               std::unique_ptr<util::LoopWaiter> waiter)
    : denylist_(denylist),
      store_(store),
      feed_(feed),
      clock_(clock),
      metrics_(metrics),
      options_(options),
      loop_({.name = "denylist-sync",
             .first_wait = options.reload_interval,
             .waiter = std::move(waiter)},
            options.reload_interval, [this] { ReloadInBackground(); }) {
  denylist_.SetFreshnessPolicy(FreshnessPolicy{options.max_staleness, options.fail_mode});
}

DenylistSyncer::~DenylistSyncer() { Stop(); }

absl::Status DenylistSyncer::Start() {
  {
    absl::MutexLock lock(&mu_);
    if (started_ || stopping_) return absl::FailedPreconditionError("syncer already started");
    started_ = true;
  }
  // The feed starts before the load: an event committed meanwhile is then either in the list or
  // delivered (and kept across the ReplaceAll by the reload mark).
  absl::Status feed_status = StartFeed();
  absl::Status load_status = ReloadNow();
  loop_.Start();
  return load_status.ok() ? feed_status : load_status;
}

void DenylistSyncer::Stop() {
  bool stop_feed = false;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  // Join first: the reload thread may be (re)starting the feed.
  loop_.Stop();
  {
    absl::MutexLock lock(&mu_);
    stop_feed = feed_started_;
    feed_started_ = false;
  }
  if (stop_feed) feed_.Stop();
}

absl::Status DenylistSyncer::StartFeed() {
  storage::RevocationFeed::Callbacks callbacks;
  callbacks.on_revocation = [this](const storage::Revocation& r) { OnRevocation(r); };
  callbacks.on_gap = [this] { OnGap(); };
  absl::Status status = feed_.Start(std::move(callbacks));
  if (!status.ok()) {
    metrics_.RecordStoreError("RevocationFeed.Start", status.code());
    log::Warning(absl::StrCat("revocation feed did not start (will retry; full reloads continue): ",
                              absl::StatusCodeToString(status.code())));
    return status;
  }
  absl::MutexLock lock(&mu_);
  feed_started_ = true;
  return absl::OkStatus();
}

absl::Status DenylistSyncer::ReloadNow() {
  absl::MutexLock reload_lock(&reload_mu_);
  const Denylist::ReloadMark mark = denylist_.BeginReload();
  // The list reflects the store at (or after) `started`; claiming that instant is conservative.
  const absl::Time started = clock_.Now();
  absl::StatusOr<std::vector<storage::Revocation>> list = store_.ListLiveRevocations(started);
  if (!list.ok()) {
    metrics_.RecordStoreError("ListLiveRevocations", list.status().code());
    metrics_.SetStoreUp(false);
    denylist_.Prune(started);
    UpdateGauges(clock_.Now());
    if (last_reload_ok_) {
      log::Warning(absl::StrCat("denylist reload failed: ", list.status().ToString()));
    }
    last_reload_ok_ = false;
    return list.status();
  }
  denylist_.ReplaceAll(*list, started, mark);
  metrics_.SetStoreUp(true);
  metrics_.SetDenylistLastSync(started);
  UpdateGauges(clock_.Now());
  if (!last_reload_ok_) log::Info("denylist reload succeeded again");
  last_reload_ok_ = true;
  return absl::OkStatus();
}

bool DenylistSyncer::Fresh(absl::Time now) const { return denylist_.IsFresh(now); }

void DenylistSyncer::ReloadInBackground() {
  bool need_feed = false;
  {
    absl::MutexLock lock(&mu_);
    need_feed = !feed_started_;
  }
  if (need_feed) StartFeed().IgnoreError();  // logged and counted inside
  ReloadNow().IgnoreError();                 // logged and counted inside
}

void DenylistSyncer::OnRevocation(const storage::Revocation& revocation) {
  denylist_.Apply(revocation);
  const absl::Time now = clock_.Now();
  metrics_.ObservePropagation(now - revocation.revoked_at);
  const Denylist::Sizes sizes = denylist_.sizes();
  metrics_.SetDenylistSizes(sizes.token_ids, sizes.families, sizes.subjects);
}

// A gap before the loop starts (during Start's load) still makes its first run immediate.
void DenylistSyncer::OnGap() { loop_.Wake(); }

void DenylistSyncer::UpdateGauges(absl::Time now) {
  const Denylist::Sizes sizes = denylist_.sizes();
  metrics_.SetDenylistSizes(sizes.token_ids, sizes.families, sizes.subjects);
  const absl::Time last = denylist_.last_sync();
  metrics_.SetDenylistStaleness(last == absl::InfinitePast() ? absl::InfiniteDuration()
                                                             : now - last);
}

}  // namespace tokend::core
