#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "services/tokend/auth/audit_log.h"
#include "services/tokend/auth/authorizer.h"
#include "services/tokend/auth/caller_resolver.h"
#include "services/tokend/auth/grpc_access.h"
#include "services/tokend/auth/policy.h"
#include "services/tokend/auth/policy_watcher.h"
#include "services/tokend/auth/trusted_proxies.h"
#include "tests/testing/fake_clock.h"

namespace tokend::testing {

// A GrpcAccessControl that admits every caller (Policy::AllowAll) and keeps the audit lines it
// is given, for tests of what the adapter audits. Thread-safe.
class AuditTrail {
 public:
  const auth::GrpcAccessControl* access_control() const { return &access_; }

  std::vector<std::string> Lines() const {
    absl::MutexLock lock(&mu_);
    return lines_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<std::string> lines_ ABSL_GUARDED_BY(mu_);
  FakeClock clock_;
  auth::AuditLog log_{[this](std::string_view line) {
                        absl::MutexLock lock(&mu_);
                        lines_.emplace_back(line);
                        return true;
                      },
                      clock_, nullptr};
  auth::StaticPolicySource policies_{auth::Policy::AllowAll()};
  auth::Authorizer authorizer_{policies_, nullptr, nullptr, {}};
  auth::CallerResolver resolver_{auth::CallerResolver::ForwardedCerts::kIgnore,
                                 auth::TrustedProxies()};
  auth::GrpcAccessControl access_{resolver_, authorizer_, &log_};
};

}  // namespace tokend::testing
