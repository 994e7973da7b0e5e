#include "storage/memory/memory_key_change_feed.h"

#include <utility>

#include "storage/memory/memory_key_store.h"

namespace tokend::storage {

MemoryKeyChangeFeed::~MemoryKeyChangeFeed() {
  Stop();
  if (thread_.joinable()) thread_.join();
}

absl::Status MemoryKeyChangeFeed::Start(std::function<void()> on_change) {
  if (!on_change) return absl::InvalidArgumentError("on_change is required");
  {
    absl::MutexLock lock(&mu_);
    if (started_) return absl::FailedPreconditionError("feed already started");
    started_ = true;
  }
  on_change_ = std::move(on_change);
  thread_ = std::thread([this] { Run(); });
  store_.Subscribe(this);
  return absl::OkStatus();
}

void MemoryKeyChangeFeed::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (!started_ || stopping_) return;
    stopping_ = true;
  }
  store_.Unsubscribe(this);
  if (thread_.joinable()) thread_.join();
}

void MemoryKeyChangeFeed::Signal() {
  absl::MutexLock lock(&mu_);
  pending_ = true;
}

void MemoryKeyChangeFeed::Run() {
  while (true) {
    {
      absl::MutexLock lock(&mu_, absl::Condition(this, &MemoryKeyChangeFeed::HasWorkLocked));
      if (stopping_) return;
      pending_ = false;
    }
    on_change_();
  }
}

}  // namespace tokend::storage
