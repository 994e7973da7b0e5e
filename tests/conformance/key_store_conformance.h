#pragma once

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "gtest/gtest.h"
#include "storage/key_store.h"

namespace tokend::storage::conformance {

// One KeyStore implementation under test, fresh and empty for each test.
class KeyStoreHarness {
 public:
  virtual ~KeyStoreHarness() = default;
  virtual KeyStore& store() = 0;
  // A second handle on the same data, as another replica holds it (an in-process store may
  // return store() itself).
  virtual KeyStore& peer() = 0;
  // A new, unstarted feed of the key changes committed to this data.
  virtual std::unique_ptr<KeyChangeFeed> NewFeed() = 0;
};

struct KeyStoreImplementation {
  std::string name;
  // A fresh harness; may record a skip or failure (then returns nullptr).
  std::function<std::unique_ptr<KeyStoreHarness>()> make;
};

// The key-store conformance suite: every KeyStore must pass it unchanged. Instantiate it once per
// implementation:
//   INSTANTIATE_TEST_SUITE_P(Memory, KeyStoreConformanceTest,
//                            ::testing::Values(KeyStoreImplementation{"memory", MakeHarness}),
//                            KeyStoreImplementationName);
class KeyStoreConformanceTest : public ::testing::TestWithParam<KeyStoreImplementation> {
 protected:
  void SetUp() override;
  void TearDown() override;

  KeyStore& store() { return harness_->store(); }
  KeyStore& peer() { return harness_->peer(); }
  KeyStoreHarness& harness() { return *harness_; }

 private:
  std::unique_ptr<KeyStoreHarness> harness_;
};

std::string KeyStoreImplementationName(
    const ::testing::TestParamInfo<KeyStoreImplementation>& info);

void PrintTo(const KeyStoreImplementation& implementation, std::ostream* os);

}  // namespace tokend::storage::conformance
