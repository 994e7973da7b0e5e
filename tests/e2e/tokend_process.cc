#include "tests/e2e/tokend_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

extern char** environ;

namespace tokend::e2e {
namespace {

// TOKEND_BINARY_DIR, else derived from this test's own path (<build>/tests/e2e/<test>).
std::string BinaryDir() {
  const char* dir = std::getenv("TOKEND_BINARY_DIR");
  if (dir != nullptr && *dir != '\0') return dir;
  std::error_code error;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  if (error) return ".";
  return self.parent_path().parent_path().parent_path().string();
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// "...\"key\":123..." -> 123.
std::optional<int> JsonInt(const std::string& json, const std::string& key) {
  std::string needle = "\"" + key + "\":";
  size_t at = json.find(needle);
  if (at == std::string::npos) return std::nullopt;
  size_t start = at + needle.size();
  size_t end = start;
  while (end < json.size() && std::isdigit(static_cast<unsigned char>(json[end]))) ++end;
  int value = 0;
  if (!absl::SimpleAtoi(json.substr(start, end - start), &value)) return std::nullopt;
  return value;
}

int DecodeWaitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// posix_spawn with stdout and stderr appended to `log_path`.
absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& args,
                            const std::vector<std::pair<std::string, std::string>>& env,
                            const std::string& log_path) {
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  for (const auto& [name, value] : env) env_strings.push_back(name + "=" + value);
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_strings = args;
  std::vector<char*> argv;
  for (std::string& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    return absl::InternalError(absl::StrCat("posix_spawn ", args[0], ": ", std::strerror(rc)));
  }
  return pid;
}

}  // namespace

std::string TokendBinary() { return BinaryDir() + "/services/tokend/tokend"; }
std::string TokenctlBinary() { return BinaryDir() + "/tools/tokenctl/tokenctl"; }

ScratchDir::ScratchDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/tokend-e2e.XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (mkdtemp(buffer.data()) == nullptr) {
    std::perror("mkdtemp");
    std::abort();
  }
  path_ = buffer.data();
}

ScratchDir::~ScratchDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string ScratchDir::Write(const std::string& name, const std::string& content) const {
  std::string path = File(name);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  return path;
}

absl::StatusOr<std::unique_ptr<TokendProcess>> TokendProcess::Start(Options options) {
  std::unique_ptr<TokendProcess> process(new TokendProcess());
  process->dir_ = std::make_unique<ScratchDir>();
  process->log_path_ = process->dir_->File("tokend.log");
  std::string ready_file = process->dir_->File("ready.json");
  std::vector<std::string> args = {TokendBinary()};
  if (options.add_default_flags) {
    args.insert(args.end(), {"--grpc_listen=127.0.0.1:0", "--http_listen=127.0.0.1:0",
                             "--ready_file=" + ready_file});
    if (options.insecure) args.push_back("--insecure");
  }
  args.insert(args.end(), options.args.begin(), options.args.end());
  absl::StatusOr<pid_t> pid = Spawn(args, options.env, process->log_path_);
  if (!pid.ok()) return pid.status();
  process->pid_ = *pid;

  absl::Time deadline = absl::Now() + options.ready_timeout;
  while (absl::Now() < deadline) {
    if (!process->running()) {
      return absl::FailedPreconditionError(
          absl::StrCat("tokend exited with code ", process->exit_code_.value_or(-1),
                       " before getting ready; log:\n", process->Log()));
    }
    std::string ready = ReadWholeFile(ready_file);
    std::optional<int> grpc_port = JsonInt(ready, "grpc_port");
    std::optional<int> http_port = JsonInt(ready, "http_port");
    if (grpc_port && http_port) {
      process->grpc_port_ = *grpc_port;
      process->http_port_ = *http_port;
      return process;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return absl::DeadlineExceededError(absl::StrCat("tokend not ready after ",
                                                  absl::FormatDuration(options.ready_timeout),
                                                  "; log:\n", process->Log()));
}

absl::StatusOr<int> RunProgram(const std::vector<std::string>& argv, absl::Duration timeout,
                               std::string* output,
                               const std::vector<std::pair<std::string, std::string>>& env) {
  ScratchDir dir;
  std::string log_path = dir.File("out.log");
  absl::StatusOr<pid_t> pid = Spawn(argv, env, log_path);
  if (!pid.ok()) return pid.status();
  absl::Time deadline = absl::Now() + timeout;
  while (true) {
    int status = 0;
    pid_t done = waitpid(*pid, &status, WNOHANG);
    if (done == *pid) {
      if (output != nullptr) *output = ReadWholeFile(log_path);
      return DecodeWaitStatus(status);
    }
    if (absl::Now() > deadline) {
      kill(*pid, SIGKILL);
      waitpid(*pid, &status, 0);
      return absl::DeadlineExceededError(
          absl::StrCat(argv[0], " did not exit in time; output:\n", ReadWholeFile(log_path)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

absl::StatusOr<int> TokendProcess::RunToExit(
    const std::vector<std::string>& args, absl::Duration timeout, std::string* output,
    const std::vector<std::pair<std::string, std::string>>& env) {
  std::vector<std::string> full = {TokendBinary()};
  full.insert(full.end(), args.begin(), args.end());
  return RunProgram(full, timeout, output, env);
}

TokendProcess::~TokendProcess() {
  if (running()) {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
}

bool TokendProcess::running() {
  if (exit_code_.has_value() || pid_ <= 0) return false;
  int status = 0;
  pid_t done = waitpid(pid_, &status, WNOHANG);
  if (done == pid_) {
    exit_code_ = DecodeWaitStatus(status);
    return false;
  }
  return true;
}

void TokendProcess::Signal(int signal_number) const {
  if (pid_ > 0 && !exit_code_.has_value()) kill(pid_, signal_number);
}

std::optional<int> TokendProcess::WaitForExit(absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (running()) {
    if (absl::Now() > deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return exit_code_;
}

std::optional<int> TokendProcess::Terminate(absl::Duration timeout) {
  Signal(SIGTERM);
  return WaitForExit(timeout);
}

std::string TokendProcess::Log() const { return ReadWholeFile(log_path_); }

void TokendProcess::DumpLog() const {
  std::cerr << "----- tokend log (pid " << pid_ << ") -----\n"
            << Log() << "----- end of tokend log -----\n";
}

std::shared_ptr<::grpc::Channel> TokendProcess::NewChannel() const {
  return ::grpc::CreateChannel(grpc_address(), ::grpc::InsecureChannelCredentials());
}

std::unique_ptr<v1::TokenService::Stub> TokendProcess::NewStub() const {
  return v1::TokenService::NewStub(NewChannel());
}

std::unique_ptr<::grpc::ClientContext> ContextWithDeadline(absl::Duration timeout) {
  auto context = std::make_unique<::grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout));
  return context;
}

}  // namespace tokend::e2e
