#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "tokend/v1/token_service.grpc.pb.h"

namespace tokend::e2e {

// Paths of the binaries under test, from TOKEND_BINARY_DIR (set by tokend_cc_test).
std::string TokendBinary();
std::string TokenctlBinary();

// Runs argv (argv[0] an absolute path) to completion with stdout and stderr captured in
// `output`: its exit code (128 + signal when killed by one). DEADLINE_EXCEEDED (and SIGKILL)
// after `timeout`.
absl::StatusOr<int> RunProgram(const std::vector<std::string>& argv, absl::Duration timeout,
                               std::string* output = nullptr,
                               const std::vector<std::pair<std::string, std::string>>& env = {});

// A fresh private directory for one test's files (ready files, keys, logs); removed with
// everything in it when destroyed.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }
  // Writes `content` to File(name) and returns its path.
  std::string Write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

// The real `tokend` binary, run as a child process on ports chosen by the kernel
// (--grpc_listen=127.0.0.1:0 --http_listen=127.0.0.1:0 --ready_file --insecure plus the test's
// flags). stdout and stderr go to a log file, printed by DumpLog() when a test fails. The
// destructor SIGKILLs a process still running. Not thread-safe (one owner).
class TokendProcess {
 public:
  struct Options {
    std::vector<std::string> args;                         // extra flags, e.g. --store=memory
    std::vector<std::pair<std::string, std::string>> env;  // extra environment
    absl::Duration ready_timeout = absl::Seconds(30);
    bool add_default_flags = true;  // the listen/ready/insecure flags above
    bool insecure = true;           // with add_default_flags: false leaves --insecure out (TLS)
  };

  // Starts the process and waits (bounded) for its ready file. FAILED_PRECONDITION with the
  // log's tail if it exits first; DEADLINE_EXCEEDED if it never gets ready.
  static absl::StatusOr<std::unique_ptr<TokendProcess>> Start(Options options);
  // Runs the binary to completion (for `tokend migrate` and refused starts): its exit code.
  static absl::StatusOr<int> RunToExit(
      const std::vector<std::string>& args, absl::Duration timeout, std::string* output = nullptr,
      const std::vector<std::pair<std::string, std::string>>& env = {});

  ~TokendProcess();
  TokendProcess(const TokendProcess&) = delete;
  TokendProcess& operator=(const TokendProcess&) = delete;

  int grpc_port() const { return grpc_port_; }
  int http_port() const { return http_port_; }
  std::string grpc_address() const { return "127.0.0.1:" + std::to_string(grpc_port_); }
  pid_t pid() const { return pid_; }

  std::unique_ptr<v1::TokenService::Stub> NewStub() const;
  std::shared_ptr<::grpc::Channel> NewChannel() const;

  void Signal(int signal_number) const;
  // The exit code once the process exits (128 + signal when killed by one); nullopt on timeout.
  std::optional<int> WaitForExit(absl::Duration timeout);
  // SIGTERM, then waits: the exit code, or nullopt if it did not exit within `timeout`.
  std::optional<int> Terminate(absl::Duration timeout = absl::Seconds(20));
  bool running();

  std::string Log() const;
  void DumpLog() const;  // to stderr, framed

 private:
  TokendProcess() = default;

  std::unique_ptr<ScratchDir> dir_;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  int grpc_port_ = 0;
  int http_port_ = 0;
  std::string log_path_;
};

// A gRPC client context with a deadline `timeout` from now.
std::unique_ptr<::grpc::ClientContext> ContextWithDeadline(
    absl::Duration timeout = absl::Seconds(10));

}  // namespace tokend::e2e
