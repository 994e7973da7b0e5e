#include "services/tokend/keys/rotation_policy.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tokend::keys {
namespace {

using storage::KeyState;
using storage::SigningKeyRecord;

const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);

LifecycleTimings Timings() {
  LifecycleTimings timings;
  timings.rotation_period = absl::Hours(24);
  timings.jwks_max_age = absl::Minutes(10);
  timings.access_ttl_max = absl::Minutes(15);
  timings.clock_skew = absl::Seconds(30);
  timings.propagation = absl::Seconds(11);
  return timings;
}

RotationPolicy Policy(const LifecycleTimings& timings = Timings()) {
  absl::StatusOr<RotationPolicy> policy = RotationPolicy::Create(timings);
  EXPECT_TRUE(policy.ok()) << policy.status();
  return *policy;
}

SigningKeyRecord Key(const std::string& kid, KeyState state, absl::Time activates_at) {
  SigningKeyRecord key;
  key.kid = kid;
  key.state = state;
  key.created_at = activates_at;
  key.activates_at = activates_at;
  return key;
}

TEST(RotationPolicyTest, LeadAndRetireWindowCoverCachesTokensSkewAndPropagation) {
  const RotationPolicy policy = Policy();
  EXPECT_EQ(policy.publish_lead(), absl::Minutes(10) + absl::Seconds(30) + absl::Seconds(11));
  EXPECT_EQ(policy.retire_window(), absl::Minutes(15) + absl::Seconds(30) + absl::Seconds(11));
}

TEST(RotationPolicyTest, NonsenseTimingsAreRefused) {
  LifecycleTimings timings = Timings();
  timings.rotation_period = absl::Milliseconds(500);
  EXPECT_FALSE(RotationPolicy::Create(timings).ok());
  timings = Timings();
  timings.access_ttl_max = absl::ZeroDuration();
  EXPECT_FALSE(RotationPolicy::Create(timings).ok());
  timings = Timings();
  timings.jwks_max_age = -absl::Seconds(1);
  EXPECT_FALSE(RotationPolicy::Create(timings).ok());
}

TEST(RotationPolicyTest, EmptyStoreNeedsAnActiveKey) {
  const KeyPlan plan = Policy().Plan({}, kT0);
  EXPECT_TRUE(plan.create_active);
  EXPECT_TRUE(plan.has_action());
}

TEST(RotationPolicyTest, NextKeyIsPreparedOneLeadBeforeTheRotationIsDue) {
  const RotationPolicy policy = Policy();
  const std::vector<SigningKeyRecord> keys = {Key("a", KeyState::kActive, kT0)};
  const absl::Time due = kT0 + absl::Hours(24);
  const absl::Time prepare_at = due - policy.publish_lead();

  const KeyPlan early = policy.Plan(keys, prepare_at - absl::Seconds(1));
  EXPECT_FALSE(early.has_action());
  EXPECT_EQ(early.wake_at, prepare_at);
  EXPECT_EQ(early.next_rotation_at, due);

  const KeyPlan on_time = policy.Plan(keys, prepare_at);
  ASSERT_TRUE(on_time.create_next.has_value());
  EXPECT_EQ(*on_time.create_next, due);

  // Prepared late (e.g. the store was down): still a full lead before it signs.
  const absl::Time late = due + absl::Hours(1);
  const KeyPlan overdue = policy.Plan(keys, late);
  ASSERT_TRUE(overdue.create_next.has_value());
  EXPECT_EQ(*overdue.create_next, late + policy.publish_lead());
  EXPECT_EQ(overdue.next_rotation_at, due) << "an overdue rotation must show as overdue";
}

TEST(RotationPolicyTest, PeriodShorterThanTheLeadRotatesOncePerLead) {
  LifecycleTimings timings = Timings();
  timings.rotation_period = absl::Seconds(2);
  timings.jwks_max_age = absl::Seconds(3);
  timings.clock_skew = absl::ZeroDuration();
  timings.propagation = absl::Seconds(1);
  const RotationPolicy policy = Policy(timings);
  const KeyPlan plan = policy.Plan({Key("a", KeyState::kActive, kT0)}, kT0);
  ASSERT_TRUE(plan.create_next.has_value());
  EXPECT_EQ(*plan.create_next, kT0 + absl::Seconds(4));
}

TEST(RotationPolicyTest, DueNextKeyIsRotatedInWithTheRetireWindow) {
  const RotationPolicy policy = Policy();
  const absl::Time activates = kT0 + absl::Hours(24);
  std::vector<SigningKeyRecord> keys = {Key("a", KeyState::kActive, kT0),
                                        Key("b", KeyState::kNext, activates)};
  keys[1].created_at = activates - policy.publish_lead();

  const KeyPlan waiting = policy.Plan(keys, activates - absl::Seconds(1));
  EXPECT_FALSE(waiting.has_action());
  EXPECT_EQ(waiting.wake_at, activates);

  const absl::Time now = activates + absl::Seconds(2);
  const KeyPlan due = policy.Plan(keys, now);
  ASSERT_TRUE(due.rotate.has_value());
  EXPECT_EQ(due.rotate->retiring_kid, "a");
  EXPECT_EQ(due.rotate->activating_kid, "b");
  EXPECT_EQ(due.rotate->now, now);
  EXPECT_EQ(due.rotate->remove_after, now + policy.retire_window());
}

TEST(RotationPolicyTest, NextKeyWithoutActiveKeyIsPromotedAtOnce) {
  const KeyPlan plan = Policy().Plan({Key("b", KeyState::kNext, kT0 + absl::Hours(1))}, kT0);
  ASSERT_TRUE(plan.rotate.has_value());
  EXPECT_EQ(plan.rotate->retiring_kid, "");
  EXPECT_EQ(plan.rotate->activating_kid, "b");
}

TEST(RotationPolicyTest, RetiredKeysAreRemovedOnlyOnceTheirWindowHasPassed) {
  const RotationPolicy policy = Policy();
  std::vector<SigningKeyRecord> keys = {Key("a", KeyState::kActive, kT0),
                                        Key("old", KeyState::kRetired, kT0 - absl::Hours(1))};
  keys[1].remove_after = kT0 + absl::Minutes(16);
  const KeyPlan before = policy.Plan(keys, kT0 + absl::Minutes(15));
  EXPECT_FALSE(before.remove_expired);
  EXPECT_EQ(before.wake_at, kT0 + absl::Minutes(16));
  EXPECT_TRUE(policy.Plan(keys, kT0 + absl::Minutes(16)).remove_expired);
}

TEST(SigningRecordAtTest, NextKeySignsFromItsActivationTimeEvenBeforeTheStoreSaysSo) {
  const std::vector<SigningKeyRecord> keys = {Key("a", KeyState::kActive, kT0),
                                              Key("b", KeyState::kNext, kT0 + absl::Hours(1))};
  EXPECT_EQ(SigningRecordAt(keys, kT0 + absl::Minutes(59))->kid, "a");
  EXPECT_EQ(SigningRecordAt(keys, kT0 + absl::Hours(1))->kid, "b");
  EXPECT_EQ(SigningRecordAt({}, kT0), nullptr);
  EXPECT_EQ(SigningRecordAt({Key("r", KeyState::kRetired, kT0)}, kT0), nullptr);
}

TEST(SigningRecordAtTest, OnlyNextActiveAndRetiredKeysArePublished) {
  EXPECT_TRUE(IsPublished(KeyState::kNext));
  EXPECT_TRUE(IsPublished(KeyState::kActive));
  EXPECT_TRUE(IsPublished(KeyState::kRetired));
  EXPECT_FALSE(IsPublished(KeyState::kRemoved));
}

}  // namespace
}  // namespace tokend::keys
