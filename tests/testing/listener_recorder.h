#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "storage/postgres/channel_listener.h"

namespace tokend::testing {

// Records what a pg::ChannelListener reports (payloads, gaps, warnings) so a test can wait for
// it. The payload kMalformed is refused as a decoder would refuse a malformed one. Every wait
// gives up after `patience`. Thread-safe.
class ListenerRecorder {
 public:
  static constexpr std::string_view kMalformed = "BAD-PAYLOAD";

  explicit ListenerRecorder(absl::Duration patience = absl::Seconds(10)) : patience_(patience) {}

  storage::pg::ChannelListener::Callbacks Callbacks() {
    storage::pg::ChannelListener::Callbacks callbacks;
    callbacks.on_payload = [this](std::string_view payload) {
      if (payload == kMalformed) return false;
      absl::MutexLock lock(&mu_);
      payloads_.emplace_back(payload);
      return true;
    };
    callbacks.on_gap = [this] {
      absl::MutexLock lock(&mu_);
      ++gaps_;
    };
    return callbacks;
  }
  // For PostgresFeedOptions::log_warning.
  std::function<void(std::string_view)> Logger() {
    return [this](std::string_view line) {
      absl::MutexLock lock(&mu_);
      warnings_.emplace_back(line);
    };
  }

  bool AwaitPayloads(size_t n) {
    absl::MutexLock lock(&mu_);
    auto reached = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return payloads_.size() >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&reached), patience_);
  }
  bool AwaitPayload(const std::string& payload) {
    absl::MutexLock lock(&mu_);
    auto heard = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return std::find(payloads_.begin(), payloads_.end(), payload) != payloads_.end();
    };
    return mu_.AwaitWithTimeout(absl::Condition(&heard), patience_);
  }
  bool AwaitGaps(int n) {
    absl::MutexLock lock(&mu_);
    auto reached = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return gaps_ >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&reached), patience_);
  }

  std::vector<std::string> payloads() {
    absl::MutexLock lock(&mu_);
    return payloads_;
  }
  std::vector<std::string> warnings() {
    absl::MutexLock lock(&mu_);
    return warnings_;
  }
  int gaps() {
    absl::MutexLock lock(&mu_);
    return gaps_;
  }

 private:
  const absl::Duration patience_;
  absl::Mutex mu_;
  std::vector<std::string> payloads_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> warnings_ ABSL_GUARDED_BY(mu_);
  int gaps_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace tokend::testing
