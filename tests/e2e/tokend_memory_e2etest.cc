// The contract suite (tokend_contract_tests.cc) against --store=memory.

#include <memory>
#include <string>
#include <vector>

#include "tests/e2e/store_backend.h"

namespace tokend::e2e {
namespace {

class MemoryBackend : public StoreBackend {
 public:
  std::string name() const override { return "memory"; }
  std::vector<std::string> StoreFlags() const override { return {"--store=memory"}; }
  bool shared() const override { return false; }
};

}  // namespace

absl::StatusOr<std::unique_ptr<StoreBackend>> MakeStoreBackend(const ScratchDir& /*dir*/) {
  return std::make_unique<MemoryBackend>();
}

}  // namespace tokend::e2e
