#include "tests/testing/pg_server_control.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

extern char** environ;

namespace tokend::testing {
namespace {

std::optional<std::string> Env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

std::string FindRunuser() {
  for (const char* path : {"/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"}) {
    if (access(path, X_OK) == 0) return path;
  }
  return "runuser";
}

}  // namespace

std::optional<PgServerLayout> SharedTestServerLayout() {
  const auto data_dir = Env("TOKEND_TEST_PG_DIR");
  const auto port = Env("TOKEND_TEST_PG_PORT");
  if (!data_dir.has_value() || !port.has_value()) return std::nullopt;
  PgServerLayout layout;
  layout.bin_dir = Env("TOKEND_TEST_PG_BIN").value_or("/usr/lib/postgresql/15/bin");
  layout.data_dir = *data_dir;
  const std::string parent = std::filesystem::path(*data_dir).parent_path().string();
  layout.socket_dir = parent;
  layout.log_file = parent + "/server.log";
  if (!absl::SimpleAtoi(*port, &layout.port)) return std::nullopt;
  return layout;
}

absl::Status RunAsPostgresUser(const std::vector<std::string>& argv, const std::string& log_file) {
  std::vector<std::string> full;
  if (geteuid() == 0) full = {FindRunuser(), "-u", "postgres", "--"};
  full.insert(full.end(), argv.begin(), argv.end());
  std::vector<char*> args;
  for (std::string& arg : full) args.push_back(arg.data());
  args.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_file.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) return absl::InternalError(absl::StrCat("cannot run ", argv[0]));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return absl::InternalError("waitpid failed");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(
        absl::StrCat(argv[0], " failed (status ", status, "), see ", log_file));
  }
  return absl::OkStatus();
}

absl::Status StartPostgresServer(const PgServerLayout& layout) {
  return RunAsPostgresUser({layout.bin_dir + "/pg_ctl", "-D", layout.data_dir, "-l",
                            layout.log_file, "-w", "-t", "30", "-o",
                            absl::StrCat("-c listen_addresses=127.0.0.1 -p ", layout.port, " -k ",
                                         layout.socket_dir, " -c fsync=off -c max_connections=200"),
                            "start"},
                           layout.log_file + ".ctl");
}

absl::Status StopPostgresServer(const PgServerLayout& layout) {
  return RunAsPostgresUser(
      {layout.bin_dir + "/pg_ctl", "-D", layout.data_dir, "-m", "fast", "-w", "-t", "30", "stop"},
      layout.log_file + ".ctl");
}

int PickFreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

}  // namespace tokend::testing
