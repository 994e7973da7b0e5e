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
//
// Only a kGate probe decides readiness: what this replica can fix or must not serve without
// (a signing key, a fresh denylist, not draining). A kReport probe (the database) is shown to
// operators but never takes the replica out of load balancing: a database blip would otherwise
// take every replica out at once, and with them Verify and Issue, which need no database.
class Readiness {
 public:
  enum class Kind { kGate, kReport };
  struct Check {
    std::string name;                     // "database", shown to operators
    std::function<absl::Status()> probe;  // OK when fine; the message says why not
    Kind kind = Kind::kGate;
  };
  struct Result {
    bool ready = false;
    std::vector<std::pair<std::string, std::string>> failing;   // gates: name -> why
    std::vector<std::pair<std::string, std::string>> degraded;  // reports: name -> why
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
