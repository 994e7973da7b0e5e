#include "services/tokend/http/readiness.h"

namespace tokend::http {

Readiness::Readiness(std::vector<Check> checks) : checks_(std::move(checks)) {
  current_.failing.emplace_back("startup", "not evaluated yet");
}

Readiness::Result Readiness::Evaluate() {
  Result result;
  for (const Check& check : checks_) {
    absl::Status status = check.probe();
    if (status.ok()) continue;
    auto& list = check.kind == Kind::kGate ? result.failing : result.degraded;
    list.emplace_back(check.name, std::string{status.message()});
  }
  result.ready = result.failing.empty();
  absl::MutexLock lock(&mu_);
  current_ = result;
  return result;
}

Readiness::Result Readiness::Current() const {
  absl::MutexLock lock(&mu_);
  return current_;
}

}  // namespace tokend::http
