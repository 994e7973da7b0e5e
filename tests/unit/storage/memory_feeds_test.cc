// The in-memory change feeds' own guarantees: commit order, coalescing, Start/Stop rules.
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "storage/memory/memory_key_change_feed.h"
#include "storage/memory/memory_key_store.h"
#include "storage/memory/memory_revocation_feed.h"
#include "storage/memory/memory_token_store.h"

namespace tokend::storage {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);

Revocation JtiRevocation(const std::string& jti) {
  Revocation revocation;
  revocation.kind = Revocation::Kind::kTokenId;
  revocation.key = jti;
  revocation.revoked_at = kT0;
  revocation.expires_at = kT0 + absl::Hours(1);
  return revocation;
}

SigningKeyRecord RetiredKey(const std::string& kid) {
  SigningKeyRecord record;
  record.kid = kid;
  record.algorithm = "EdDSA";
  record.state = KeyState::kRetired;
  record.encrypted_private_key = "sealed-" + kid;
  record.public_jwk_json = absl::StrCat(R"({"kty":"OKP","crv":"Ed25519","x":"AAAA","kid":")", kid,
                                        R"(","alg":"EdDSA","use":"sig"})");
  record.kek_id = "kek-1";
  record.created_at = kT0;
  record.activates_at = kT0;
  return record;
}

// Records deliveries; waits (bounded by real time, a safety net only) for a count.
class Recorder {
 public:
  void Add(const std::string& key) {
    absl::MutexLock lock(&mu_);
    keys_.push_back(key);
  }
  bool AwaitCount(size_t n) {
    absl::MutexLock lock(&mu_);
    const auto reached = [this, n]()
                             ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return keys_.size() >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&reached), absl::Seconds(30));
  }
  std::vector<std::string> keys() const {
    absl::MutexLock lock(&mu_);
    return keys_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<std::string> keys_ ABSL_GUARDED_BY(mu_);
};

TEST(MemoryRevocationFeedTest, DeliversInCommitOrder) {
  MemoryTokenStore store;
  std::unique_ptr<MemoryRevocationFeed> feed = store.NewFeed();
  Recorder recorder;
  RevocationFeed::Callbacks callbacks;
  callbacks.on_revocation = [&recorder](const Revocation& r) { recorder.Add(r.key); };
  ASSERT_TRUE(feed->Start(std::move(callbacks)).ok());
  std::vector<std::string> added;
  for (int i = 0; i < 50; ++i) {
    added.push_back(absl::StrCat("jti-", i));
    ASSERT_TRUE(store.AddRevocation(JtiRevocation(added.back())).ok());
  }
  ASSERT_TRUE(recorder.AwaitCount(added.size()));
  feed->Stop();
  EXPECT_EQ(recorder.keys(), added);
}

TEST(MemoryRevocationFeedTest, StartsOnceAndStopsForGood) {
  MemoryTokenStore store;
  std::unique_ptr<MemoryRevocationFeed> feed = store.NewFeed();
  feed->Stop();  // before Start: nothing to stop
  EXPECT_EQ(feed->Start({}).code(), absl::StatusCode::kInvalidArgument);
  Recorder recorder;
  RevocationFeed::Callbacks callbacks;
  callbacks.on_revocation = [&recorder](const Revocation& r) { recorder.Add(r.key); };
  ASSERT_TRUE(feed->Start(callbacks).ok());
  EXPECT_EQ(feed->Start(callbacks).code(), absl::StatusCode::kFailedPrecondition);
  feed->Stop();
  feed->Stop();
  EXPECT_EQ(feed->Start(callbacks).code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(store.AddRevocation(JtiRevocation("after-stop")).ok());
  EXPECT_TRUE(recorder.keys().empty());
}

TEST(MemoryKeyChangeFeedTest, ChangesDuringACallbackCoalesceIntoOneMoreCall) {
  MemoryKeyStore store;
  std::unique_ptr<MemoryKeyChangeFeed> feed = store.NewFeed();
  absl::Notification in_first_call;
  absl::Notification release;
  Recorder calls;
  ASSERT_TRUE(feed->Start([&] {
                    calls.Add("call");
                    if (!in_first_call.HasBeenNotified()) {
                      in_first_call.Notify();
                      release.WaitForNotification();
                    }
                  })
                  .ok());
  ASSERT_TRUE(store.InsertKey(RetiredKey("a")).ok());
  in_first_call.WaitForNotification();
  for (const char* kid : {"b", "c", "d"}) ASSERT_TRUE(store.InsertKey(RetiredKey(kid)).ok());
  release.Notify();
  ASSERT_TRUE(calls.AwaitCount(2));
  feed->Stop();  // joins: no call can still be on its way
  EXPECT_EQ(calls.keys().size(), 2u);
}

TEST(MemoryKeyChangeFeedTest, StartsOnceAndReportsNothingAfterStop) {
  MemoryKeyStore store;
  std::unique_ptr<MemoryKeyChangeFeed> feed = store.NewFeed();
  EXPECT_EQ(feed->Start(nullptr).code(), absl::StatusCode::kInvalidArgument);
  Recorder calls;
  const auto count = [&calls] { calls.Add("call"); };
  ASSERT_TRUE(feed->Start(count).ok());
  EXPECT_EQ(feed->Start(count).code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(store.InsertKey(RetiredKey("a")).ok());
  ASSERT_TRUE(calls.AwaitCount(1));
  feed->Stop();
  ASSERT_TRUE(store.InsertKey(RetiredKey("b")).ok());
  EXPECT_EQ(calls.keys().size(), 1u);
}

}  // namespace
}  // namespace tokend::storage
