#include "services/tokend/core/store_pruner.h"

#include <string>

#include "util/log.h"

namespace tokend::core {

StorePruner::StorePruner(storage::TokenStore& store, const util::Clock& clock, Options options)
    : store_(store), clock_(clock), options_(options) {}

StorePruner::~StorePruner() { Stop(); }

void StorePruner::Start() {
  if (options_.interval <= absl::ZeroDuration() || thread_.joinable()) return;
  thread_ = std::thread([this] { Run(); });
}

void StorePruner::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
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

void StorePruner::Run() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    if (mu_.AwaitWithTimeout(absl::Condition(this, &StorePruner::IsStopping), options_.interval)) {
      return;
    }
    mu_.Unlock();
    absl::StatusOr<int64_t> deleted = PruneOnce();
    if (!deleted.ok()) {
      log::Warning("store pruning failed (retrying next interval): " +
                   absl::StatusCodeToString(deleted.status().code()));
    } else if (*deleted > 0) {
      log::Info("store pruning deleted " + std::to_string(*deleted) + " expired rows");
    }
    mu_.Lock();
  }
}

}  // namespace tokend::core
