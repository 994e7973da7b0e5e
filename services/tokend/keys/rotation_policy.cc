#include "services/tokend/keys/rotation_policy.h"

#include <algorithm>

namespace tokend::keys {
namespace {

using storage::KeyState;
using storage::SigningKeyRecord;

const SigningKeyRecord* FindState(const std::vector<SigningKeyRecord>& keys, KeyState state) {
  for (const SigningKeyRecord& key : keys) {
    if (key.state == state) return &key;
  }
  return nullptr;
}

}  // namespace

RotationPolicy::RotationPolicy(const LifecycleTimings& timings)
    : timings_(timings),
      publish_lead_(timings.jwks_max_age + timings.clock_skew + timings.propagation),
      retire_window_(timings.access_ttl_max + timings.clock_skew + timings.propagation) {}

absl::StatusOr<RotationPolicy> RotationPolicy::Create(const LifecycleTimings& timings) {
  if (timings.rotation_period < absl::Seconds(1)) {
    return absl::InvalidArgumentError("key rotation period must be at least 1s");
  }
  if (timings.access_ttl_max <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("access_ttl_max must be positive");
  }
  if (timings.jwks_max_age < absl::ZeroDuration() || timings.clock_skew < absl::ZeroDuration() ||
      timings.propagation < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "jwks_max_age, clock_skew and the propagation delay must not be negative");
  }
  return RotationPolicy(timings);
}

KeyPlan RotationPolicy::Plan(const std::vector<SigningKeyRecord>& keys, absl::Time now) const {
  KeyPlan plan;
  const SigningKeyRecord* active = FindState(keys, KeyState::kActive);
  const SigningKeyRecord* next = FindState(keys, KeyState::kNext);
  if (active == nullptr && next == nullptr) {
    plan.create_active = true;  // the very first key (or recovery): nothing to pre-publish for
  } else if (active == nullptr) {
    // Nothing signs: promote the next key at once rather than leave the service without a key.
    plan.rotate = storage::KeyRotation{"", next->kid, now, absl::InfiniteFuture()};
  } else if (next != nullptr) {
    plan.next_rotation_at = next->activates_at;
    if (now >= next->activates_at) {
      plan.rotate = storage::KeyRotation{active->kid, next->kid, now, now + retire_window_};
    } else {
      plan.wake_at = std::min(plan.wake_at, next->activates_at);
    }
  } else {
    const absl::Time due = active->activates_at + timings_.rotation_period;
    const absl::Time prepare_at = due - publish_lead_;
    // Where the schedule says the rotation belongs, even while preparing it keeps failing, so
    // an overdue rotation shows (TokendKeyRotationOverdue).
    plan.next_rotation_at =
        active->activates_at + std::max(timings_.rotation_period, publish_lead_);
    if (now >= prepare_at) {
      plan.create_next = std::max(due, now + publish_lead_);
    } else {
      plan.wake_at = std::min(plan.wake_at, prepare_at);
    }
  }
  for (const SigningKeyRecord& key : keys) {
    if (key.state != KeyState::kRetired) continue;
    if (key.remove_after <= now) {
      plan.remove_expired = true;
    } else {
      plan.wake_at = std::min(plan.wake_at, key.remove_after);
    }
  }
  if (plan.has_action()) plan.wake_at = now;
  return plan;
}

const SigningKeyRecord* SigningRecordAt(const std::vector<SigningKeyRecord>& keys, absl::Time now) {
  const SigningKeyRecord* next = FindState(keys, KeyState::kNext);
  if (next != nullptr && next->activates_at <= now) return next;
  return FindState(keys, KeyState::kActive);
}

bool IsPublished(KeyState state) {
  return state == KeyState::kNext || state == KeyState::kActive || state == KeyState::kRetired;
}

}  // namespace tokend::keys
