#include "storage/memory/memory_revocation_feed.h"

#include <utility>

#include "storage/memory/memory_token_store.h"

namespace tokend::storage {

MemoryRevocationFeed::~MemoryRevocationFeed() {
  Stop();
  if (thread_.joinable()) thread_.join();  // a Start() that raced a Stop()
}

absl::Status MemoryRevocationFeed::Start(Callbacks callbacks) {
  if (!callbacks.on_revocation) {
    return absl::InvalidArgumentError("on_revocation is required");
  }
  {
    absl::MutexLock lock(&mu_);
    if (started_) return absl::FailedPreconditionError("feed already started");
    started_ = true;
  }
  callbacks_ = std::move(callbacks);
  thread_ = std::thread([this] { Run(); });
  store_.Subscribe(this);
  return absl::OkStatus();
}

void MemoryRevocationFeed::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (!started_ || stopping_) return;
    stopping_ = true;
  }
  store_.Unsubscribe(this);
  if (thread_.joinable()) thread_.join();
}

void MemoryRevocationFeed::Enqueue(const Revocation& revocation) {
  absl::MutexLock lock(&mu_);
  if (!stopping_) queue_.push_back(revocation);
}

void MemoryRevocationFeed::Run() {
  while (true) {
    Revocation next;
    {
      absl::MutexLock lock(&mu_, absl::Condition(this, &MemoryRevocationFeed::HasWorkLocked));
      if (stopping_) return;
      next = std::move(queue_.front());
      queue_.pop_front();
    }
    callbacks_.on_revocation(next);
  }
}

}  // namespace tokend::storage
