#include "services/tokend/keys/key_manager.h"

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "jwt/key_set.h"
#include "prometheus/registry.h"
#include "services/tokend/keys/key_encryption.h"
#include "services/tokend/keys/key_metrics.h"
#include "services/tokend/keys/key_ring.h"
#include "storage/memory/memory_key_change_feed.h"
#include "storage/memory/memory_key_store.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/manual_waiter.h"
#include "tests/testing/metric_value.h"

namespace tokend::keys {
namespace {

using storage::KeyState;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;
using ::testing::UnorderedElementsAre;

Kek MakeKek(char fill) {
  absl::StatusOr<Kek> kek = Kek::FromBytes(jwt::SecretData(std::string(32, fill)));
  EXPECT_TRUE(kek.ok()) << kek.status();
  return *kek;
}

// A signature made by a replica, to be verified later by any replica's published keys.
struct Signed {
  std::string kid;
  std::string input;
  std::string signature;
};

Signed SignWith(const KeyRing& ring, const std::string& input = "header.payload") {
  const jwt::SigningKey key = ring.ActiveKey();
  absl::StatusOr<std::string> signature = key.Sign(input);
  EXPECT_TRUE(signature.ok()) << signature.status();
  return Signed{key.kid(), input, signature.ok() ? *signature : ""};
}

// What a verifier does: find the kid among the published keys and check the signature.
bool Verifies(const KeyRing& ring, const Signed& token) {
  const std::shared_ptr<const jwt::KeySet> keys = ring.VerificationKeys();
  const jwt::VerificationKey* key = keys->Find(token.kid);
  return key != nullptr && key->VerifySignature(token.input, token.signature);
}

std::vector<std::string> Published(const KeyRing& ring) {
  std::vector<std::string> kids;
  for (const jwt::VerificationKey& key : ring.VerificationKeys()->keys()) kids.push_back(key.kid());
  std::sort(kids.begin(), kids.end());
  return kids;
}

// Fails selected store operations, to observe how the manager copes.
class FlakyKeyStore : public storage::KeyStore {
 public:
  explicit FlakyKeyStore(storage::KeyStore& inner) : inner_(inner) {}
  bool fail_writes = false;

  absl::StatusOr<std::vector<storage::SigningKeyRecord>> ListKeys() override {
    return inner_.ListKeys();
  }
  absl::Status InsertKey(const storage::SigningKeyRecord& record) override {
    if (fail_writes) return absl::UnavailableError("injected");
    return inner_.InsertKey(record);
  }
  absl::Status Rotate(const storage::KeyRotation& rotation) override {
    if (fail_writes) return absl::UnavailableError("injected");
    return inner_.Rotate(rotation);
  }
  absl::Status RescheduleNext(const std::string& kid, absl::Time activates_at) override {
    return inner_.RescheduleNext(kid, activates_at);
  }
  absl::StatusOr<std::vector<std::string>> RemoveExpired(absl::Time now) override {
    if (fail_writes) return absl::UnavailableError("injected");
    return inner_.RemoveExpired(now);
  }
  absl::StatusOr<storage::KeyRemovalResult> RemoveKey(const storage::KeyRemoval& removal) override {
    return inner_.RemoveKey(removal);
  }
  absl::Status RewrapKeys(const std::vector<storage::KeyRewrap>& rewraps,
                          const std::string& to_kek_id) override {
    return inner_.RewrapKeys(rewraps, to_kek_id);
  }

 private:
  storage::KeyStore& inner_;
};

class KeyManagerTest : public ::testing::Test {
 protected:
  static constexpr absl::Duration kPeriod = absl::Hours(1);

  KeyManagerOptions Options() const {
    KeyManagerOptions options;
    options.algorithm = jwt::Algorithm::kEdDSA;
    options.timings.rotation_period = kPeriod;
    options.timings.jwks_max_age = absl::Minutes(5);
    options.timings.access_ttl_max = absl::Minutes(10);
    options.timings.clock_skew = absl::Seconds(30);
    options.timings.propagation = absl::Seconds(11);
    options.reload_interval = absl::Seconds(10);
    return options;
  }

  std::unique_ptr<KeyManager> MustOpen(storage::KeyStore& store, const KekRing& keks,
                                       KeyMetrics* metrics = nullptr) {
    absl::StatusOr<std::unique_ptr<KeyManager>> manager =
        KeyManager::Open(store, keks, Options(), clock_, metrics);
    EXPECT_TRUE(manager.ok()) << manager.status();
    return manager.ok() ? *std::move(manager) : nullptr;
  }
  std::unique_ptr<KeyManager> MustOpen() { return MustOpen(store_, KekRing(kek_)); }

  std::vector<storage::SigningKeyRecord> Stored() {
    absl::StatusOr<std::vector<storage::SigningKeyRecord>> keys = store_.ListKeys();
    EXPECT_TRUE(keys.ok()) << keys.status();
    return keys.ok() ? *keys : std::vector<storage::SigningKeyRecord>();
  }
  storage::SigningKeyRecord StoredKey(const std::string& kid) {
    for (const storage::SigningKeyRecord& key : Stored()) {
      if (key.kid == kid) return key;
    }
    ADD_FAILURE() << "no stored key " << kid;
    return storage::SigningKeyRecord();
  }
  // Advances the clock to `when` and runs one lifecycle pass on each manager.
  void TickAt(absl::Time when, std::initializer_list<KeyManager*> managers) {
    clock_.Set(when);
    for (KeyManager* manager : managers) EXPECT_TRUE(manager->Tick().ok());
  }

  testing::FakeClock clock_;
  storage::MemoryKeyStore store_;
  Kek kek_ = MakeKek('a');
  const absl::Time t0_ = clock_.Now();
};

TEST_F(KeyManagerTest, OpeningAnEmptyStoreCreatesOneActiveKeyThatSignsAndIsPublished) {
  std::unique_ptr<KeyManager> manager = MustOpen();
  ASSERT_NE(manager, nullptr);
  KeyRing& ring = *manager->key_ring();
  const std::vector<storage::SigningKeyRecord> stored = Stored();
  ASSERT_THAT(stored, SizeIs(1));
  EXPECT_EQ(stored[0].state, KeyState::kActive);
  EXPECT_EQ(stored[0].kek_id, kek_.id());
  EXPECT_EQ(ring.ActiveKey().kid(), stored[0].kid);
  EXPECT_THAT(Published(ring), ElementsAre(stored[0].kid));
  EXPECT_TRUE(Verifies(ring, SignWith(ring)));
}

TEST_F(KeyManagerTest, StoredPrivateKeyIsNeverInClear) {
  std::unique_ptr<KeyManager> manager = MustOpen();
  ASSERT_NE(manager, nullptr);
  const jwt::SecretData der = manager->key_ring()->ActiveKey().ExportPrivatePkcs8Der();
  const std::string private_der(der.ExposeSecret());
  // The last 32 bytes of an Ed25519 PKCS#8 are the raw private key.
  const std::string raw_private = private_der.substr(private_der.size() - 32);
  for (const storage::SigningKeyRecord& key : Stored()) {
    for (const std::string* field : {&key.encrypted_private_key, &key.public_jwk_json}) {
      EXPECT_THAT(*field, Not(HasSubstr(private_der)));
      EXPECT_THAT(*field, Not(HasSubstr(raw_private)));
    }
  }
}

TEST_F(KeyManagerTest, NextKeyIsPublishedAtLeastTheLeadBeforeItSigns) {
  std::unique_ptr<KeyManager> manager = MustOpen();
  ASSERT_NE(manager, nullptr);
  KeyRing& ring = *manager->key_ring();
  const std::string first = ring.ActiveKey().kid();
  const absl::Duration lead = manager->policy().publish_lead();
  EXPECT_GE(lead, Options().timings.jwks_max_age + Options().timings.clock_skew);

  TickAt(t0_ + kPeriod - lead - absl::Seconds(1), {manager.get()});
  EXPECT_THAT(Published(ring), ElementsAre(first)) << "published too early";

  TickAt(t0_ + kPeriod - lead, {manager.get()});
  ASSERT_THAT(Published(ring), SizeIs(2)) << "the next key must be published now";
  EXPECT_EQ(ring.ActiveKey().kid(), first);
  std::string next;
  for (const std::string& kid : Published(ring)) {
    if (kid != first) next = kid;
  }
  const storage::SigningKeyRecord stored_next = StoredKey(next);
  EXPECT_EQ(stored_next.state, KeyState::kNext);
  EXPECT_GE(stored_next.activates_at - stored_next.created_at, lead);

  TickAt(stored_next.activates_at - absl::Seconds(1), {manager.get()});
  EXPECT_EQ(ring.ActiveKey().kid(), first) << "signed before it was published for the lead";

  TickAt(stored_next.activates_at, {manager.get()});
  EXPECT_EQ(ring.ActiveKey().kid(), next);
  EXPECT_THAT(Published(ring), Contains(first));
  EXPECT_EQ(StoredKey(first).state, KeyState::kRetired);
  EXPECT_EQ(StoredKey(next).state, KeyState::kActive);
}

TEST_F(KeyManagerTest, RetiredKeyVerifiesUntilEveryTokenItSignedHasExpiredThenLeaves) {
  std::unique_ptr<KeyManager> manager = MustOpen();
  ASSERT_NE(manager, nullptr);
  KeyRing& ring = *manager->key_ring();
  const std::string first = ring.ActiveKey().kid();
  TickAt(t0_ + kPeriod - manager->policy().publish_lead(), {manager.get()});
  const Signed last_token = SignWith(ring);  // signed just before the rotation
  TickAt(t0_ + kPeriod, {manager.get()});
  ASSERT_NE(ring.ActiveKey().kid(), first);
  const absl::Time retired_at = StoredKey(first).retires_at;
  EXPECT_EQ(retired_at, t0_ + kPeriod);
  const absl::Duration window = manager->policy().retire_window();
  EXPECT_GE(window, Options().timings.access_ttl_max + Options().timings.clock_skew);
  EXPECT_EQ(StoredKey(first).remove_after, retired_at + window);

  TickAt(retired_at + window - absl::Seconds(1), {manager.get()});
  EXPECT_TRUE(Verifies(ring, last_token));
  EXPECT_EQ(StoredKey(first).state, KeyState::kRetired);

  TickAt(retired_at + window, {manager.get()});
  EXPECT_FALSE(Verifies(ring, last_token));
  EXPECT_THAT(Published(ring), Not(Contains(first)));
  const storage::SigningKeyRecord removed = StoredKey(first);
  EXPECT_EQ(removed.state, KeyState::kRemoved);
  EXPECT_EQ(removed.removal_reason, "expired");
  EXPECT_TRUE(removed.encrypted_private_key.empty());
}

TEST_F(KeyManagerTest, TwoReplicasOnOneStoreRotateOnceEachTimeAndSignWithTheSameKey) {
  prometheus::Registry registry_a;
  prometheus::Registry registry_b;
  KeyMetrics metrics_a(registry_a);
  KeyMetrics metrics_b(registry_b);
  std::unique_ptr<KeyManager> a = MustOpen(store_, KekRing(kek_), &metrics_a);
  std::unique_ptr<KeyManager> b = MustOpen(store_, KekRing(kek_), &metrics_b);
  ASSERT_TRUE(a != nullptr && b != nullptr);
  EXPECT_THAT(Stored(), SizeIs(1)) << "the second replica must adopt the first one's key";
  std::vector<std::string> signers = {a->key_ring()->ActiveKey().kid()};
  // Each rotation happens at the first look after its key's activation time, so the schedule
  // drifts by up to one step per period: three rotations fit in three periods plus a few steps.
  for (absl::Time now = t0_; now <= t0_ + 3 * kPeriod + absl::Minutes(5);
       now += absl::Seconds(30)) {
    // Alternate who looks first, as two independent replicas would.
    const bool a_first = (absl::ToUnixSeconds(now) / 30) % 2 == 0;
    clock_.Set(now);
    a->RequestReload();
    b->RequestReload();
    if (a_first) {
      ASSERT_TRUE(a->Tick().ok());
      ASSERT_TRUE(b->Tick().ok());
    } else {
      ASSERT_TRUE(b->Tick().ok());
      ASSERT_TRUE(a->Tick().ok());
    }
    ASSERT_EQ(a->key_ring()->ActiveKey().kid(), b->key_ring()->ActiveKey().kid())
        << "at +" << absl::FormatDuration(now - t0_);
    ASSERT_EQ(Published(*a->key_ring()), Published(*b->key_ring()));
    const Signed token = SignWith(*a->key_ring());
    ASSERT_TRUE(Verifies(*b->key_ring(), token));
    if (signers.back() != token.kid) signers.push_back(token.kid);
  }
  EXPECT_THAT(signers, SizeIs(4));  // three rotations
  const double rotations =
      testing::MetricValue(registry_a, "tokend_signing_key_rotations_total").value_or(0) +
      testing::MetricValue(registry_b, "tokend_signing_key_rotations_total").value_or(0);
  EXPECT_EQ(rotations, 3);
  size_t active = 0;
  for (const storage::SigningKeyRecord& key : Stored()) active += key.state == KeyState::kActive;
  EXPECT_EQ(active, 1u);
}

TEST_F(KeyManagerTest, EmergencyRemovalStopsVerificationHereAtOnceAndOnOtherReplicasOnReload) {
  std::unique_ptr<KeyManager> a = MustOpen();
  std::unique_ptr<KeyManager> b = MustOpen();
  ASSERT_TRUE(a != nullptr && b != nullptr);
  const Signed token = SignWith(*a->key_ring());
  ASSERT_TRUE(Verifies(*b->key_ring(), token));

  absl::StatusOr<storage::KeyRemovalResult> removed = a->RemoveKey(token.kid, "leaked in a log");
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(removed->previous_state, KeyState::kActive);
  EXPECT_FALSE(removed->new_active_kid.empty());
  EXPECT_FALSE(Verifies(*a->key_ring(), token));
  EXPECT_EQ(a->key_ring()->ActiveKey().kid(), removed->new_active_kid);
  EXPECT_THAT(Published(*a->key_ring()), ElementsAre(removed->new_active_kid));

  b->RequestReload();  // what the change feed does
  ASSERT_TRUE(b->Tick().ok());
  EXPECT_FALSE(Verifies(*b->key_ring(), token));
  EXPECT_EQ(b->key_ring()->ActiveKey().kid(), removed->new_active_kid);
  EXPECT_TRUE(Verifies(*b->key_ring(), SignWith(*a->key_ring())));

  const storage::SigningKeyRecord stored = StoredKey(token.kid);
  EXPECT_EQ(stored.state, KeyState::kRemoved);
  EXPECT_EQ(stored.removal_reason, "leaked in a log");
  EXPECT_TRUE(stored.encrypted_private_key.empty());
}

TEST_F(KeyManagerTest, EmergencyRemovalOfTheActiveKeyHandsOverToThePublishedNextKey) {
  std::unique_ptr<KeyManager> manager = MustOpen();
  ASSERT_NE(manager, nullptr);
  const std::string first = manager->key_ring()->ActiveKey().kid();
  absl::StatusOr<RotateOutcome> scheduled = manager->RotateNow(RotateMode::kPublishFirst);
  ASSERT_TRUE(scheduled.ok()) << scheduled.status();
  absl::StatusOr<storage::KeyRemovalResult> removed = manager->RemoveKey(first, "");
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(removed->new_active_kid, scheduled->kid);
  EXPECT_EQ(manager->key_ring()->ActiveKey().kid(), scheduled->kid);
  EXPECT_THAT(Stored(), SizeIs(2)) << "no extra key when a next key exists";
  EXPECT_EQ(StoredKey(first).removal_reason, "emergency removal");
}

TEST_F(KeyManagerTest, PeriodicReloadCatchesChangesWithoutAnyNotification) {
  std::unique_ptr<KeyManager> a = MustOpen();
  std::unique_ptr<KeyManager> b = MustOpen();
  ASSERT_TRUE(a != nullptr && b != nullptr);
  const Signed token = SignWith(*a->key_ring());
  ASSERT_TRUE(a->RemoveKey(token.kid, "test").ok());
  TickAt(t0_ + absl::Seconds(9), {b.get()});
  EXPECT_TRUE(Verifies(*b->key_ring(), token)) << "reloaded before the interval";
  TickAt(t0_ + absl::Seconds(10), {b.get()});
  EXPECT_FALSE(Verifies(*b->key_ring(), token));
}

TEST_F(KeyManagerTest, WrongKekIsRefusedWithAClearMessageAndNothingIsWritten) {
  std::unique_ptr<KeyManager> manager = MustOpen();
  ASSERT_NE(manager, nullptr);
  manager.reset();
  const std::vector<storage::SigningKeyRecord> before = Stored();
  // Even when a rotation is overdue, a replica with the wrong KEK must not write anything.
  clock_.Set(t0_ + 5 * kPeriod);
  const Kek wrong = MakeKek('z');
  absl::StatusOr<std::unique_ptr<KeyManager>> refused =
      KeyManager::Open(store_, KekRing(wrong), Options(), clock_, nullptr);
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr(kek_.id()));
  EXPECT_THAT(refused.status().message(), HasSubstr(wrong.id()));
  EXPECT_THAT(refused.status().message(), HasSubstr("nothing was written"));
  const std::vector<storage::SigningKeyRecord> after = Stored();
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].kid, before[i].kid);
    EXPECT_EQ(after[i].state, before[i].state);
    EXPECT_EQ(after[i].kek_id, before[i].kek_id);
    EXPECT_EQ(after[i].encrypted_private_key, before[i].encrypted_private_key);
  }
  EXPECT_EQ(KeyManager::OpenForAdmin(store_, KekRing(wrong), Options(), clock_).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(KeyManagerTest, TamperedEnvelopeIsRefusedAtStart) {
  std::unique_ptr<KeyManager> manager = MustOpen();
  ASSERT_NE(manager, nullptr);
  manager.reset();
  // Another key's envelope under the same KEK cannot stand in for this one (AAD = kid).
  storage::MemoryKeyStore other_store;
  ASSERT_NE(MustOpen(other_store, KekRing(kek_)), nullptr);
  absl::StatusOr<std::vector<storage::SigningKeyRecord>> other = other_store.ListKeys();
  ASSERT_TRUE(other.ok());
  storage::SigningKeyRecord forged = Stored()[0];
  forged.kid = "forged";
  forged.state = KeyState::kRetired;
  forged.encrypted_private_key = (*other)[0].encrypted_private_key;
  ASSERT_TRUE(store_.InsertKey(forged).ok());
  absl::StatusOr<std::unique_ptr<KeyManager>> refused =
      KeyManager::Open(store_, KekRing(kek_), Options(), clock_, nullptr);
  EXPECT_FALSE(refused.ok());
}

TEST_F(KeyManagerTest, RewrapMovesEveryKeyToTheNewKekWithoutChangingAnyKey) {
  std::unique_ptr<KeyManager> old_replica = MustOpen();
  ASSERT_NE(old_replica, nullptr);
  ASSERT_TRUE(old_replica->RotateNow(RotateMode::kPublishFirst).ok());
  const std::string signing = old_replica->key_ring()->ActiveKey().kid();
  const std::vector<std::string> published = Published(*old_replica->key_ring());
  ASSERT_THAT(published, SizeIs(2));

  const Kek new_kek = MakeKek('n');
  absl::StatusOr<std::unique_ptr<KeyManager>> admin =
      KeyManager::OpenForAdmin(store_, KekRing(new_kek, {kek_}), Options(), clock_);
  ASSERT_TRUE(admin.ok()) << admin.status();
  absl::StatusOr<int> rewrapped = (*admin)->Rewrap();
  ASSERT_TRUE(rewrapped.ok()) << rewrapped.status();
  EXPECT_EQ(*rewrapped, 2);
  for (const storage::SigningKeyRecord& key : Stored()) EXPECT_EQ(key.kek_id, new_kek.id());
  absl::StatusOr<int> again = (*admin)->Rewrap();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0);

  // The new KEK alone now opens everything, with the same keys.
  std::unique_ptr<KeyManager> new_replica = MustOpen(store_, KekRing(new_kek));
  ASSERT_NE(new_replica, nullptr);
  EXPECT_EQ(new_replica->key_ring()->ActiveKey().kid(), signing);
  EXPECT_EQ(Published(*new_replica->key_ring()), published);
  EXPECT_TRUE(Verifies(*new_replica->key_ring(), SignWith(*old_replica->key_ring())));
  // The old KEK alone no longer starts a replica...
  EXPECT_EQ(KeyManager::Open(store_, KekRing(kek_), Options(), clock_, nullptr).status().code(),
            absl::StatusCode::kFailedPrecondition);
  // ...but a replica that opened its keys before keeps serving until it is restarted.
  old_replica->RequestReload();
  old_replica->Tick().IgnoreError();
  EXPECT_EQ(old_replica->key_ring()->ActiveKey().kid(), signing);
  EXPECT_EQ(Published(*old_replica->key_ring()), published);
}

TEST_F(KeyManagerTest, ImportedKeysEnterTheRequestedState) {
  std::unique_ptr<KeyManager> manager = MustOpen();
  ASSERT_NE(manager, nullptr);
  KeyRing& ring = *manager->key_ring();
  const std::string first = ring.ActiveKey().kid();
  const auto generate = [](jwt::Algorithm algorithm) {
    absl::StatusOr<jwt::SigningKey> key = jwt::SigningKey::Generate(algorithm);
    EXPECT_TRUE(key.ok());
    return *key;
  };

  const jwt::SigningKey retired = generate(jwt::Algorithm::kES256);
  ASSERT_TRUE(manager->ImportKey(retired, ImportAs::kRetired).ok());
  EXPECT_THAT(Published(ring), Contains(retired.kid()));
  EXPECT_EQ(ring.ActiveKey().kid(), first);
  EXPECT_EQ(StoredKey(retired.kid()).remove_after, t0_ + manager->policy().retire_window());
  EXPECT_EQ(StoredKey(retired.kid()).origin, "imported");

  const jwt::SigningKey next = generate(jwt::Algorithm::kRS256);
  ASSERT_TRUE(manager->ImportKey(next, ImportAs::kNext).ok());
  EXPECT_THAT(Published(ring), Contains(next.kid()));
  EXPECT_EQ(StoredKey(next.kid()).activates_at, t0_ + manager->policy().publish_lead());

  const jwt::SigningKey active = generate(jwt::Algorithm::kEdDSA);
  EXPECT_EQ(manager->ImportKey(active, ImportAs::kActive).code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(manager->RemoveKey(next.kid(), "replaced").ok());
  ASSERT_TRUE(manager->ImportKey(active, ImportAs::kActive).ok());
  EXPECT_EQ(ring.ActiveKey().kid(), active.kid());
  EXPECT_EQ(StoredKey(first).state, KeyState::kRetired);

  EXPECT_EQ(manager->ImportKey(active, ImportAs::kRetired).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(manager->ImportKey(generate(jwt::Algorithm::kHS256), ImportAs::kNext).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(KeyManagerTest, OnDemandRotationPublishesFirstUnlessImmediate) {
  std::unique_ptr<KeyManager> manager = MustOpen();
  ASSERT_NE(manager, nullptr);
  KeyRing& ring = *manager->key_ring();
  const std::string first = ring.ActiveKey().kid();
  const absl::Duration lead = manager->policy().publish_lead();

  absl::StatusOr<RotateOutcome> scheduled = manager->RotateNow(RotateMode::kPublishFirst);
  ASSERT_TRUE(scheduled.ok()) << scheduled.status();
  EXPECT_FALSE(scheduled->rotated_now);
  EXPECT_EQ(scheduled->activates_at, t0_ + lead);
  EXPECT_EQ(ring.ActiveKey().kid(), first);
  EXPECT_THAT(Published(ring), Contains(scheduled->kid));

  absl::StatusOr<RotateOutcome> repeated = manager->RotateNow(RotateMode::kPublishFirst);
  ASSERT_TRUE(repeated.ok());
  EXPECT_EQ(repeated->kid, scheduled->kid) << "a second request must not stack another key";
  EXPECT_EQ(repeated->activates_at, scheduled->activates_at);

  clock_.Advance(lead / 2);
  absl::StatusOr<RotateOutcome> immediate = manager->RotateNow(RotateMode::kImmediate);
  ASSERT_TRUE(immediate.ok()) << immediate.status();
  EXPECT_TRUE(immediate->rotated_now);
  EXPECT_EQ(immediate->kid, scheduled->kid);
  EXPECT_EQ(ring.ActiveKey().kid(), scheduled->kid);
  EXPECT_EQ(StoredKey(first).state, KeyState::kRetired);

  absl::StatusOr<RotateOutcome> fresh = manager->RotateNow(RotateMode::kImmediate);
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_TRUE(fresh->rotated_now);
  EXPECT_NE(fresh->kid, scheduled->kid);
  EXPECT_EQ(ring.ActiveKey().kid(), fresh->kid);
}

TEST_F(KeyManagerTest, OnDemandRotationBringsAFarOffNextKeyForwardToItsEarliestSafeTime) {
  std::unique_ptr<KeyManager> manager = MustOpen();
  ASSERT_NE(manager, nullptr);
  absl::StatusOr<jwt::SigningKey> key = jwt::SigningKey::Generate(jwt::Algorithm::kEdDSA);
  ASSERT_TRUE(key.ok());
  absl::StatusOr<storage::SigningKeyRecord> record =
      SealNewKeyRecord(kek_, *key, KeyState::kNext, t0_, "generated");
  ASSERT_TRUE(record.ok());
  record->activates_at = t0_ + absl::Hours(24);  // e.g. planned under a longer period
  ASSERT_TRUE(store_.InsertKey(*record).ok());
  clock_.Advance(absl::Minutes(1));
  absl::StatusOr<RotateOutcome> outcome = manager->RotateNow(RotateMode::kPublishFirst);
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->kid, key->kid());
  EXPECT_EQ(outcome->activates_at, t0_ + manager->policy().publish_lead());
  EXPECT_EQ(StoredKey(key->kid()).activates_at, t0_ + manager->policy().publish_lead());
}

TEST_F(KeyManagerTest, ListingShowsStatesAndTheSigningKeyWithoutPrivateMaterial) {
  std::unique_ptr<KeyManager> manager = MustOpen();
  ASSERT_NE(manager, nullptr);
  ASSERT_TRUE(manager->RotateNow(RotateMode::kPublishFirst).ok());
  absl::StatusOr<std::vector<KeyInfo>> infos = manager->ListKeys();
  ASSERT_TRUE(infos.ok()) << infos.status();
  ASSERT_THAT(*infos, SizeIs(2));
  std::vector<KeyState> states;
  for (const KeyInfo& info : *infos) {
    states.push_back(info.state);
    EXPECT_EQ(info.signing, info.state == KeyState::kActive);
    EXPECT_THAT(info.public_jwk_json, Not(HasSubstr("\"d\"")));
  }
  EXPECT_THAT(states, UnorderedElementsAre(KeyState::kActive, KeyState::kNext));
  // The same without any KEK.
  absl::StatusOr<std::vector<KeyInfo>> public_only = ListKeyInfos(store_, clock_.Now());
  ASSERT_TRUE(public_only.ok());
  EXPECT_THAT(*public_only, SizeIs(2));
}

TEST_F(KeyManagerTest, MetricsShowAgeNextRotationKeysByStateAndFailures) {
  prometheus::Registry registry;
  KeyMetrics metrics(registry);
  FlakyKeyStore flaky(store_);
  std::unique_ptr<KeyManager> manager = MustOpen(flaky, KekRing(kek_), &metrics);
  ASSERT_NE(manager, nullptr);
  TickAt(t0_ + absl::Minutes(10), {manager.get()});
  EXPECT_EQ(testing::MetricValue(registry, "tokend_signing_key_age_seconds"), 600);
  EXPECT_EQ(testing::MetricValue(registry, "tokend_signing_key_next_rotation_seconds"),
            absl::ToDoubleSeconds(kPeriod - absl::Minutes(10)));
  EXPECT_EQ(testing::MetricValue(registry, "tokend_signing_key_next_rotation_timestamp_seconds"),
            absl::ToDoubleSeconds(t0_ + kPeriod - absl::UnixEpoch()));
  EXPECT_EQ(testing::MetricValue(registry, "tokend_signing_keys", {{"state", "active"}}), 1);
  EXPECT_EQ(testing::MetricValue(registry, "tokend_signing_keys", {{"state", "next"}}), 0);

  flaky.fail_writes = true;
  clock_.Set(t0_ + kPeriod - manager->policy().publish_lead());
  EXPECT_EQ(manager->Tick().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(manager->LastTickStatus().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(testing::MetricValue(registry, "tokend_key_rotation_failures_total",
                                 {{"operation", "create"}}),
            1);
  flaky.fail_writes = false;
  ASSERT_TRUE(manager->Tick().ok());
  EXPECT_TRUE(manager->LastTickStatus().ok());
  EXPECT_EQ(testing::MetricValue(registry, "tokend_signing_keys", {{"state", "next"}}), 1);
}

TEST_F(KeyManagerTest, StartedManagerFollowsAnotherReplicaThroughTheChangeFeed) {
  std::unique_ptr<storage::MemoryKeyChangeFeed> feed = store_.NewFeed();  // outlives both
  auto waiter = std::make_unique<testing::ManualWaiter>();
  testing::ManualWaiter* loop = waiter.get();
  absl::StatusOr<std::unique_ptr<KeyManager>> follower =
      KeyManager::Open(store_, KekRing(kek_), Options(), clock_, nullptr, std::move(waiter));
  ASSERT_TRUE(follower.ok()) << follower.status();
  std::unique_ptr<KeyManager> actor = MustOpen();
  ASSERT_NE(actor, nullptr);
  ASSERT_TRUE((*follower)->Start(feed.get()).ok());
  ASSERT_TRUE(loop->AwaitWaits(1));
  absl::StatusOr<RotateOutcome> rotated = actor->RotateNow(RotateMode::kImmediate);
  ASSERT_TRUE(rotated.ok()) << rotated.status();
  // No wait ever times out here (the fake clock does not move either): only the feed's
  // notifications make the follower run. A run may see the insert before the rotation; the
  // rotation's own notification then brings another.
  for (int waits = 2; (*follower)->key_ring()->ActiveKey().kid() != rotated->kid; ++waits) {
    ASSERT_TRUE(loop->AwaitWaits(waits)) << "the follower never heard of the rotation";
  }
  EXPECT_EQ((*follower)->key_ring()->ActiveKey().kid(), rotated->kid);
  (*follower)->Stop();
}

TEST_F(KeyManagerTest, TheBackgroundThreadWaitsUntilTheNextDueStepAndRetriesAFailureSooner) {
  FlakyKeyStore flaky(store_);
  auto waiter = std::make_unique<testing::ManualWaiter>();
  testing::ManualWaiter* loop = waiter.get();
  absl::StatusOr<std::unique_ptr<KeyManager>> opened =
      KeyManager::Open(flaky, KekRing(kek_), Options(), clock_, nullptr, std::move(waiter));
  ASSERT_TRUE(opened.ok()) << opened.status();
  KeyManager& manager = **opened;
  // When the next key must be published for the rotation at t0 + kPeriod.
  const absl::Time prepare_at = t0_ + kPeriod - manager.policy().publish_lead();

  clock_.Set(prepare_at - absl::Seconds(3));
  ASSERT_TRUE(manager.Start(nullptr).ok());
  ASSERT_TRUE(loop->AwaitWaits(1));
  EXPECT_EQ(loop->timeouts().back(), absl::Seconds(3)) << "the step due before the next reload";
  EXPECT_THAT(Stored(), SizeIs(1));

  flaky.fail_writes = true;
  clock_.Set(prepare_at);
  loop->Elapse();
  ASSERT_TRUE(loop->AwaitWaits(2));
  EXPECT_EQ(manager.LastTickStatus().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(loop->timeouts().back(), Options().retry_interval);

  flaky.fail_writes = false;
  clock_.Set(prepare_at + Options().retry_interval);
  loop->Elapse();
  ASSERT_TRUE(loop->AwaitWaits(3));
  EXPECT_TRUE(manager.LastTickStatus().ok());
  EXPECT_THAT(Stored(), SizeIs(2)) << "the next key is published";
  EXPECT_EQ(loop->timeouts().back(), Options().reload_interval) << "nothing due before then";
  manager.Stop();
}

}  // namespace
}  // namespace tokend::keys
