#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "jwt/algorithm.h"
#include "jwt/keys.h"
#include "services/tokend/keys/key_encryption.h"
#include "services/tokend/keys/key_metrics.h"
#include "services/tokend/keys/key_ring.h"
#include "services/tokend/keys/rotation_policy.h"
#include "storage/key_store.h"
#include "storage/signing_key_record.h"
#include "util/background_loop.h"
#include "util/clock.h"

namespace tokend::keys {

struct KeyManagerOptions {
  jwt::Algorithm algorithm = jwt::Algorithm::kEdDSA;  // of the keys it generates (not HS256)
  LifecycleTimings timings;
  // Full reload of the stored keys, whatever the change feed says. timings.propagation should
  // be at least this plus a second (main.cc derives it so).
  absl::Duration reload_interval = absl::Seconds(10);
  // How soon a failed store operation is tried again.
  absl::Duration retry_interval = absl::Seconds(1);
  // Called (under the manager's lock, so keep it short) whenever another key starts signing on
  // this replica, e.g. to update tokend_signing_key_info.
  std::function<void(const jwt::SigningKey&)> on_signing_key_change;
};

// A key as `keys list` shows it: public fields only, never the encrypted private key.
struct KeyInfo {
  std::string kid;
  std::string algorithm;
  storage::KeyState state = storage::KeyState::kNext;
  bool signing = false;  // the key this replica's view says signs now
  std::string origin;
  std::string kek_id;
  absl::Time created_at;
  absl::Time activates_at;
  absl::Time retires_at;
  absl::Time remove_after;
  absl::Time removed_at;
  std::string removal_reason;
  std::string public_jwk_json;
};

// How an on-demand rotation treats publish-before-use.
enum class RotateMode {
  kPublishFirst,  // the new key signs only once it has been published for publish_lead
  kImmediate,     // the new key signs now (verifiers with a cached JWKS may reject its tokens for
                  // up to jwks_max_age); for when the active key must stop signing at once
};

struct RotateOutcome {
  std::string kid;          // the key that signs next
  absl::Time activates_at;  // when it signs (now if rotated_now)
  bool rotated_now = false;
};

// The state an imported (bring-your-own) key enters.
enum class ImportAs {
  kNext,     // published now, signs from publish_lead on (replaces no next key: one must not exist)
  kActive,   // signs now; the current active key retires (the key should already be known to
             // verifiers, e.g. when migrating from another issuer)
  kRetired,  // verification only: published for retire_window, never signs
};

// Drives the signing-key lifecycle of one replica: next -> active -> retired -> removed, with
// the timing of RotationPolicy, coordinated with other replicas only through the KeyStore (its
// compare-and-set operations make one replica act; the others follow on the change feed or
// the periodic reload), and pushes the result into its KeyRing: the key that signs and every
// published key (next, active, retired).
//
// Guarantees: Open() writes nothing unless every stored, unremoved key opens under the given
// KEKs (a wrong KEK is refused with a message naming both KEK ids); private keys exist only
// in memory and sealed in the store; a key removed in an emergency leaves this replica's
// KeyRing before RemoveKey returns and every other replica's as soon as it reloads; listing
// never exposes private material. Does not authenticate callers of the admin operations.
// Thread-safe: one mutex serializes Tick and the admin operations (which call the store, so they
// may block for a store deadline); KeyRing readers never wait for it.
class KeyManager {
 public:
  // For serving: loads and checks every key, creates the first key if the store has none, does
  // whatever the schedule says is due, and fills the KeyRing. FAILED_PRECONDITION (wrong KEK),
  // DATA_LOSS (tampered envelope) or the store's error otherwise; nothing written then.
  // `waiter` paces the thread of Start() (tests inject one); null: real time.
  static absl::StatusOr<std::unique_ptr<KeyManager>> Open(
      storage::KeyStore& store, KekRing keks, KeyManagerOptions options, const util::Clock& clock,
      KeyMetrics* metrics, std::unique_ptr<util::LoopWaiter> waiter = nullptr);
  // For one-shot administration (`tokend keys ...`): loads and checks every key like Open() but
  // writes nothing by itself and has no KeyRing until an admin operation creates a signing key.
  static absl::StatusOr<std::unique_ptr<KeyManager>> OpenForAdmin(storage::KeyStore& store,
                                                                  KekRing keks,
                                                                  KeyManagerOptions options,
                                                                  const util::Clock& clock);

  KeyManager(const KeyManager&) = delete;
  KeyManager& operator=(const KeyManager&) = delete;
  ~KeyManager();  // Stop()s

  // The keys tokens are signed and verified with. Valid for the manager's lifetime; only after
  // Open() (OpenForAdmin: nullptr until a key signs).
  KeyRing* key_ring() const;

  // Runs Tick() on a background thread: at once, then when the plan says something is due, when
  // `feed` (may be null; it must outlive this manager) reports a change, every reload_interval,
  // and retry_interval after a failure (never sooner than 10 ms apart unless woken). A feed
  // that fails to start is retried before each Tick(). FAILED_PRECONDITION if already started.
  // Stop() (or the destructor) ends it and stops the feed before returning.
  absl::Status Start(storage::KeyChangeFeed* feed);
  void Stop();

  // One pass of the lifecycle: reload the keys if asked or due, carry out what the plan says
  // (losing a race to another replica is not an error: it reloads), update the KeyRing and the
  // metrics. Returns the first failure, after doing what it could.
  absl::Status Tick();
  // Makes the next Tick() reload, and wakes the background thread if started (thread-safe; the
  // change feed calls it).
  void RequestReload();
  // OK, or why the last Tick() failed.
  absl::Status LastTickStatus() const;
  // The readiness rule of managed keys: UNAVAILABLE when the last tick found a key due to sign
  // that this replica cannot open (e.g. sealed under another KEK); a transient store error is
  // not a reason to stop serving, since the ring keeps its keys.
  absl::Status Readiness() const;
  // The RotationPolicy in force.
  const RotationPolicy& policy() const { return policy_; }

  // --- administration; each reloads first and updates the KeyRing before returning.
  absl::StatusOr<RotateOutcome> RotateNow(RotateMode mode);
  // Emergency removal. The key leaves the JWKS at once; if it signed, the next key (else a fresh
  // one) signs from now on. NOT_FOUND for an unknown kid.
  absl::StatusOr<storage::KeyRemovalResult> RemoveKey(const std::string& kid,
                                                      const std::string& reason);
  // ALREADY_EXISTS for a kid in use; FAILED_PRECONDITION when a next key is in the way (kNext,
  // kActive); INVALID_ARGUMENT for HS256.
  absl::Status ImportKey(const jwt::SigningKey& key, ImportAs as);
  absl::StatusOr<std::vector<KeyInfo>> ListKeys();
  // Re-seals under the primary KEK every key sealed under another one, in one transaction;
  // returns how many. ABORTED if the keys changed meanwhile (run it again).
  absl::StatusOr<int> Rewrap();

 private:
  struct LoadedKey {
    std::optional<jwt::SigningKey> signing;  // unset when it could not be opened
    std::optional<jwt::VerificationKey> verification;
    std::string envelope;  // the ciphertext it was opened from
  };
  enum class OpenCheck { kStrict, kTolerant };

  KeyManager(storage::KeyStore& store, KekRing keks, KeyManagerOptions options,
             RotationPolicy policy, const util::Clock& clock, KeyMetrics* metrics,
             std::unique_ptr<util::LoopWaiter> waiter);
  // Validates the options and loads every key strictly; writes nothing.
  static absl::StatusOr<std::unique_ptr<KeyManager>> Load(storage::KeyStore& store, KekRing keks,
                                                          KeyManagerOptions options,
                                                          const util::Clock& clock,
                                                          KeyMetrics* metrics,
                                                          std::unique_ptr<util::LoopWaiter> waiter);

  // Lists the keys and opens any new ones. kStrict: fail if any unremoved key cannot be opened
  // (nothing in view_ changes then); kTolerant: log and skip it (it is still published from its
  // public JWK, but cannot sign here).
  absl::Status ReloadLocked(OpenCheck check) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Carries out one plan; lost races are OK (the caller reloads).
  absl::Status ActLocked(const KeyPlan& plan, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Rotates `kid` (the next key) in now, retiring `active_kid`; OK also when another replica
  // promoted it first.
  absl::Status PromoteLocked(const std::string& active_kid, const std::string& kid, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<storage::SigningKeyRecord> NewKeyRecordLocked(storage::KeyState state,
                                                               absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Installs the signing key at `now` and every published key in the KeyRing (creating it on
  // first use).
  absl::Status PushRingLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void UpdateMetricsLocked(absl::Time now, const KeyPlan& plan) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status TickLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  const storage::SigningKeyRecord* FindLocked(storage::KeyState state) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  const storage::SigningKeyRecord* FindKidLocked(const std::string& kid) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // One run of the background thread: (re)start the feed if needed, Tick(); returns the wait
  // before the next run.
  absl::Duration RunInBackground();

  storage::KeyStore& store_;
  const KekRing keks_;
  const KeyManagerOptions options_;
  const RotationPolicy policy_;
  const util::Clock& clock_;
  KeyMetrics* const metrics_;  // may be null

  mutable absl::Mutex mu_;
  std::vector<storage::SigningKeyRecord> view_ ABSL_GUARDED_BY(mu_);  // the last listing
  absl::flat_hash_map<std::string, LoadedKey> loaded_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<KeyRing> ring_ ABSL_GUARDED_BY(mu_);
  std::string signing_kid_ ABSL_GUARDED_BY(mu_);             // what the ring signs with
  std::vector<std::string> published_ ABSL_GUARDED_BY(mu_);  // what the ring publishes
  absl::Time next_reload_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time wake_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Status last_tick_ ABSL_GUARDED_BY(mu_);

  // Separate from mu_, so the feed's callback never waits for a Tick that is calling the store.
  mutable absl::Mutex wake_mu_;
  bool reload_requested_ ABSL_GUARDED_BY(wake_mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(wake_mu_) = false;
  bool started_ ABSL_GUARDED_BY(wake_mu_) = false;
  storage::KeyChangeFeed* feed_ = nullptr;  // set by Start, then used by the thread only
  bool feed_started_ = false;               // written by Start, then by the thread only
  absl::flat_hash_map<std::string, bool> reported_ ABSL_GUARDED_BY(mu_);  // kids warned about
  util::BackgroundLoop loop_;  // last: stopped before the members its task uses go
};

// The stored keys as `keys list` shows them, without any KEK (public fields only). `signing`
// marks the key that signs at `now` by the lifecycle rules.
absl::StatusOr<std::vector<KeyInfo>> ListKeyInfos(storage::KeyStore& store, absl::Time now);

}  // namespace tokend::keys
