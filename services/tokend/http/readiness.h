#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace tokend::http {

// Whether this replica should receive traffic: a fixed list of named probes (signing key,
// denylist freshness, database, ...) run together by Evaluate(), whose last result Current()
// returns without running anything. So /readyz and the gRPC health service share one answer and
// a slow probe (a database ping) never runs on a request thread. Not ready until the first
// Evaluate(). Thread-safe; probes run on the thread calling Evaluate().
class Readiness {
 public:
  struct Check {
    std::string name;                     // "database", shown to operators
    std::function<absl::Status()> probe;  // OK when ready; the message says why not
  };
  struct Result {
    bool ready = false;
    std::vector<std::pair<std::string, std::string>> failing;  // name -> why
  };

  explicit Readiness(std::vector<Check> checks);

  // Runs every probe now and stores the result; returns it.
  Result Evaluate();
  Result Current() const;

 private:
  const std::vector<Check> checks_;
  mutable absl::Mutex mu_;
  Result current_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tokend::http
