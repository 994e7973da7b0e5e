#include "services/tokend/keys/key_metrics.h"

#include <algorithm>
#include <limits>
#include <string>

namespace tokend::keys {

std::string_view KeyOperationName(KeyOperation operation) {
  switch (operation) {
    case KeyOperation::kReload:
      return "reload";
    case KeyOperation::kCreate:
      return "create";
    case KeyOperation::kRotate:
      return "rotate";
    case KeyOperation::kRemove:
      return "remove";
  }
  return "unknown";
}

KeyMetrics::KeyMetrics(prometheus::Registry& registry)
    : keys(prometheus::BuildGauge()
               .Name("tokend_signing_keys")
               .Help("Signing keys by lifecycle state (next, active, retired, removed).")
               .Register(registry)),
      age_seconds(prometheus::BuildGauge()
                      .Name("tokend_signing_key_age_seconds")
                      .Help("Age of the active signing key, in seconds.")
                      .Register(registry)),
      next_rotation_seconds(prometheus::BuildGauge()
                                .Name("tokend_signing_key_next_rotation_seconds")
                                .Help("Seconds until the next signing key starts signing.")
                                .Register(registry)),
      next_rotation_timestamp_seconds(
          prometheus::BuildGauge()
              .Name("tokend_signing_key_next_rotation_timestamp_seconds")
              .Help("When the next signing key starts signing (Unix time, seconds).")
              .Register(registry)),
      rotations_total(prometheus::BuildCounter()
                          .Name("tokend_signing_key_rotations_total")
                          .Help("Signing-key rotations committed by this replica.")
                          .Register(registry)),
      failures_total(prometheus::BuildCounter()
                         .Name("tokend_key_rotation_failures_total")
                         .Help("Failed signing-key lifecycle operations, by operation.")
                         .Register(registry)) {
  for (storage::KeyState state : {storage::KeyState::kNext, storage::KeyState::kActive,
                                  storage::KeyState::kRetired, storage::KeyState::kRemoved}) {
    by_state_[static_cast<size_t>(state)] =
        &keys.Add({{"state", std::string(storage::KeyStateName(state))}});
  }
  age_ = &age_seconds.Add({});
  next_rotation_ = &next_rotation_seconds.Add({});
  next_rotation_at_ = &next_rotation_timestamp_seconds.Add({});
  rotations_ = &rotations_total.Add({});
  for (size_t i = 0; i < kKeyOperationCount; ++i) {
    failures_[i] = &failures_total.Add(
        {{"operation", std::string(KeyOperationName(static_cast<KeyOperation>(i)))}});
  }
}

void KeyMetrics::SetKeysByState(const std::array<size_t, 4>& counts) {
  for (size_t i = 0; i < counts.size(); ++i) by_state_[i]->Set(static_cast<double>(counts[i]));
}

void KeyMetrics::SetActiveKeyAge(absl::Duration age) {
  age_->Set(absl::ToDoubleSeconds(std::max(age, absl::ZeroDuration())));
}

void KeyMetrics::SetNextRotation(absl::Time at, absl::Time now) {
  if (at == absl::InfiniteFuture()) {
    next_rotation_->Set(std::numeric_limits<double>::infinity());
    next_rotation_at_->Set(std::numeric_limits<double>::infinity());
    return;
  }
  next_rotation_->Set(absl::ToDoubleSeconds(std::max(at - now, absl::ZeroDuration())));
  next_rotation_at_->Set(absl::ToDoubleSeconds(at - absl::UnixEpoch()));
}

void KeyMetrics::RecordRotation() { rotations_->Increment(); }

void KeyMetrics::RecordFailure(KeyOperation operation) {
  failures_[static_cast<size_t>(operation)]->Increment();
}

}  // namespace tokend::keys
