#include "services/tokend/keys/key_manager.h"

#include <algorithm>
#include <array>
#include <utility>

#include "absl/strings/str_cat.h"
#include "util/log.h"
#include "util/status_macros.h"

namespace tokend::keys {
namespace {

using storage::KeyState;
using storage::SigningKeyRecord;

// A lost race with another replica: its change is already in the store, we only reload.
bool LostRace(const absl::Status& status) {
  return status.code() == absl::StatusCode::kAborted ||
         status.code() == absl::StatusCode::kAlreadyExists;
}

std::string TimeText(absl::Time time) {
  if (time == absl::InfiniteFuture()) return "never";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", time, absl::UTCTimeZone());
}

KeyInfo InfoOf(const SigningKeyRecord& record, bool signing) {
  KeyInfo info;
  info.kid = record.kid;
  info.algorithm = record.algorithm;
  info.state = record.state;
  info.signing = signing;
  info.origin = record.origin;
  info.kek_id = record.kek_id;
  info.created_at = record.created_at;
  info.activates_at = record.activates_at;
  info.retires_at = record.retires_at;
  info.remove_after = record.remove_after;
  info.removed_at = record.removed_at;
  info.removal_reason = record.removal_reason;
  info.public_jwk_json = record.public_jwk_json;
  return info;
}

std::vector<KeyInfo> InfosOf(const std::vector<SigningKeyRecord>& records, absl::Time now) {
  const SigningKeyRecord* signing = SigningRecordAt(records, now);
  std::vector<KeyInfo> infos;
  infos.reserve(records.size());
  for (const SigningKeyRecord& record : records) {
    infos.push_back(InfoOf(record, signing != nullptr && signing->kid == record.kid));
  }
  return infos;
}

}  // namespace

absl::StatusOr<std::vector<KeyInfo>> ListKeyInfos(storage::KeyStore& store, absl::Time now) {
  TOKEND_ASSIGN_OR_RETURN(std::vector<SigningKeyRecord> records, store.ListKeys());
  return InfosOf(records, now);
}

KeyManager::KeyManager(storage::KeyStore& store, KekRing keks, KeyManagerOptions options,
                       RotationPolicy policy, const util::Clock& clock, KeyMetrics* metrics,
                       std::unique_ptr<util::LoopWaiter> waiter)
    : store_(store),
      keks_(std::move(keks)),
      options_(std::move(options)),
      policy_(policy),
      clock_(clock),
      metrics_(metrics),
      loop_(
          {.name = "key-manager", .first_wait = absl::ZeroDuration(), .waiter = std::move(waiter)},
          [this] { return RunInBackground(); }) {}

KeyManager::~KeyManager() { Stop(); }

absl::StatusOr<std::unique_ptr<KeyManager>> KeyManager::Load(
    storage::KeyStore& store, KekRing keks, KeyManagerOptions options, const util::Clock& clock,
    KeyMetrics* metrics, std::unique_ptr<util::LoopWaiter> waiter) {
  if (options.algorithm == jwt::Algorithm::kHS256) {
    return absl::InvalidArgumentError(
        "managed signing keys cannot be HS256: an HMAC secret is never published in the JWKS");
  }
  TOKEND_ASSIGN_OR_RETURN(RotationPolicy policy, RotationPolicy::Create(options.timings));
  std::unique_ptr<KeyManager> manager(new KeyManager(store, std::move(keks), std::move(options),
                                                     policy, clock, metrics, std::move(waiter)));
  absl::MutexLock lock(&manager->mu_);
  // Why strict: a replica with the wrong KEK must stop here, before it writes anything.
  TOKEND_RETURN_IF_ERROR(manager->ReloadLocked(OpenCheck::kStrict));
  return manager;
}

absl::StatusOr<std::unique_ptr<KeyManager>> KeyManager::OpenForAdmin(storage::KeyStore& store,
                                                                     KekRing keks,
                                                                     KeyManagerOptions options,
                                                                     const util::Clock& clock) {
  return Load(store, std::move(keks), std::move(options), clock, nullptr, nullptr);
}

absl::StatusOr<std::unique_ptr<KeyManager>> KeyManager::Open(
    storage::KeyStore& store, KekRing keks, KeyManagerOptions options, const util::Clock& clock,
    KeyMetrics* metrics, std::unique_ptr<util::LoopWaiter> waiter) {
  TOKEND_ASSIGN_OR_RETURN(
      std::unique_ptr<KeyManager> manager,
      Load(store, std::move(keks), std::move(options), clock, metrics, std::move(waiter)));
  absl::MutexLock lock(&manager->mu_);
  const absl::Status tick = manager->TickLocked();
  if (manager->ring_ == nullptr) {
    return tick.ok() ? absl::FailedPreconditionError("no signing key could be loaded or created")
                     : tick;
  }
  if (!tick.ok()) {
    log::Warning(absl::StrCat("signing keys: serving, but maintenance failed (will retry): ",
                              tick.ToString()));
  }
  return manager;
}

KeyRing* KeyManager::key_ring() const {
  absl::MutexLock lock(&mu_);
  return ring_.get();
}

// ---- loading ---------------------------------------------------------------------------------

absl::Status KeyManager::ReloadLocked(OpenCheck check) {
  absl::StatusOr<std::vector<SigningKeyRecord>> listed = store_.ListKeys();
  if (!listed.ok()) {
    if (metrics_ != nullptr) metrics_->RecordFailure(KeyOperation::kReload);
    return listed.status();
  }
  absl::flat_hash_map<std::string, LoadedKey> loaded;
  absl::Status first_problem;
  for (const SigningKeyRecord& record : *listed) {
    if (!IsPublished(record.state)) continue;
    auto previous = loaded_.find(record.kid);
    const bool had_key = previous != loaded_.end() && previous->second.signing.has_value();
    if (had_key && previous->second.envelope == record.encrypted_private_key) {
      loaded.emplace(record.kid, previous->second);
      continue;
    }
    LoadedKey key;
    key.envelope = record.encrypted_private_key;
    absl::Status problem;
    absl::StatusOr<jwt::SigningKey> opened = OpenSigningKey(keks_, record);
    if (!opened.ok() && had_key) {
      // Re-sealed under a KEK this replica does not hold (a KEK rotation in progress): a kid's
      // private key never changes, so the key opened before stays good.
      loaded.emplace(record.kid, previous->second);
      continue;
    }
    if (opened.ok()) {
      key.verification = opened->verification_key();
      key.signing = *std::move(opened);
    } else {
      problem = opened.status();
      // Still published from its public JWK, so tokens another replica signs with it verify.
      absl::StatusOr<jwt::VerificationKey> published =
          jwt::VerificationKey::FromJwk(record.public_jwk_json);
      if (published.ok() && published->kid() == record.kid) key.verification = *published;
    }
    if (!problem.ok()) {
      if (first_problem.ok()) first_problem = problem;
      if (check == OpenCheck::kTolerant && !reported_.contains(record.kid)) {
        reported_[record.kid] = true;
        log::Error(absl::StrCat("signing keys: cannot use key ", record.kid,
                                " on this replica: ", problem.message()));
      }
    }
    loaded.emplace(record.kid, std::move(key));
  }
  if (check == OpenCheck::kStrict && !first_problem.ok()) {
    return {first_problem.code(),
            absl::StrCat(first_problem.message(), ". Refusing to continue; nothing was written.")};
  }
  view_ = *std::move(listed);
  loaded_ = std::move(loaded);
  next_reload_at_ = clock_.Now() + options_.reload_interval;
  return absl::OkStatus();
}

const SigningKeyRecord* KeyManager::FindLocked(KeyState state) const {
  for (const SigningKeyRecord& key : view_) {
    if (key.state == state) return &key;
  }
  return nullptr;
}

const SigningKeyRecord* KeyManager::FindKidLocked(const std::string& kid) const {
  for (const SigningKeyRecord& key : view_) {
    if (key.kid == kid) return &key;
  }
  return nullptr;
}

absl::StatusOr<SigningKeyRecord> KeyManager::NewKeyRecordLocked(KeyState state, absl::Time now) {
  TOKEND_ASSIGN_OR_RETURN(jwt::SigningKey key, jwt::SigningKey::Generate(options_.algorithm));
  return SealNewKeyRecord(keks_.primary(), key, state, now, "generated");
}

// ---- the KeyRing -----------------------------------------------------------------------------

absl::Status KeyManager::PushRingLocked(absl::Time now) {
  const SigningKeyRecord* record = SigningRecordAt(view_, now);
  const jwt::SigningKey* signing = nullptr;
  if (record != nullptr) {
    auto it = loaded_.find(record->kid);
    if (it != loaded_.end() && it->second.signing.has_value()) signing = &*it->second.signing;
  }
  absl::Status status;
  if (signing == nullptr) {
    status = absl::FailedPreconditionError(
        record == nullptr ? "no key is due to sign"
                          : absl::StrCat("the key due to sign (", record->kid,
                                         ") cannot be opened on this replica"));
    // Keep signing with the current key while it is still published.
    auto current = loaded_.find(signing_kid_);
    if (current == loaded_.end() || !current->second.signing.has_value()) return status;
    signing = &*current->second.signing;
  }
  std::vector<jwt::VerificationKey> verification;
  std::vector<std::string> published;
  for (const SigningKeyRecord& key : view_) {
    auto it = loaded_.find(key.kid);
    if (it == loaded_.end() || !it->second.verification.has_value()) continue;
    verification.push_back(*it->second.verification);
    published.push_back(key.kid);
  }
  const bool signer_changed = signing->kid() != signing_kid_;
  if (ring_ == nullptr) {
    TOKEND_ASSIGN_OR_RETURN(ring_, KeyRing::FromSigningKeys({*signing}));
  }
  if (ring_ != nullptr && (signer_changed || published != published_)) {
    TOKEND_RETURN_IF_ERROR(ring_->Replace(*signing, std::move(verification)));
    published_ = std::move(published);
  }
  if (signer_changed) {
    log::Info(absl::StrCat("signing keys: now signing with ", signing->kid(), " (",
                           std::string(jwt::AlgorithmName(signing->algorithm())), ")"));
    signing_kid_ = signing->kid();
    if (options_.on_signing_key_change) options_.on_signing_key_change(*signing);
  }
  return status;
}

void KeyManager::UpdateMetricsLocked(absl::Time now, const KeyPlan& plan) {
  if (metrics_ == nullptr) return;
  std::array<size_t, 4> counts{};
  for (const SigningKeyRecord& key : view_) ++counts[static_cast<size_t>(key.state)];
  metrics_->SetKeysByState(counts);
  if (const SigningKeyRecord* signing = SigningRecordAt(view_, now); signing != nullptr) {
    metrics_->SetActiveKeyAge(now - signing->activates_at);
  }
  metrics_->SetNextRotation(plan.next_rotation_at, now);
}

// ---- the schedule ----------------------------------------------------------------------------

absl::Status KeyManager::ActLocked(const KeyPlan& plan, absl::Time now) {
  absl::Status first;
  const auto note = [&](KeyOperation operation, const absl::Status& status) {
    if (status.ok() || LostRace(status)) return;
    if (metrics_ != nullptr) metrics_->RecordFailure(operation);
    if (first.ok()) first = status;
  };
  if (plan.create_active) {
    absl::StatusOr<SigningKeyRecord> record = NewKeyRecordLocked(KeyState::kActive, now);
    absl::Status status = record.ok() ? store_.InsertKey(*record) : record.status();
    note(KeyOperation::kCreate, status);
    if (status.ok()) log::Info(absl::StrCat("signing keys: created the first key ", record->kid));
  }
  if (plan.rotate.has_value()) {
    absl::Status status = store_.Rotate(*plan.rotate);
    note(KeyOperation::kRotate, status);
    if (status.ok()) {
      if (metrics_ != nullptr) metrics_->RecordRotation();
      log::Info(absl::StrCat(
          "signing keys: rotated: ", plan.rotate->activating_kid, " signs",
          plan.rotate->retiring_kid.empty()
              ? std::string()
              : absl::StrCat("; ", plan.rotate->retiring_kid, " retired, published until ",
                             TimeText(plan.rotate->remove_after))));
    }
  }
  if (plan.create_next.has_value()) {
    absl::StatusOr<SigningKeyRecord> record = NewKeyRecordLocked(KeyState::kNext, now);
    if (record.ok()) record->activates_at = *plan.create_next;
    absl::Status status = record.ok() ? store_.InsertKey(*record) : record.status();
    note(KeyOperation::kCreate, status);
    if (status.ok()) {
      log::Info(absl::StrCat("signing keys: published the next key ", record->kid,
                             "; it signs from ", TimeText(*plan.create_next)));
    }
  }
  if (plan.remove_expired) {
    absl::StatusOr<std::vector<std::string>> removed = store_.RemoveExpired(now);
    note(KeyOperation::kRemove, removed.status());
    if (removed.ok()) {
      for (const std::string& kid : *removed) {
        log::Info(absl::StrCat("signing keys: removed retired key ", kid,
                               " (every token it signed has expired)"));
      }
    }
  }
  return first;
}

absl::Status KeyManager::TickLocked() {
  const absl::Time now = clock_.Now();
  bool reload = false;
  {
    absl::MutexLock lock(&wake_mu_);
    reload = std::exchange(reload_requested_, false);
  }
  absl::Status first;
  const auto note = [&](const absl::Status& status) {
    if (first.ok() && !status.ok()) first = status;
  };
  if (reload || now >= next_reload_at_) note(ReloadLocked(OpenCheck::kTolerant));
  KeyPlan plan = policy_.Plan(view_, now);
  // A few rounds at most: each action changes the store, and the new view may make another due
  // (e.g. a rotation makes a next key due to be prepared when the period is short).
  for (int round = 0; round < 4 && plan.has_action() && first.ok(); ++round) {
    note(ActLocked(plan, now));
    note(ReloadLocked(OpenCheck::kTolerant));
    plan = policy_.Plan(view_, now);
  }
  note(PushRingLocked(now));
  UpdateMetricsLocked(now, plan);
  wake_at_ = (first.ok() && !plan.has_action()) ? plan.wake_at : now + options_.retry_interval;
  last_tick_ = first;
  return first;
}

absl::Status KeyManager::Tick() {
  absl::MutexLock lock(&mu_);
  return TickLocked();
}

void KeyManager::RequestReload() {
  {
    absl::MutexLock lock(&wake_mu_);
    reload_requested_ = true;
  }
  loop_.Wake();  // before Start(): makes no difference, the first run is immediate anyway
}

absl::Status KeyManager::LastTickStatus() const {
  absl::MutexLock lock(&mu_);
  return last_tick_;
}

absl::Status KeyManager::Readiness() const {
  const absl::Status last = LastTickStatus();
  if (last.code() == absl::StatusCode::kFailedPrecondition ||
      last.code() == absl::StatusCode::kDataLoss) {
    return absl::UnavailableError(last.message());
  }
  return absl::OkStatus();
}

// ---- the background loop ---------------------------------------------------------------------

absl::Status KeyManager::Start(storage::KeyChangeFeed* feed) {
  {
    absl::MutexLock lock(&wake_mu_);
    if (started_) return absl::FailedPreconditionError("key manager already started");
    started_ = true;
  }
  feed_ = feed;
  if (feed_ != nullptr) {
    const absl::Status status = feed_->Start([this] { RequestReload(); });
    feed_started_ = status.ok();
    if (!status.ok()) {
      log::Warning(
          absl::StrCat("signing keys: change feed unavailable (retrying; meanwhile "
                       "keys reload every ",
                       absl::FormatDuration(options_.reload_interval), "): ", status.ToString()));
    }
  }
  loop_.Start();
  return absl::OkStatus();
}

void KeyManager::Stop() {
  {
    absl::MutexLock lock(&wake_mu_);
    if (!started_ || stopping_) return;
    stopping_ = true;
  }
  loop_.Stop();
  if (feed_ != nullptr && feed_started_) feed_->Stop();
}

absl::Duration KeyManager::RunInBackground() {
  if (feed_ != nullptr && !feed_started_) {
    feed_started_ = feed_->Start([this] { RequestReload(); }).ok();
    if (feed_started_) {
      // Changes may have been missed meanwhile. The flag only: the Tick below is the run a
      // Wake() would ask for.
      absl::MutexLock lock(&wake_mu_);
      reload_requested_ = true;
    }
  }
  absl::Time wake_at;
  {
    absl::MutexLock lock(&mu_);
    const absl::Status status = TickLocked();
    if (!status.ok()) {
      log::Warning(absl::StrCat("signing keys: ", status.ToString(), " (retrying in ",
                                absl::FormatDuration(options_.retry_interval), ")"));
    }
    wake_at = std::min(wake_at_, next_reload_at_);
  }
  return std::clamp(wake_at - clock_.Now(), absl::Milliseconds(10),
                    std::max(options_.reload_interval, absl::Milliseconds(10)));
}

// ---- administration --------------------------------------------------------------------------

absl::Status KeyManager::PromoteLocked(const std::string& active_kid, const std::string& kid,
                                       absl::Time now) {
  absl::Status status =
      store_.Rotate(storage::KeyRotation{active_kid, kid, now, now + policy_.retire_window()});
  if (status.ok()) {
    if (metrics_ != nullptr) metrics_->RecordRotation();
    return status;
  }
  if (status.code() == absl::StatusCode::kAborted) {
    // Another replica may have promoted the same key first (it was due the moment it was
    // inserted): that is the outcome asked for.
    TOKEND_RETURN_IF_ERROR(ReloadLocked(OpenCheck::kTolerant));
    const SigningKeyRecord* key = FindKidLocked(kid);
    if (key != nullptr && key->state == KeyState::kActive) return absl::OkStatus();
  }
  if (metrics_ != nullptr) metrics_->RecordFailure(KeyOperation::kRotate);
  return status;
}

absl::StatusOr<RotateOutcome> KeyManager::RotateNow(RotateMode mode) {
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_.Now();
  TOKEND_RETURN_IF_ERROR(ReloadLocked(OpenCheck::kTolerant));
  const SigningKeyRecord* active = FindLocked(KeyState::kActive);
  const SigningKeyRecord* next = FindLocked(KeyState::kNext);
  const std::string active_kid = active != nullptr ? active->kid : "";
  RotateOutcome outcome;
  const auto rotate_to = [&](const std::string& kid) -> absl::Status {
    TOKEND_RETURN_IF_ERROR(PromoteLocked(active_kid, kid, now));
    outcome = RotateOutcome{kid, now, true};
    return absl::OkStatus();
  };
  if (next != nullptr) {
    const std::string next_kid = next->kid;
    const absl::Time earliest = next->created_at + policy_.publish_lead();
    const absl::Time planned = next->activates_at;
    if (mode == RotateMode::kImmediate || now >= earliest) {
      TOKEND_RETURN_IF_ERROR(rotate_to(next_kid));
    } else if (planned > earliest) {
      TOKEND_RETURN_IF_ERROR(store_.RescheduleNext(next_kid, earliest));
      outcome = RotateOutcome{next_kid, earliest, false};
    } else {
      outcome = RotateOutcome{next_kid, planned, false};  // already as early as it may be
    }
  } else {
    TOKEND_ASSIGN_OR_RETURN(SigningKeyRecord record, NewKeyRecordLocked(KeyState::kNext, now));
    record.activates_at = mode == RotateMode::kImmediate ? now : now + policy_.publish_lead();
    if (absl::Status status = store_.InsertKey(record); !status.ok()) {
      if (metrics_ != nullptr) metrics_->RecordFailure(KeyOperation::kCreate);
      return status;
    }
    if (mode == RotateMode::kImmediate) {
      TOKEND_RETURN_IF_ERROR(rotate_to(record.kid));
    } else {
      outcome = RotateOutcome{record.kid, record.activates_at, false};
    }
  }
  log::Info(absl::StrCat("signing keys: on-demand rotation: ", outcome.kid,
                         outcome.rotated_now
                             ? " signs now"
                             : absl::StrCat(" signs from ", TimeText(outcome.activates_at))));
  TOKEND_RETURN_IF_ERROR(ReloadLocked(OpenCheck::kTolerant));
  TOKEND_RETURN_IF_ERROR(PushRingLocked(now));
  return outcome;
}

absl::StatusOr<storage::KeyRemovalResult> KeyManager::RemoveKey(const std::string& kid,
                                                                const std::string& reason) {
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_.Now();
  TOKEND_RETURN_IF_ERROR(ReloadLocked(OpenCheck::kTolerant));
  const SigningKeyRecord* record = FindKidLocked(kid);
  if (record == nullptr) return absl::NotFoundError(absl::StrCat("no signing key ", kid));
  storage::KeyRemoval removal;
  removal.kid = kid;
  removal.now = now;
  removal.reason = reason.empty() ? "emergency removal" : reason;
  if (record->state == KeyState::kActive && FindLocked(KeyState::kNext) == nullptr) {
    TOKEND_ASSIGN_OR_RETURN(removal.replacement, NewKeyRecordLocked(KeyState::kActive, now));
  }
  absl::StatusOr<storage::KeyRemovalResult> result = store_.RemoveKey(removal);
  if (!result.ok()) {
    if (metrics_ != nullptr) metrics_->RecordFailure(KeyOperation::kRemove);
    return result.status();
  }
  if (result->previous_state != KeyState::kRemoved) {
    log::Warning(absl::StrCat(
        "signing keys: removed ", kid, " in an emergency (", removal.reason, ")",
        result->new_active_kid.empty()
            ? std::string()
            : absl::StrCat("; ", result->new_active_kid,
                           " signs from now on (verifiers with a cached JWKS may reject its "
                           "tokens until they refetch it)")));
  }
  // Out of this replica's KeyRing at once, even if the reload below fails.
  for (SigningKeyRecord& key : view_) {
    if (key.kid == kid) key.state = KeyState::kRemoved;
  }
  loaded_.erase(kid);
  absl::Status reloaded = ReloadLocked(OpenCheck::kTolerant);
  absl::Status pushed = PushRingLocked(now);
  if (!reloaded.ok() || !pushed.ok()) {
    log::Warning(absl::StrCat("signing keys: after removal: ",
                              (!reloaded.ok() ? reloaded : pushed).ToString()));
  }
  return result;
}

absl::Status KeyManager::ImportKey(const jwt::SigningKey& key, ImportAs as) {
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_.Now();
  TOKEND_ASSIGN_OR_RETURN(SigningKeyRecord record,
                          SealNewKeyRecord(keks_.primary(), key, KeyState::kNext, now, "imported"));
  TOKEND_RETURN_IF_ERROR(ReloadLocked(OpenCheck::kTolerant));
  if (FindKidLocked(key.kid()) != nullptr) {
    return absl::AlreadyExistsError(
        absl::StrCat("a signing key with kid ", key.kid(), " is already stored"));
  }
  const SigningKeyRecord* active = FindLocked(KeyState::kActive);
  const SigningKeyRecord* next = FindLocked(KeyState::kNext);
  const std::string active_kid = active != nullptr ? active->kid : "";
  if (as != ImportAs::kRetired && next != nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "a next key (", next->kid, ") is already published; remove it or let it activate first"));
  }
  switch (as) {
    case ImportAs::kNext:
      record.activates_at = now + policy_.publish_lead();
      TOKEND_RETURN_IF_ERROR(store_.InsertKey(record));
      break;
    case ImportAs::kActive:
      if (active == nullptr) {
        record.state = KeyState::kActive;
        TOKEND_RETURN_IF_ERROR(store_.InsertKey(record));
      } else {
        TOKEND_RETURN_IF_ERROR(store_.InsertKey(record));
        TOKEND_RETURN_IF_ERROR(PromoteLocked(active_kid, record.kid, now));
      }
      break;
    case ImportAs::kRetired:
      record.state = KeyState::kRetired;
      record.retires_at = now;
      record.remove_after = now + policy_.retire_window();
      TOKEND_RETURN_IF_ERROR(store_.InsertKey(record));
      break;
  }
  log::Info(absl::StrCat("signing keys: imported ", record.kid));
  TOKEND_RETURN_IF_ERROR(ReloadLocked(OpenCheck::kTolerant));
  return PushRingLocked(now);
}

absl::StatusOr<std::vector<KeyInfo>> KeyManager::ListKeys() {
  absl::MutexLock lock(&mu_);
  TOKEND_RETURN_IF_ERROR(ReloadLocked(OpenCheck::kTolerant));
  return InfosOf(view_, clock_.Now());
}

absl::StatusOr<int> KeyManager::Rewrap() {
  absl::MutexLock lock(&mu_);
  // Strict: every key must open under the ring before anything is re-sealed.
  TOKEND_RETURN_IF_ERROR(ReloadLocked(OpenCheck::kStrict));
  const Kek& primary = keks_.primary();
  std::vector<storage::KeyRewrap> rewraps;
  for (const SigningKeyRecord& record : view_) {
    if (!IsPublished(record.state) || record.kek_id == primary.id()) continue;
    const LoadedKey& loaded = loaded_.at(record.kid);
    TOKEND_ASSIGN_OR_RETURN(std::string envelope, SealSigningKey(primary, *loaded.signing));
    rewraps.push_back(storage::KeyRewrap{record.kid, record.kek_id, std::move(envelope)});
  }
  TOKEND_RETURN_IF_ERROR(store_.RewrapKeys(rewraps, primary.id()));
  log::Info(
      absl::StrCat("signing keys: re-sealed ", rewraps.size(), " key(s) under KEK ", primary.id()));
  TOKEND_RETURN_IF_ERROR(ReloadLocked(OpenCheck::kTolerant));
  return static_cast<int>(rewraps.size());
}

}  // namespace tokend::keys
