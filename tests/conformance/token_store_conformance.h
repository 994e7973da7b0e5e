#pragma once

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "gtest/gtest.h"
#include "storage/token_store.h"

namespace tokend::storage::conformance {

// One TokenStore implementation under test, fresh and empty for each test.
class StoreHarness {
 public:
  virtual ~StoreHarness() = default;
  virtual TokenStore& store() = 0;
  // A second handle on the same data, as another replica holds it (an in-process store may
  // return store() itself).
  virtual TokenStore& peer() = 0;
  // A new, unstarted feed of the revocations committed to this data.
  virtual std::unique_ptr<RevocationFeed> NewFeed() = 0;
};

struct StoreImplementation {
  std::string name;
  // A fresh harness; may record a skip or failure (then returns nullptr).
  std::function<std::unique_ptr<StoreHarness>()> make;
};

// The storage conformance suite (CONVENTIONS §8): every TokenStore must pass it unchanged.
// Instantiate it once per implementation:
//   INSTANTIATE_TEST_SUITE_P(Memory, TokenStoreConformanceTest,
//                            ::testing::Values(StoreImplementation{"memory", MakeHarness}),
//                            ImplementationName);
class TokenStoreConformanceTest : public ::testing::TestWithParam<StoreImplementation> {
 protected:
  void SetUp() override;
  void TearDown() override;

  TokenStore& store() { return harness_->store(); }
  TokenStore& peer() { return harness_->peer(); }
  StoreHarness& harness() { return *harness_; }

 private:
  std::unique_ptr<StoreHarness> harness_;
};

std::string ImplementationName(const ::testing::TestParamInfo<StoreImplementation>& info);

// Shows the implementation's name in gtest messages.
void PrintTo(const StoreImplementation& implementation, std::ostream* os);

}  // namespace tokend::storage::conformance
