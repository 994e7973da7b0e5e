#include "services/tokend/core/store_pruner.h"

#include <string>
#include <utility>

#include "util/log.h"

namespace tokend::core {

StorePruner::StorePruner(storage::TokenStore& store, const util::Clock& clock, Options options,
                         std::unique_ptr<util::LoopWaiter> waiter)
    : store_(store),
      clock_(clock),
      options_(options),
      loop_({.name = "store-pruner", .first_wait = options.interval, .waiter = std::move(waiter)},
            options.interval, [this] { RunPass(); }) {}

StorePruner::~StorePruner() { Stop(); }

void StorePruner::Start() {
  if (options_.interval <= absl::ZeroDuration() || stopped_.load()) return;
  loop_.Start();
}

void StorePruner::Stop() {
  stopped_.store(true);
  loop_.Stop();
}

absl::StatusOr<int64_t> StorePruner::PruneOnce() {
  int64_t total = 0;
  for (int i = 0; i < options_.max_batches_per_pass; ++i) {
    absl::StatusOr<int64_t> deleted = store_.PruneExpired(clock_.Now(), options_.batch_size);
    if (!deleted.ok()) return deleted.status();
    total += *deleted;
    if (*deleted < options_.batch_size) break;
  }
  return total;
}

void StorePruner::RunPass() {
  absl::StatusOr<int64_t> deleted = PruneOnce();
  if (!deleted.ok()) {
    log::Warning("store pruning failed (retrying next interval): " +
                 absl::StatusCodeToString(deleted.status().code()));
  } else if (*deleted > 0) {
    log::Info("store pruning deleted " + std::to_string(*deleted) + " expired rows");
  }
}

}  // namespace tokend::core
