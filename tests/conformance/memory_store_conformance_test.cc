// The storage conformance suite against MemoryTokenStore.

#include <memory>

#include "storage/memory/memory_revocation_feed.h"
#include "storage/memory/memory_token_store.h"
#include "tests/conformance/token_store_conformance.h"

namespace tokend::storage::conformance {
namespace {

class MemoryHarness : public StoreHarness {
 public:
  TokenStore& store() override { return store_; }
  TokenStore& peer() override { return store_; }  // one process: one store
  std::unique_ptr<RevocationFeed> NewFeed() override { return store_.NewFeed(); }

 private:
  MemoryTokenStore store_;
};

INSTANTIATE_TEST_SUITE_P(Memory, TokenStoreConformanceTest,
                         ::testing::Values(StoreImplementation{
                             "memory", [] { return std::make_unique<MemoryHarness>(); }}),
                         ImplementationName);

}  // namespace
}  // namespace tokend::storage::conformance
