#include "storage/memory/memory_key_change_feed.h"

#include <utility>

#include "storage/memory/memory_key_store.h"

namespace tokend::storage {

MemoryKeyChangeFeed::MemoryKeyChangeFeed(MemoryKeyStore& store)
    : store_(store),
      loop_({.name = "key-change-feed", .first_wait = absl::InfiniteDuration()}, [this] {
        on_change_();
        return absl::InfiniteDuration();  // until the next Signal
      }) {}

MemoryKeyChangeFeed::~MemoryKeyChangeFeed() { Stop(); }

absl::Status MemoryKeyChangeFeed::Start(std::function<void()> on_change) {
  if (!on_change) return absl::InvalidArgumentError("on_change is required");
  absl::MutexLock lock(&mu_);
  if (started_) return absl::FailedPreconditionError("feed already started");
  started_ = true;
  on_change_ = std::move(on_change);
  loop_.Start();
  store_.Subscribe(this);
  return absl::OkStatus();
}

void MemoryKeyChangeFeed::Stop() {
  absl::MutexLock lock(&mu_);
  if (!started_ || stopping_) return;
  stopping_ = true;
  store_.Unsubscribe(this);  // no Signal after this
  loop_.Stop();
}

void MemoryKeyChangeFeed::Signal() { loop_.Wake(); }

}  // namespace tokend::storage
