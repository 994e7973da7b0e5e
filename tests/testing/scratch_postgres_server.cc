#include "tests/testing/scratch_postgres_server.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <vector>

#include "absl/strings/str_cat.h"
#include "util/status_macros.h"

namespace tokend::testing {

absl::StatusOr<std::unique_ptr<ScratchPostgresServer>> ScratchPostgresServer::Start() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern =
      absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/tokend-scratch-pg.XXXXXX");
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (mkdtemp(buffer.data()) == nullptr) return absl::InternalError("mkdtemp failed");
  const std::string root(buffer.data());
  chmod(root.c_str(), 0755);
  if (geteuid() == 0) {
    const passwd* postgres = getpwnam("postgres");
    if (postgres == nullptr) return absl::FailedPreconditionError("no postgres user");
    if (chown(root.c_str(), postgres->pw_uid, postgres->pw_gid) != 0) {
      return absl::InternalError("chown of the scratch directory failed");
    }
  }
  const char* bin = std::getenv("TOKEND_TEST_PG_BIN");
  PgServerLayout layout;
  layout.bin_dir = bin != nullptr && *bin != '\0' ? bin : "/usr/lib/postgresql/15/bin";
  layout.data_dir = root + "/data";
  layout.socket_dir = root;
  layout.log_file = root + "/server.log";
  layout.port = PickFreeLoopbackPort();
  std::unique_ptr<ScratchPostgresServer> server(new ScratchPostgresServer(root, layout));
  TOKEND_RETURN_IF_ERROR(RunAsPostgresUser({layout.bin_dir + "/initdb", "-D", layout.data_dir, "-U",
                                            "tokend", "-A", "trust", "--no-sync", "-E", "UTF8"},
                                           root + "/initdb.log"));
  TOKEND_RETURN_IF_ERROR(server->Restart());
  return server;
}

ScratchPostgresServer::~ScratchPostgresServer() {
  if (running_) {
    (void)RunAsPostgresUser(
        {layout_.bin_dir + "/pg_ctl", "-D", layout_.data_dir, "-m", "immediate", "-w", "stop"},
        layout_.log_file + ".ctl");
  }
  std::error_code ignored;
  std::filesystem::remove_all(root_, ignored);
}

absl::Status ScratchPostgresServer::Stop() {
  TOKEND_RETURN_IF_ERROR(StopPostgresServer(layout_));
  running_ = false;
  return absl::OkStatus();
}

absl::Status ScratchPostgresServer::Restart() {
  TOKEND_RETURN_IF_ERROR(StartPostgresServer(layout_));
  running_ = true;
  return absl::OkStatus();
}

std::string ScratchPostgresServer::dsn() const {
  return absl::StrCat("host=127.0.0.1 port=", layout_.port,
                      " user=tokend dbname=postgres connect_timeout=2");
}

}  // namespace tokend::testing
