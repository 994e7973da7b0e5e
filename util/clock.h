#pragma once

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace tokend::util {

// The only source of "now" in the service; tests inject a FakeClock.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

// Wall-clock time. The one place outside tests that calls absl::Now().
class SystemClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

}  // namespace tokend::util
