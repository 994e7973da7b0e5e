#include "tests/conformance/key_store_conformance.h"

#include <algorithm>
#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/signing_key_record.h"

namespace tokend::storage::conformance {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

// Stores read no clock: every time is explicit, relative to one fixed instant.
const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);

// Opaque ciphertext with NUL and high bytes in it, so binary safety is exercised.
std::string Envelope(const std::string& kid, char variant = 'a') {
  std::string bytes = absl::StrCat("\x01", kid, std::string(1, '\0'), "\xff\x80", kid);
  bytes.push_back(variant);
  return bytes;
}

SigningKeyRecord Key(const std::string& kid, KeyState state, absl::Time created = kT0) {
  SigningKeyRecord record;
  record.kid = kid;
  record.algorithm = "EdDSA";
  record.state = state;
  record.encrypted_private_key = Envelope(kid);
  record.public_jwk_json = absl::StrCat(R"({"kty":"OKP","crv":"Ed25519","x":"AAAA","kid":")", kid,
                                        R"(","alg":"EdDSA","use":"sig"})");
  record.kek_id = "kek-1";
  record.created_at = created;
  record.activates_at = created;
  return record;
}

std::vector<SigningKeyRecord> List(KeyStore& store) {
  absl::StatusOr<std::vector<SigningKeyRecord>> keys = store.ListKeys();
  EXPECT_TRUE(keys.ok()) << keys.status();
  return keys.ok() ? *keys : std::vector<SigningKeyRecord>();
}

// The stored record of `kid`; a test failure (and an empty record) if there is none.
SigningKeyRecord Find(KeyStore& store, const std::string& kid) {
  for (const SigningKeyRecord& key : List(store)) {
    if (key.kid == kid) return key;
  }
  ADD_FAILURE() << "no key " << kid;
  return SigningKeyRecord();
}

std::vector<std::string> KidsIn(KeyStore& store, KeyState state) {
  std::vector<std::string> kids;
  for (const SigningKeyRecord& key : List(store)) {
    if (key.state == state) kids.push_back(key.kid);
  }
  return kids;
}

void ExpectSameKey(const SigningKeyRecord& actual, const SigningKeyRecord& expected) {
  EXPECT_EQ(actual.kid, expected.kid);
  EXPECT_EQ(actual.algorithm, expected.algorithm);
  EXPECT_EQ(actual.state, expected.state);
  EXPECT_EQ(actual.encrypted_private_key, expected.encrypted_private_key);
  EXPECT_EQ(actual.public_jwk_json, expected.public_jwk_json);
  EXPECT_EQ(actual.kek_id, expected.kek_id);
  EXPECT_EQ(actual.origin, expected.origin);
  EXPECT_EQ(actual.created_at, expected.created_at);
  EXPECT_EQ(actual.activates_at, expected.activates_at);
  EXPECT_EQ(actual.retires_at, expected.retires_at);
  EXPECT_EQ(actual.remove_after, expected.remove_after);
  EXPECT_EQ(actual.removed_at, expected.removed_at);
  EXPECT_EQ(actual.removal_reason, expected.removal_reason);
}

KeyRotation Rotation(const std::string& retiring, const std::string& activating, absl::Time now) {
  KeyRotation rotation;
  rotation.retiring_kid = retiring;
  rotation.activating_kid = activating;
  rotation.now = now;
  rotation.remove_after = now + absl::Minutes(20);
  return rotation;
}

// Counts on_change calls, for a bounded wait.
class ChangeCounter {
 public:
  std::function<void()> Callback() {
    return [this] {
      absl::MutexLock lock(&mu_);
      ++changes_;
    };
  }
  // True once more than `seen` changes were reported, waiting up to `timeout`.
  bool WaitForMoreThan(int seen, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    const auto more = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return changes_ > seen; };
    return mu_.AwaitWithTimeout(absl::Condition(&more), timeout);
  }
  int changes() {
    absl::MutexLock lock(&mu_);
    return changes_;
  }

 private:
  absl::Mutex mu_;
  int changes_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace

void KeyStoreConformanceTest::SetUp() {
  harness_ = GetParam().make();
  if (IsSkipped() || HasFatalFailure()) return;
  ASSERT_NE(harness_, nullptr) << "could not set up " << GetParam().name;
}

void KeyStoreConformanceTest::TearDown() { harness_.reset(); }

std::string KeyStoreImplementationName(
    const ::testing::TestParamInfo<KeyStoreImplementation>& info) {
  return info.param.name;
}

void PrintTo(const KeyStoreImplementation& implementation, std::ostream* os) {
  *os << implementation.name;
}

// ---- insert and list -----------------------------------------------------------------------

TEST_P(KeyStoreConformanceTest, InsertedKeyIsListedWithEveryFieldByEveryReplica) {
  SigningKeyRecord key = Key("kid-1", KeyState::kRetired);
  key.origin = "imported";
  key.activates_at = kT0 + absl::Seconds(5);
  key.retires_at = kT0 + absl::Hours(1);
  key.remove_after = kT0 + absl::Hours(2);
  key.kek_id = "0123456789abcdef";
  ASSERT_TRUE(store().InsertKey(key).ok());
  std::vector<SigningKeyRecord> listed = List(peer());
  ASSERT_EQ(listed.size(), 1u);
  ExpectSameKey(listed[0], key);
}

TEST_P(KeyStoreConformanceTest, KeysAreListedInCreationOrder) {
  ASSERT_TRUE(store().InsertKey(Key("b", KeyState::kRetired, kT0 + absl::Seconds(2))).ok());
  ASSERT_TRUE(store().InsertKey(Key("c", KeyState::kActive, kT0 + absl::Seconds(1))).ok());
  ASSERT_TRUE(store().InsertKey(Key("a", KeyState::kNext, kT0 + absl::Seconds(3))).ok());
  std::vector<std::string> kids;
  for (const SigningKeyRecord& key : List(store())) kids.push_back(key.kid);
  EXPECT_THAT(kids, ElementsAre("c", "b", "a"));
}

TEST_P(KeyStoreConformanceTest, DuplicateKidIsAlreadyExists) {
  ASSERT_TRUE(store().InsertKey(Key("kid-1", KeyState::kRetired)).ok());
  EXPECT_EQ(peer().InsertKey(Key("kid-1", KeyState::kRetired)).code(),
            absl::StatusCode::kAlreadyExists);
}

TEST_P(KeyStoreConformanceTest, SecondActiveOrNextKeyIsRefused) {
  ASSERT_TRUE(store().InsertKey(Key("active-1", KeyState::kActive)).ok());
  ASSERT_TRUE(store().InsertKey(Key("next-1", KeyState::kNext)).ok());
  EXPECT_EQ(peer().InsertKey(Key("active-2", KeyState::kActive)).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(peer().InsertKey(Key("next-2", KeyState::kNext)).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(peer().InsertKey(Key("retired-1", KeyState::kRetired)).ok());
  EXPECT_THAT(KidsIn(store(), KeyState::kActive), ElementsAre("active-1"));
  EXPECT_THAT(KidsIn(store(), KeyState::kNext), ElementsAre("next-1"));
}

TEST_P(KeyStoreConformanceTest, ConcurrentFirstKeysFromTwoReplicasLeaveExactlyOneActive) {
  std::atomic<int> ok{0};
  std::atomic<int> exists{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) {
    threads.emplace_back([&, i] {
      KeyStore& replica = i == 0 ? store() : peer();
      const absl::Status status = replica.InsertKey(Key(absl::StrCat("r", i), KeyState::kActive));
      if (status.ok()) ++ok;
      if (status.code() == absl::StatusCode::kAlreadyExists) ++exists;
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(exists.load(), 1);
  EXPECT_EQ(KidsIn(store(), KeyState::kActive).size(), 1u);
}

TEST_P(KeyStoreConformanceTest, MalformedKeysAreInvalidArgument) {
  SigningKeyRecord no_kid = Key("", KeyState::kNext);
  EXPECT_EQ(store().InsertKey(no_kid).code(), absl::StatusCode::kInvalidArgument);
  SigningKeyRecord nul_kid = Key(std::string("a\0b", 3), KeyState::kNext);
  EXPECT_EQ(store().InsertKey(nul_kid).code(), absl::StatusCode::kInvalidArgument);
  SigningKeyRecord no_ciphertext = Key("k", KeyState::kNext);
  no_ciphertext.encrypted_private_key.clear();
  EXPECT_EQ(store().InsertKey(no_ciphertext).code(), absl::StatusCode::kInvalidArgument);
  SigningKeyRecord removed = Key("k", KeyState::kRemoved);
  EXPECT_EQ(store().InsertKey(removed).code(), absl::StatusCode::kInvalidArgument);
  SigningKeyRecord no_kek = Key("k", KeyState::kNext);
  no_kek.kek_id.clear();
  EXPECT_EQ(store().InsertKey(no_kek).code(), absl::StatusCode::kInvalidArgument);
  SigningKeyRecord infinite = Key("k", KeyState::kNext);
  infinite.activates_at = absl::InfiniteFuture();
  EXPECT_EQ(store().InsertKey(infinite).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(List(store()), IsEmpty());
}

// ---- rotation --------------------------------------------------------------------------------

TEST_P(KeyStoreConformanceTest, RotationRetiresTheActiveKeyAndActivatesTheNext) {
  ASSERT_TRUE(store().InsertKey(Key("old", KeyState::kActive)).ok());
  SigningKeyRecord next = Key("new", KeyState::kNext, kT0 + absl::Minutes(1));
  next.activates_at = kT0 + absl::Minutes(11);
  ASSERT_TRUE(store().InsertKey(next).ok());
  const absl::Time now = kT0 + absl::Minutes(12);
  ASSERT_TRUE(peer().Rotate(Rotation("old", "new", now)).ok());
  const SigningKeyRecord old_key = Find(store(), "old");
  EXPECT_EQ(old_key.state, KeyState::kRetired);
  EXPECT_EQ(old_key.retires_at, now);
  EXPECT_EQ(old_key.remove_after, now + absl::Minutes(20));
  const SigningKeyRecord new_key = Find(store(), "new");
  EXPECT_EQ(new_key.state, KeyState::kActive);
  EXPECT_EQ(new_key.activates_at, now);
  EXPECT_EQ(new_key.encrypted_private_key, Envelope("new"));
}

TEST_P(KeyStoreConformanceTest, RotationWithAStaleViewIsAbortedAndChangesNothing) {
  ASSERT_TRUE(store().InsertKey(Key("old", KeyState::kActive)).ok());
  ASSERT_TRUE(store().InsertKey(Key("new", KeyState::kNext)).ok());
  EXPECT_EQ(store().Rotate(Rotation("someone-else", "new", kT0)).code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(store().Rotate(Rotation("old", "not-next", kT0)).code(), absl::StatusCode::kAborted);
  EXPECT_EQ(store().Rotate(Rotation("", "new", kT0)).code(), absl::StatusCode::kAborted);
  EXPECT_EQ(store().Rotate(Rotation("new", "old", kT0)).code(), absl::StatusCode::kAborted);
  EXPECT_THAT(KidsIn(store(), KeyState::kActive), ElementsAre("old"));
  EXPECT_THAT(KidsIn(store(), KeyState::kNext), ElementsAre("new"));
  EXPECT_THAT(KidsIn(store(), KeyState::kRetired), IsEmpty());
}

TEST_P(KeyStoreConformanceTest, RotationWithoutAnActiveKeyPromotesTheNext) {
  ASSERT_TRUE(store().InsertKey(Key("new", KeyState::kNext)).ok());
  ASSERT_TRUE(store().Rotate(Rotation("", "new", kT0 + absl::Seconds(1))).ok());
  EXPECT_THAT(KidsIn(store(), KeyState::kActive), ElementsAre("new"));
}

TEST_P(KeyStoreConformanceTest, ConcurrentRotationsFromTwoReplicasSucceedExactlyOnce) {
  ASSERT_TRUE(store().InsertKey(Key("k0", KeyState::kActive)).ok());
  for (int round = 1; round <= 10; ++round) {
    const std::string active = absl::StrCat("k", round - 1);
    const std::string next = absl::StrCat("k", round);
    ASSERT_TRUE(store().InsertKey(Key(next, KeyState::kNext, kT0 + absl::Seconds(round))).ok());
    std::atomic<int> ok{0};
    std::atomic<int> aborted{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 2; ++i) {
      threads.emplace_back([&, i] {
        KeyStore& replica = i == 0 ? store() : peer();
        absl::Status status = replica.Rotate(Rotation(active, next, kT0 + absl::Seconds(round)));
        if (status.ok()) ++ok;
        if (status.code() == absl::StatusCode::kAborted) ++aborted;
      });
    }
    for (std::thread& thread : threads) thread.join();
    EXPECT_EQ(ok.load(), 1) << "round " << round;
    EXPECT_EQ(aborted.load(), 1) << "round " << round;
    EXPECT_THAT(KidsIn(store(), KeyState::kActive), ElementsAre(next));
  }
  EXPECT_EQ(KidsIn(store(), KeyState::kRetired).size(), 10u);
}

TEST_P(KeyStoreConformanceTest, RescheduleMovesOnlyTheNextKey) {
  ASSERT_TRUE(store().InsertKey(Key("old", KeyState::kActive)).ok());
  ASSERT_TRUE(store().InsertKey(Key("new", KeyState::kNext)).ok());
  ASSERT_TRUE(peer().RescheduleNext("new", kT0 + absl::Minutes(3)).ok());
  EXPECT_EQ(Find(store(), "new").activates_at, kT0 + absl::Minutes(3));
  EXPECT_EQ(store().RescheduleNext("old", kT0).code(), absl::StatusCode::kAborted);
  EXPECT_EQ(store().RescheduleNext("missing", kT0).code(), absl::StatusCode::kAborted);
  EXPECT_EQ(Find(store(), "old").activates_at, kT0);
}

// ---- removal ---------------------------------------------------------------------------------

TEST_P(KeyStoreConformanceTest, ExpiredRetiredKeysAreRemovedAndTheirCiphertextErased) {
  SigningKeyRecord due = Key("due", KeyState::kRetired);
  due.retires_at = kT0;
  due.remove_after = kT0 + absl::Minutes(10);
  SigningKeyRecord later = Key("later", KeyState::kRetired);
  later.retires_at = kT0;
  later.remove_after = kT0 + absl::Minutes(30);
  ASSERT_TRUE(store().InsertKey(due).ok());
  ASSERT_TRUE(store().InsertKey(later).ok());
  ASSERT_TRUE(store().InsertKey(Key("active", KeyState::kActive)).ok());

  absl::StatusOr<std::vector<std::string>> none = store().RemoveExpired(kT0 + absl::Minutes(9));
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_THAT(*none, IsEmpty());

  const absl::Time now = kT0 + absl::Minutes(10);
  absl::StatusOr<std::vector<std::string>> removed = peer().RemoveExpired(now);
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_THAT(*removed, ElementsAre("due"));
  const SigningKeyRecord gone = Find(store(), "due");
  EXPECT_EQ(gone.state, KeyState::kRemoved);
  EXPECT_EQ(gone.removed_at, now);
  EXPECT_EQ(gone.removal_reason, "expired");
  EXPECT_THAT(gone.encrypted_private_key, IsEmpty());
  EXPECT_FALSE(gone.public_jwk_json.empty());  // kept for audit
  EXPECT_EQ(Find(store(), "later").state, KeyState::kRetired);
  EXPECT_EQ(Find(store(), "active").state, KeyState::kActive);
}

TEST_P(KeyStoreConformanceTest, EmergencyRemovalOfARetiredKeyRemovesOnlyIt) {
  ASSERT_TRUE(store().InsertKey(Key("active", KeyState::kActive)).ok());
  ASSERT_TRUE(store().InsertKey(Key("retired", KeyState::kRetired)).ok());
  KeyRemoval removal;
  removal.kid = "retired";
  removal.now = kT0 + absl::Seconds(3);
  removal.reason = "compromised: ticket 42";
  absl::StatusOr<KeyRemovalResult> result = peer().RemoveKey(removal);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->previous_state, KeyState::kRetired);
  EXPECT_TRUE(result->new_active_kid.empty());
  const SigningKeyRecord gone = Find(store(), "retired");
  EXPECT_EQ(gone.state, KeyState::kRemoved);
  EXPECT_EQ(gone.removal_reason, "compromised: ticket 42");
  EXPECT_EQ(gone.removed_at, removal.now);
  EXPECT_THAT(gone.encrypted_private_key, IsEmpty());
  EXPECT_THAT(KidsIn(store(), KeyState::kActive), ElementsAre("active"));
}

TEST_P(KeyStoreConformanceTest, EmergencyRemovalOfTheActiveKeyPromotesTheNextKey) {
  ASSERT_TRUE(store().InsertKey(Key("active", KeyState::kActive)).ok());
  SigningKeyRecord next = Key("next", KeyState::kNext);
  next.activates_at = kT0 + absl::Hours(1);
  ASSERT_TRUE(store().InsertKey(next).ok());
  KeyRemoval removal;
  removal.kid = "active";
  removal.now = kT0 + absl::Minutes(1);
  removal.reason = "compromised";
  removal.replacement = Key("unused-replacement", KeyState::kActive);
  absl::StatusOr<KeyRemovalResult> result = store().RemoveKey(removal);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->previous_state, KeyState::kActive);
  EXPECT_EQ(result->new_active_kid, "next");
  EXPECT_EQ(Find(store(), "active").state, KeyState::kRemoved);
  EXPECT_EQ(Find(store(), "active").retires_at, removal.now);
  EXPECT_EQ(Find(store(), "next").state, KeyState::kActive);
  EXPECT_EQ(Find(store(), "next").activates_at, removal.now);
  EXPECT_EQ(List(store()).size(), 2u);  // the replacement was not needed
}

TEST_P(KeyStoreConformanceTest, EmergencyRemovalOfTheActiveKeyWithoutNextInstallsReplacement) {
  ASSERT_TRUE(store().InsertKey(Key("active", KeyState::kActive)).ok());
  KeyRemoval removal;
  removal.kid = "active";
  removal.now = kT0 + absl::Minutes(1);
  removal.reason = "compromised";
  EXPECT_EQ(store().RemoveKey(removal).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(KidsIn(store(), KeyState::kActive), ElementsAre("active"));

  removal.replacement = Key("fresh", KeyState::kNext, removal.now);
  absl::StatusOr<KeyRemovalResult> result = peer().RemoveKey(removal);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->new_active_kid, "fresh");
  const SigningKeyRecord fresh = Find(store(), "fresh");
  EXPECT_EQ(fresh.state, KeyState::kActive);
  EXPECT_EQ(fresh.activates_at, removal.now);
  EXPECT_EQ(fresh.encrypted_private_key, Envelope("fresh"));
  EXPECT_EQ(Find(store(), "active").state, KeyState::kRemoved);
}

TEST_P(KeyStoreConformanceTest, RemovalIsIdempotentAndUnknownKidsAreNotFound) {
  ASSERT_TRUE(store().InsertKey(Key("active", KeyState::kActive)).ok());
  ASSERT_TRUE(store().InsertKey(Key("next", KeyState::kNext)).ok());
  KeyRemoval removal;
  removal.kid = "next";
  removal.now = kT0 + absl::Seconds(1);
  removal.reason = "first";
  ASSERT_TRUE(store().RemoveKey(removal).ok());
  removal.now = kT0 + absl::Seconds(2);
  removal.reason = "second";
  absl::StatusOr<KeyRemovalResult> again = store().RemoveKey(removal);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->previous_state, KeyState::kRemoved);
  EXPECT_EQ(Find(store(), "next").removal_reason, "first");
  EXPECT_EQ(Find(store(), "next").removed_at, kT0 + absl::Seconds(1));
  removal.kid = "missing";
  EXPECT_EQ(store().RemoveKey(removal).status().code(), absl::StatusCode::kNotFound);
}

// ---- KEK rotation ----------------------------------------------------------------------------

TEST_P(KeyStoreConformanceTest, RewrapReplacesEveryCiphertextAndKekId) {
  ASSERT_TRUE(store().InsertKey(Key("a", KeyState::kActive)).ok());
  ASSERT_TRUE(store().InsertKey(Key("b", KeyState::kRetired)).ok());
  ASSERT_TRUE(store().InsertKey(Key("c", KeyState::kNext)).ok());
  KeyRemoval removal;
  removal.kid = "b";
  removal.now = kT0;
  ASSERT_TRUE(store().RemoveKey(removal).ok());  // removed keys need no rewrap
  std::vector<KeyRewrap> rewraps = {{"a", "kek-1", Envelope("a", 'z')},
                                    {"c", "kek-1", Envelope("c", 'z')}};
  ASSERT_TRUE(peer().RewrapKeys(rewraps, "kek-2").ok());
  EXPECT_EQ(Find(store(), "a").kek_id, "kek-2");
  EXPECT_EQ(Find(store(), "a").encrypted_private_key, Envelope("a", 'z'));
  EXPECT_EQ(Find(store(), "c").kek_id, "kek-2");
  EXPECT_EQ(Find(store(), "c").encrypted_private_key, Envelope("c", 'z'));
  EXPECT_EQ(Find(store(), "a").state, KeyState::kActive);
}

TEST_P(KeyStoreConformanceTest, RewrapIsAllOrNothing) {
  ASSERT_TRUE(store().InsertKey(Key("a", KeyState::kActive)).ok());
  ASSERT_TRUE(store().InsertKey(Key("c", KeyState::kNext)).ok());
  // A stale from_kek_id for one key: nothing changes.
  std::vector<KeyRewrap> stale = {{"a", "kek-1", Envelope("a", 'z')},
                                  {"c", "kek-0", Envelope("c", 'z')}};
  EXPECT_EQ(store().RewrapKeys(stale, "kek-2").code(), absl::StatusCode::kAborted);
  // A key left out (e.g. inserted after the caller listed): nothing changes.
  std::vector<KeyRewrap> partial = {{"a", "kek-1", Envelope("a", 'z')}};
  EXPECT_EQ(store().RewrapKeys(partial, "kek-2").code(), absl::StatusCode::kAborted);
  // An unknown kid: nothing changes.
  std::vector<KeyRewrap> unknown = {{"a", "kek-1", Envelope("a", 'z')},
                                    {"c", "kek-1", Envelope("c", 'z')},
                                    {"x", "kek-1", Envelope("x", 'z')}};
  EXPECT_EQ(store().RewrapKeys(unknown, "kek-2").code(), absl::StatusCode::kAborted);
  for (const SigningKeyRecord& key : List(store())) {
    EXPECT_EQ(key.kek_id, "kek-1") << key.kid;
    EXPECT_EQ(key.encrypted_private_key, Envelope(key.kid)) << key.kid;
  }
}

// ---- change feed -----------------------------------------------------------------------------

TEST_P(KeyStoreConformanceTest, FeedReportsEveryKindOfChangeFromAnyReplica) {
  ChangeCounter counter;
  std::unique_ptr<KeyChangeFeed> feed = harness().NewFeed();
  ASSERT_TRUE(feed->Start(counter.Callback()).ok());
  const absl::Duration timeout = absl::Seconds(10);

  int seen = counter.changes();
  ASSERT_TRUE(peer().InsertKey(Key("a", KeyState::kActive)).ok());
  EXPECT_TRUE(counter.WaitForMoreThan(seen, timeout)) << "insert";

  ASSERT_TRUE(peer().InsertKey(Key("b", KeyState::kNext)).ok());
  seen = counter.changes();
  ASSERT_TRUE(peer().Rotate(Rotation("a", "b", kT0 + absl::Seconds(1))).ok());
  EXPECT_TRUE(counter.WaitForMoreThan(seen, timeout)) << "rotate";

  seen = counter.changes();
  ASSERT_TRUE(peer().RemoveExpired(kT0 + absl::Hours(1)).ok());
  EXPECT_TRUE(counter.WaitForMoreThan(seen, timeout)) << "remove expired";

  seen = counter.changes();
  KeyRemoval removal;
  removal.kid = "b";
  removal.now = kT0 + absl::Hours(1);
  removal.replacement = Key("c", KeyState::kActive);
  ASSERT_TRUE(peer().RemoveKey(removal).ok());
  EXPECT_TRUE(counter.WaitForMoreThan(seen, timeout)) << "emergency removal";

  seen = counter.changes();
  ASSERT_TRUE(peer().RewrapKeys({{"c", "kek-1", Envelope("c", 'z')}}, "kek-2").ok());
  EXPECT_TRUE(counter.WaitForMoreThan(seen, timeout)) << "rewrap";
  feed->Stop();
}

TEST_P(KeyStoreConformanceTest, FailedOperationsAreNotReported) {
  ASSERT_TRUE(store().InsertKey(Key("a", KeyState::kActive)).ok());
  ChangeCounter counter;
  std::unique_ptr<KeyChangeFeed> feed = harness().NewFeed();
  ASSERT_TRUE(feed->Start(counter.Callback()).ok());
  EXPECT_FALSE(peer().InsertKey(Key("a", KeyState::kRetired)).ok());
  EXPECT_FALSE(peer().Rotate(Rotation("a", "nope", kT0)).ok());
  // A later successful change is reported; nothing before it was.
  ASSERT_TRUE(peer().InsertKey(Key("marker", KeyState::kRetired)).ok());
  ASSERT_TRUE(counter.WaitForMoreThan(0, absl::Seconds(10)));
  feed->Stop();
  EXPECT_EQ(counter.changes(), 1);
}

}  // namespace tokend::storage::conformance
