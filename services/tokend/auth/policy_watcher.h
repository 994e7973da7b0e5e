#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/tokend/auth/policy.h"
#include "util/background_loop.h"
#include "util/clock.h"

namespace tokend::auth {

class AuditLog;
class AuthMetrics;

// Where the authorizer gets the policy in force. Current() returns an immutable snapshot that
// stays valid as long as it is held, so one call is judged by one policy even across a reload.
class PolicySource {
 public:
  virtual ~PolicySource() = default;
  virtual std::shared_ptr<const Policy> Current() const = 0;
};

// A policy that never changes (no --policy_file, tests). Thread-safe.
class StaticPolicySource final : public PolicySource {
 public:
  explicit StaticPolicySource(Policy policy)
      : policy_(std::make_shared<const Policy>(std::move(policy))) {}
  std::shared_ptr<const Policy> Current() const override { return policy_; }

 private:
  std::shared_ptr<const Policy> policy_;
};

// The policy of --policy_file, reloaded when the file changes. Every `poll_interval` it stats
// the file (following symlinks, as Kubernetes ConfigMap volumes swap them); when size, mtime
// or inode changed it reads the file and, if the content differs from the last one seen,
// parses it. A file that parses replaces the policy at once; one that does not (or cannot be
// read) is logged, audited and counted, and the last good policy stays in force — a bad edit
// never opens or closes the service by accident. Each distinct bad content is reported once,
// not every poll. Thread-safe: Current() takes a mutex only to copy a shared_ptr.
class PolicyWatcher final : public PolicySource {
 public:
  struct Options {
    absl::Duration poll_interval = absl::Seconds(1);
  };

  // Loads `path` once; the file must parse (a server must not start without its policy).
  // `audit` and `metrics` may be null and must outlive the watcher. `waiter` paces the polling
  // thread (tests inject one); null: real time.
  static absl::StatusOr<std::unique_ptr<PolicyWatcher>> Open(
      std::string path, Options options, const util::Clock& clock, AuditLog* audit,
      AuthMetrics* metrics, std::unique_ptr<util::LoopWaiter> waiter = nullptr);
  ~PolicyWatcher() override;  // Stop()s
  PolicyWatcher(const PolicyWatcher&) = delete;
  PolicyWatcher& operator=(const PolicyWatcher&) = delete;

  std::shared_ptr<const Policy> Current() const override;

  // Checks the file once (what the background thread does every poll). OK when the file is
  // unchanged or was reloaded; the error when it changed and could not be used (the previous
  // policy stays).
  absl::Status CheckNow();

  // Polls on a background thread, first one poll_interval after Start(), until Stop().
  // Idempotent; Start() after Stop() polls again.
  void Start();
  void Stop();

 private:
  struct FileStamp {
    bool exists = false;
    off_t size = 0;
    int64_t mtime_ns = 0;
    ino_t inode = 0;
    dev_t device = 0;
    bool operator==(const FileStamp& o) const {
      return exists == o.exists && size == o.size && mtime_ns == o.mtime_ns && inode == o.inode &&
             device == o.device;
    }
  };

  PolicyWatcher(std::string path, Options options, const util::Clock& clock, AuditLog* audit,
                AuthMetrics* metrics, std::unique_ptr<util::LoopWaiter> waiter);
  FileStamp Stat() const;
  // Reads and parses the file; installs it on success. Reports a failure once per content.
  absl::Status Load(bool initial) ABSL_EXCLUSIVE_LOCKS_REQUIRED(check_mu_);
  void Report(const absl::Status& status, size_t callers);

  const std::string path_;
  const Options options_;
  const util::Clock& clock_;
  AuditLog* const audit_;
  AuthMetrics* const metrics_;

  absl::Mutex check_mu_;  // one check at a time
  FileStamp stamp_ ABSL_GUARDED_BY(check_mu_);
  // The last content read, good or bad; unset after a read failure.
  std::optional<std::string> last_content_ ABSL_GUARDED_BY(check_mu_);
  absl::Status last_status_ ABSL_GUARDED_BY(check_mu_);

  mutable absl::Mutex mu_;
  std::shared_ptr<const Policy> current_ ABSL_GUARDED_BY(mu_);

  util::BackgroundLoop loop_;  // last: stopped before the members its task uses go
};

}  // namespace tokend::auth
