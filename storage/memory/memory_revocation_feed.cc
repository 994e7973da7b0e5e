#include "storage/memory/memory_revocation_feed.h"

#include <utility>

#include "storage/memory/memory_token_store.h"

namespace tokend::storage {

MemoryRevocationFeed::MemoryRevocationFeed(MemoryTokenStore& store)
    : store_(store),
      loop_({.name = "revocation-feed", .first_wait = absl::InfiniteDuration()},
            [this] { return DeliverQueued(); }) {}

MemoryRevocationFeed::~MemoryRevocationFeed() { Stop(); }

absl::Status MemoryRevocationFeed::Start(Callbacks callbacks) {
  if (!callbacks.on_revocation) {
    return absl::InvalidArgumentError("on_revocation is required");
  }
  absl::MutexLock lock(&control_mu_);
  if (started_) return absl::FailedPreconditionError("feed already started");
  started_ = true;
  callbacks_ = std::move(callbacks);
  loop_.Start();
  store_.Subscribe(this);
  return absl::OkStatus();
}

void MemoryRevocationFeed::Stop() {
  absl::MutexLock lock(&control_mu_);
  if (!started_ || stopping_) return;
  stopping_ = true;
  {
    absl::MutexLock queue_lock(&mu_);
    closed_ = true;
    queue_.clear();
  }
  store_.Unsubscribe(this);
  loop_.Stop();  // after the callback in progress, if any
}

void MemoryRevocationFeed::Enqueue(const Revocation& revocation) {
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return;
    queue_.push_back(revocation);
  }
  loop_.Wake();
}

absl::Duration MemoryRevocationFeed::DeliverQueued() {
  while (true) {
    Revocation next;
    {
      absl::MutexLock lock(&mu_);
      if (closed_ || queue_.empty()) return absl::InfiniteDuration();  // until the next Enqueue
      next = std::move(queue_.front());
      queue_.pop_front();
    }
    callbacks_.on_revocation(next);
  }
}

}  // namespace tokend::storage
