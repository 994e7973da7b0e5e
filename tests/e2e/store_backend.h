#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/e2e/tokend_process.h"

namespace tokend::e2e {

// The store a test's tokend processes run against: --store=memory, or a fresh, migrated
// PostgreSQL database. The shared contract suite (tokend_contract_tests.cc) is compiled into one
// executable per backend, each defining MakeStoreBackend(). Not thread-safe.
class StoreBackend {
 public:
  virtual ~StoreBackend() = default;
  virtual std::string name() const = 0;
  // Flags that point a tokend at this store (with whatever else it needs there, e.g. a shared
  // refresh secret). Every process started with them shares the same data where possible.
  virtual std::vector<std::string> StoreFlags() const = 0;
  // Whether several processes can share the data (false for memory).
  virtual bool shared() const = 0;
};

// Defined by each test executable. An error whose code is FAILED_PRECONDITION means "skip this
// test" (e.g. no PostgreSQL configured); the message says why.
absl::StatusOr<std::unique_ptr<StoreBackend>> MakeStoreBackend(const ScratchDir& dir);

}  // namespace tokend::e2e
