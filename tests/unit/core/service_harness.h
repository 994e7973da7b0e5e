#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "jwt/keys.h"
#include "jwt/secret_data.h"
#include "prometheus/registry.h"
#include "services/tokend/core/denylist.h"
#include "services/tokend/core/token_metrics.h"
#include "services/tokend/core/token_service.h"
#include "services/tokend/keys/key_ring.h"
#include "storage/memory/memory_token_store.h"
#include "storage/token_store.h"
#include "tests/testing/fake_clock.h"

namespace tokend::core::testing {

inline ServiceConfig TestConfig() {
  ServiceConfig config;
  config.issuer = "https://tokend.test";
  config.refresh_derivation_secret = jwt::SecretData(std::string(32, 'k'));
  return config;
}

// A TokenStore whose every call fails with `status` (UNAVAILABLE by default), counting calls.
class FailingTokenStore : public storage::TokenStore {
 public:
  explicit FailingTokenStore(absl::Status status = absl::UnavailableError("store is down"))
      : status_(std::move(status)) {}
  absl::Status InsertRefreshToken(const storage::RefreshTokenRecord&) override { return Fail(); }
  absl::StatusOr<std::optional<storage::RefreshTokenRecord>> FindRefreshToken(
      const std::string&) override {
    return Fail();
  }
  absl::StatusOr<storage::RotateResult> RotateRefreshToken(const storage::RotateRequest&) override {
    return Fail();
  }
  absl::Status AddRevocation(const storage::Revocation&) override { return Fail(); }
  absl::StatusOr<std::vector<storage::Revocation>> ListLiveRevocations(absl::Time) override {
    return Fail();
  }
  absl::StatusOr<int64_t> PruneExpired(absl::Time, int) override { return Fail(); }
  absl::Status Ping() override { return Fail(); }
  int calls() const { return calls_; }

 private:
  absl::Status Fail() {
    ++calls_;
    return status_;
  }
  absl::Status status_;
  int calls_ = 0;
};

// A TokenService wired to a MemoryTokenStore (or any store), a FakeClock, a fresh registry and
// one Ed25519 key, with a denylist synced at the start time.
struct ServiceHarness {
  explicit ServiceHarness(ServiceConfig config = TestConfig(),
                          storage::TokenStore* store_override = nullptr)
      : metrics(registry), store(store_override != nullptr ? *store_override : memory_store) {
    absl::StatusOr<jwt::SigningKey> key = jwt::SigningKey::Generate(jwt::Algorithm::kEdDSA);
    EXPECT_TRUE(key.ok()) << key.status();
    absl::StatusOr<std::unique_ptr<keys::KeyRing>> made = keys::KeyRing::FromSigningKeys({*key});
    EXPECT_TRUE(made.ok()) << made.status();
    ring = *std::move(made);
    denylist.ReplaceAll({}, clock.Now());
    service =
        std::make_unique<TokenService>(std::move(config), *ring, store, denylist, clock, metrics);
  }

  IssueParams BasicIssue(bool with_refresh = false) const {
    IssueParams params;
    params.subject = "user-1";
    params.audiences = {"api://orders"};
    params.scopes = {"orders.read", "orders.write"};
    params.include_refresh_token = with_refresh;
    params.client_id = "client-a";
    return params;
  }

  IssuedTokens MustIssue(const IssueParams& params) {
    absl::StatusOr<IssuedTokens> issued = service->Issue(params);
    EXPECT_TRUE(issued.ok()) << issued.status();
    return issued.ok() ? *std::move(issued) : IssuedTokens{};
  }

  // The reason Verify gives for `token` against `audience` (kNone: valid); fails the test on an
  // error status.
  InvalidReason VerifyReason(const std::string& token, const std::string& audience = "api://orders",
                             std::vector<std::string> scopes = {}) {
    VerifyParams params{token, audience, std::move(scopes)};
    absl::StatusOr<VerifyOutcome> outcome = service->Verify(params);
    EXPECT_TRUE(outcome.ok()) << outcome.status();
    return outcome.ok() ? outcome->reason : InvalidReason::kMalformed;
  }

  // A full reload from the store, as DenylistSyncer does (for tests that advance the clock past
  // max_staleness).
  void SyncDenylist() {
    const Denylist::ReloadMark mark = denylist.BeginReload();
    absl::StatusOr<std::vector<storage::Revocation>> list = store.ListLiveRevocations(clock.Now());
    ASSERT_TRUE(list.ok()) << list.status();
    denylist.ReplaceAll(*list, clock.Now(), mark);
  }

  tokend::testing::FakeClock clock;
  prometheus::Registry registry;
  TokenMetrics metrics;
  storage::MemoryTokenStore memory_store;
  storage::TokenStore& store;
  Denylist denylist;
  std::unique_ptr<keys::KeyRing> ring;
  std::unique_ptr<TokenService> service;
};

}  // namespace tokend::core::testing
