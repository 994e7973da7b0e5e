// The key-store conformance suite against MemoryKeyStore.

#include <memory>

#include "storage/memory/memory_key_change_feed.h"
#include "storage/memory/memory_key_store.h"
#include "tests/conformance/key_store_conformance.h"

namespace tokend::storage::conformance {
namespace {

class MemoryKeyHarness : public KeyStoreHarness {
 public:
  KeyStore& store() override { return store_; }
  KeyStore& peer() override { return store_; }  // one process: one store
  std::unique_ptr<KeyChangeFeed> NewFeed() override { return store_.NewFeed(); }

 private:
  MemoryKeyStore store_;
};

INSTANTIATE_TEST_SUITE_P(Memory, KeyStoreConformanceTest,
                         ::testing::Values(KeyStoreImplementation{
                             "memory", [] { return std::make_unique<MemoryKeyHarness>(); }}),
                         KeyStoreImplementationName);

}  // namespace
}  // namespace tokend::storage::conformance
