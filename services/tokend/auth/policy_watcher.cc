#include "services/tokend/auth/policy_watcher.h"

#include <sys/stat.h>

#include <fstream>
#include <iterator>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/tokend/auth/audit_log.h"
#include "services/tokend/auth/auth_metrics.h"
#include "services/tokend/auth/policy_loader.h"
#include "util/log.h"

namespace tokend::auth {

PolicyWatcher::PolicyWatcher(std::string path, Options options, const util::Clock& clock,
                             AuditLog* audit, AuthMetrics* metrics,
                             std::unique_ptr<util::LoopWaiter> waiter)
    : path_(std::move(path)),
      options_(options),
      clock_(clock),
      audit_(audit),
      metrics_(metrics),
      loop_({.name = "policy-watch",
             .first_wait = options.poll_interval,
             .waiter = std::move(waiter)},
            options.poll_interval, [this] {
              CheckNow().IgnoreError();  // reported inside
            }) {}

absl::StatusOr<std::unique_ptr<PolicyWatcher>> PolicyWatcher::Open(
    std::string path, Options options, const util::Clock& clock, AuditLog* audit,
    AuthMetrics* metrics, std::unique_ptr<util::LoopWaiter> waiter) {
  std::unique_ptr<PolicyWatcher> watcher(
      new PolicyWatcher(std::move(path), options, clock, audit, metrics, std::move(waiter)));
  absl::MutexLock lock(&watcher->check_mu_);
  watcher->stamp_ = watcher->Stat();
  if (!watcher->stamp_.exists) {
    return absl::NotFoundError(absl::StrCat("policy file ", watcher->path_, " does not exist"));
  }
  if (absl::Status status = watcher->Load(/*initial=*/true); !status.ok()) return status;
  return watcher;
}

PolicyWatcher::~PolicyWatcher() { Stop(); }

std::shared_ptr<const Policy> PolicyWatcher::Current() const {
  absl::MutexLock lock(&mu_);
  return current_;
}

PolicyWatcher::FileStamp PolicyWatcher::Stat() const {
  FileStamp stamp;
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) return stamp;
  stamp.exists = true;
  stamp.size = st.st_size;
  stamp.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  stamp.inode = st.st_ino;
  stamp.device = st.st_dev;
  return stamp;
}

void PolicyWatcher::Report(const absl::Status& status, size_t callers) {
  if (status.ok()) {
    log::Info(absl::StrCat("policy: loaded ", path_, " (", callers, " caller entries)"));
  } else {
    log::Error(absl::StrCat("policy: ", status.message(), "; keeping the last good policy"));
  }
  if (metrics_ != nullptr) {
    metrics_->RecordPolicyReload(status.ok(), clock_.Now());
    if (status.ok()) metrics_->SetPolicyCallers(callers);
  }
  if (audit_ != nullptr) {
    AuditEvent event;
    event.event = "policy_reload";
    SetAuditStatus(status, event);
    event.extra = {{"file", path_}};
    if (status.ok()) event.extra.emplace_back("callers", absl::StrCat(callers));
    audit_->Record(event);
  }
}

absl::Status PolicyWatcher::Load(bool initial) {
  std::string content;
  absl::Status status;
  {
    std::ifstream in(path_, std::ios::binary);
    if (!in) {
      status = absl::FailedPreconditionError(absl::StrCat("cannot read policy file ", path_));
    } else {
      // One byte past the limit, so an oversized file is refused rather than truncated.
      content.resize(PolicyLimits::kMaxFileBytes + 1);
      in.read(content.data(), static_cast<std::streamsize>(content.size()));
      content.resize(static_cast<size_t>(in.gcount()));
      if (in.bad()) {
        status = absl::FailedPreconditionError(absl::StrCat("cannot read policy file ", path_));
      }
    }
  }
  if (status.ok()) {
    if (!initial && last_content_.has_value() && *last_content_ == content) {
      return last_status_;  // touched, not changed: nothing new to report
    }
    last_content_ = content;
    absl::StatusOr<Policy> policy = ParsePolicyYaml(content);
    if (policy.ok()) {
      const size_t callers = policy->callers.size();
      {
        absl::MutexLock lock(&mu_);
        current_ = std::make_shared<const Policy>(*std::move(policy));
      }
      last_status_ = absl::OkStatus();
      Report(last_status_, callers);
      return last_status_;
    }
    status = absl::InvalidArgumentError(absl::StrCat(path_, ": ", policy.status().message()));
  } else {
    last_content_.reset();
  }
  last_status_ = status;
  Report(status, 0);
  return status;
}

absl::Status PolicyWatcher::CheckNow() {
  absl::MutexLock lock(&check_mu_);
  FileStamp stamp = Stat();
  if (stamp == stamp_) return absl::OkStatus();
  stamp_ = stamp;
  if (!stamp.exists) {
    absl::Status missing =
        absl::NotFoundError(absl::StrCat("policy file ", path_, " has disappeared"));
    last_content_.reset();
    if (last_status_ != missing) {
      last_status_ = missing;
      Report(missing, 0);
    }
    return missing;
  }
  return Load(/*initial=*/false);
}

void PolicyWatcher::Start() { loop_.Start(); }

void PolicyWatcher::Stop() { loop_.Stop(); }

}  // namespace tokend::auth
