#pragma once

#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "storage/key_store.h"
#include "storage/signing_key_record.h"

namespace tokend::keys {

// The durations the key lifecycle is built from (flags in main.cc).
struct LifecycleTimings {
  absl::Duration rotation_period = absl::Hours(24);   // --key_rotation_period
  absl::Duration jwks_max_age = absl::Minutes(10);    // --jwks_max_age: how long verifiers cache
  absl::Duration access_ttl_max = absl::Minutes(15);  // --access_ttl_max: longest token lifetime
  absl::Duration clock_skew = absl::Seconds(30);      // --clock_skew
  // How long a change may take to reach every replica: the periodic reload interval plus slack
  // (LISTEN/NOTIFY is usually far faster; this bounds the case where a notification is lost).
  absl::Duration propagation = absl::Seconds(11);
};

// What one replica should do to the stored keys now.
struct KeyPlan {
  bool create_active = false;                   // no active and no next key: create an active key
  std::optional<absl::Time> create_next;        // create a next key activating at this time
  std::optional<storage::KeyRotation> rotate;   // promote the next key (compare-and-set)
  bool remove_expired = false;                  // a retired key's remove_after has passed
  absl::Time wake_at = absl::InfiniteFuture();  // when the plan changes, absent store changes
  // When the next key is due to sign by the schedule (a past time: the rotation is overdue).
  absl::Time next_rotation_at = absl::InfiniteFuture();

  bool has_action() const {
    return create_active || create_next.has_value() || rotate.has_value() || remove_expired;
  }
};

// The timing rules of the key lifecycle, as pure functions of the stored keys and a time.
//
//   publish_lead  = jwks_max_age + clock_skew + propagation
//   retire_window = access_ttl_max + clock_skew + propagation
//
// Guarantees (given replicas that reload within `propagation`):
// - publish-before-use: a next key activates no earlier than publish_lead after it was created,
//   so every JWKS any verifier may still have cached when the key starts signing was fetched
//   after every replica published the key;
// - a retired key stays published for retire_window after it stopped signing: every token it
//   signed (at most access_ttl_max long, accepted up to clock_skew past exp) has expired by then;
// - a successor is prepared so that it activates rotation_period after the active key did (or
//   publish_lead after it is created, if later: the effective period is never below the lead).
// Immutable, thread-safe.
class RotationPolicy {
 public:
  // INVALID_ARGUMENT unless rotation_period >= 1s, access_ttl_max > 0 and the other durations
  // are >= 0.
  static absl::StatusOr<RotationPolicy> Create(const LifecycleTimings& timings);

  absl::Duration publish_lead() const { return publish_lead_; }
  absl::Duration retire_window() const { return retire_window_; }
  absl::Duration rotation_period() const { return timings_.rotation_period; }
  const LifecycleTimings& timings() const { return timings_; }

  KeyPlan Plan(const std::vector<storage::SigningKeyRecord>& keys, absl::Time now) const;

 private:
  explicit RotationPolicy(const LifecycleTimings& timings);

  LifecycleTimings timings_;
  absl::Duration publish_lead_;
  absl::Duration retire_window_;
};

// The key that signs at `now`: the next key once its activates_at has passed, else the active
// key; nullptr if neither exists. Why the next key may sign before the store records it as
// active: every replica then switches at the same instant by its own clock, instead of whenever
// it hears of the rotation; the key has been published for publish_lead by then, and the store
// catches up with one compare-and-set by whichever replica gets there first.
const storage::SigningKeyRecord* SigningRecordAt(const std::vector<storage::SigningKeyRecord>& keys,
                                                 absl::Time now);

// True for the states whose keys are in the JWKS: next, active and retired.
bool IsPublished(storage::KeyState state);

}  // namespace tokend::keys
