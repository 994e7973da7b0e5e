#pragma once

#include <array>
#include <cstddef>
#include <string_view>

#include "absl/time/time.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"
#include "storage/signing_key_record.h"

namespace tokend::keys {

// Why a key-lifecycle operation failed, for tokend_signing_key_rotation_failures_total.
enum class KeyOperation { kReload, kCreate, kRotate, kRemove };
inline constexpr size_t kKeyOperationCount = 4;
std::string_view KeyOperationName(KeyOperation operation);  // "reload", "create", ...

// The metric families of the signing-key lifecycle, registered on `registry` (which must outlive
// this object):
//   tokend_signing_keys{state}                           gauge: keys per state (removed too)
//   tokend_signing_key_age_seconds                       gauge: age of the key signing now
//   tokend_signing_key_next_rotation_seconds             gauge: time until the next key signs
//   tokend_signing_key_next_rotation_timestamp_seconds   gauge: when it does (Unix time; what
//                                                        alerts use, exact between scrapes)
//   tokend_signing_key_rotations_total                   counter: rotations this replica made
//   tokend_key_rotation_failures_total{operation}        counter: failed lifecycle operations
// tokend_signing_key_age_seconds has the same name and type as in core::TokenMetrics;
// prometheus-cpp merges the two registrations into one family. Labels never hold key material.
// Thread-safe.
class KeyMetrics {
 public:
  explicit KeyMetrics(prometheus::Registry& registry);
  KeyMetrics(const KeyMetrics&) = delete;
  KeyMetrics& operator=(const KeyMetrics&) = delete;

  // counts[i] for storage::KeyState i (kNext, kActive, kRetired, kRemoved).
  void SetKeysByState(const std::array<size_t, 4>& counts);
  void SetActiveKeyAge(absl::Duration age);
  // When the next key starts signing, seen at `now` (InfiniteFuture: nothing scheduled, shown as
  // +Inf); a time already past shows 0 seconds to go.
  void SetNextRotation(absl::Time at, absl::Time now);
  void RecordRotation();
  void RecordFailure(KeyOperation operation);

  prometheus::Family<prometheus::Gauge>& keys;
  prometheus::Family<prometheus::Gauge>& age_seconds;
  prometheus::Family<prometheus::Gauge>& next_rotation_seconds;
  prometheus::Family<prometheus::Gauge>& next_rotation_timestamp_seconds;
  prometheus::Family<prometheus::Counter>& rotations_total;
  prometheus::Family<prometheus::Counter>& failures_total;

 private:
  std::array<prometheus::Gauge*, 4> by_state_{};
  prometheus::Gauge* age_ = nullptr;
  prometheus::Gauge* next_rotation_ = nullptr;
  prometheus::Gauge* next_rotation_at_ = nullptr;
  prometheus::Counter* rotations_ = nullptr;
  std::array<prometheus::Counter*, kKeyOperationCount> failures_{};
};

}  // namespace tokend::keys
