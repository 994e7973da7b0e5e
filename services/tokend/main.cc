// tokend: the token service binary. Parse, create, run, and one status to one exit code; the
// wiring lives in services/tokend/server/.
//
//   tokend --insecure [--store=memory|postgresql://...] [--signing_key=a.pem,b.jwk] ...
//   tokend migrate --store=postgresql://...
//   tokend keys list|rotate|remove|import|rewrap --store=postgresql://... --kek_file=...
//
// Every flag can also be set from the environment as TOKEND_<FLAG NAME IN UPPER CASE>
// (e.g. TOKEND_STORE); a flag given on the command line wins.

#include <csignal>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "services/tokend/server/flags.h"
#include "services/tokend/server/keys_command.h"
#include "services/tokend/server/migrate_command.h"
#include "services/tokend/server/server.h"
#include "util/clock.h"
#include "util/log.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// INVALID_ARGUMENT: the configuration cannot work (exit 2); any other error: the environment
// failed (exit 1).
int ExitCodeFor(const absl::Status& status) {
  if (status.ok()) return kExitOk;
  return status.code() == absl::StatusCode::kInvalidArgument ? kExitUsage : kExitFailure;
}

int Fail(const absl::Status& status) {
  tokend::log::Error(std::string{status.message()});
  return ExitCodeFor(status);
}

// Blocks SIGTERM and SIGINT in this thread and every thread started after, so sigwait() here is
// the only place they are delivered.
sigset_t BlockShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

int RunServer(const sigset_t& signals) {
  absl::StatusOr<tokend::server::ServerConfig> config = tokend::server::ServerConfigFromFlags();
  if (!config.ok()) return Fail(config.status());
  const absl::Duration drain_timeout = config->drain_timeout;
  absl::StatusOr<std::unique_ptr<tokend::server::Server>> server =
      tokend::server::Server::Create(*std::move(config));
  if (!server.ok()) return Fail(server.status());

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  tokend::log::Info(absl::StrCat("received ", signal_number == SIGTERM ? "SIGTERM" : "SIGINT",
                                 ", draining for up to ", absl::FormatDuration(drain_timeout)));
  // A second signal during the drain means "now": an operator's second Ctrl-C is not ignored.
  std::thread([signals] {
    int again = 0;
    sigwait(&signals, &again);
    tokend::log::Warning("second signal while draining: exiting at once");
    std::_Exit(kExitFailure);
  }).detach();
  tokend::util::SystemClock clock;
  (*server)->Drain(clock.Now() + drain_timeout);
  server->reset();
  tokend::log::Info("stopped");
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  // Before any thread exists, so every thread inherits the mask.
  const sigset_t signals = BlockShutdownSignals();
  absl::FlagsUsageConfig usage_config;
  usage_config.contains_help_flags = tokend::server::IsTokendFlagFile;
  usage_config.contains_helpshort_flags = tokend::server::IsTokendFlagFile;
  absl::SetFlagsUsageConfig(usage_config);
  absl::SetProgramUsageMessage(
      "tokend (--insecure | --tls_cert=C --tls_key=K [--tls_client_ca=CA]) "
      "[--policy_file=P] [--store=memory|postgresql://...] [flags]\n"
      "       tokend migrate --store=postgresql://...\n"
      "       tokend keys list|rotate|remove KID|import FILE|rewrap --store=postgresql://... "
      "--kek_file=...\n"
      "Every flag can also be set as env TOKEND_<FLAG_NAME_IN_UPPER_CASE>.");
  if (absl::Status status = tokend::server::ApplyEnvironmentToFlags(); !status.ok()) {
    return Fail(status);
  }
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() > 1) {
    const std::string command = positional[1];
    if (command == "migrate" && positional.size() == 2) {
      return ExitCodeFor(tokend::server::RunMigrate());
    }
    if (command == "keys") {
      absl::StatusOr<tokend::server::KeysCommandContext> context =
          tokend::server::KeysCommandContextFromFlags();
      if (!context.ok()) return Fail(context.status());
      return tokend::server::RunKeysCommand(
          std::vector<std::string>(positional.begin() + 2, positional.end()), *context);
    }
    return Fail(absl::InvalidArgumentError(absl::StrCat(
        "unknown command \"", command, "\" (the subcommands are `migrate` and `keys`)")));
  }
  return RunServer(signals);
}
