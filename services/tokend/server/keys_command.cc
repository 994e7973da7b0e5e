#include "services/tokend/server/keys_command.h"

#include <cstdio>
#include <memory>
#include <string>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "services/tokend/keys/kek_loader.h"
#include "services/tokend/keys/key_ring.h"
#include "storage/postgres/postgres_key_store.h"
#include "util/clock.h"
#include "util/log.h"

ABSL_FLAG(bool, immediate, false,
          "`tokend keys rotate`: the new key signs at once instead of after being published "
          "for --jwks_max_age (verifiers with a cached JWKS may reject its tokens meanwhile)");
ABSL_FLAG(std::string, reason, "", "`tokend keys remove`: why, recorded with the key");
ABSL_FLAG(std::string, as, "next",
          "`tokend keys import`: the state of the imported key: next (published, signs after "
          "--jwks_max_age), active (signs now) or retired (verifies only)");

namespace tokend::server {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

constexpr char kUsage[] =
    "usage: tokend keys list|rotate [--immediate]|remove KID [--reason=TEXT]|"
    "import FILE [--as=next|active|retired]|rewrap --previous_kek_file=OLD  "
    "(with --store=postgresql://... and --kek_file or TOKEND_KEK)";

std::string TimeText(absl::Time time) {
  if (time == absl::InfiniteFuture() || time == absl::InfinitePast()) return "-";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", time, absl::UTCTimeZone());
}

void Print(const std::string& line) { (void)std::fprintf(stdout, "%s\n", line.c_str()); }

int Fail(const std::string& what, const absl::Status& status) {
  log::Error(absl::StrCat(what, ": ", status.ToString()));
  return kExitFailure;
}

void PrintKeys(const std::vector<keys::KeyInfo>& infos) {
  Print(
      "KID                                          ALG    STATE    SIGNING  CREATED               "
      "ACTIVATES             RETIRES               REMOVE_AFTER          KEK_ID            "
      "ORIGIN     REASON");
  for (const keys::KeyInfo& info : infos) {
    char line[512];
    (void)std::snprintf(
        line, sizeof(line), "%-44s %-6s %-8s %-8s %-21s %-21s %-21s %-21s %-17s %-10s %s",
        info.kid.c_str(), info.algorithm.c_str(),
        std::string(storage::KeyStateName(info.state)).c_str(), info.signing ? "yes" : "",
        TimeText(info.created_at).c_str(), TimeText(info.activates_at).c_str(),
        TimeText(info.retires_at).c_str(), TimeText(info.remove_after).c_str(), info.kek_id.c_str(),
        info.origin.c_str(), info.removal_reason.c_str());
    Print(line);
  }
}

}  // namespace

int RunKeysCommand(const std::vector<std::string>& args, const KeysCommandContext& context) {
  if (args.empty()) {
    log::Error(kUsage);
    return kExitUsage;
  }
  const std::string& command = args[0];
  const size_t expected_args = (command == "remove" || command == "import") ? 2 : 1;
  if (args.size() != expected_args ||
      (command != "list" && command != "rotate" && command != "remove" && command != "import" &&
       command != "rewrap")) {
    log::Error(kUsage);
    return kExitUsage;
  }
  if (context.memory_store) {
    log::Error(
        "tokend keys needs --store=postgresql://...: with --store=memory the keys live in the "
        "server process only");
    return kExitUsage;
  }
  absl::StatusOr<std::unique_ptr<storage::PostgresKeyStore>> store =
      storage::PostgresKeyStore::Connect(context.postgres);
  if (!store.ok()) return Fail("cannot open the key store", store.status());
  util::SystemClock clock;

  if (command == "list") {
    absl::StatusOr<std::vector<keys::KeyInfo>> infos = keys::ListKeyInfos(**store, clock.Now());
    if (!infos.ok()) return Fail("keys list", infos.status());
    PrintKeys(*infos);
    return kExitOk;
  }

  absl::StatusOr<keys::KekRing> keks = keys::LoadKekRing(
      context.kek_file,
      context.kek_env.has_value() ? std::optional<std::string_view>(*context.kek_env)
                                  : std::nullopt,
      context.previous_kek_file);
  if (!keks.ok()) {
    log::Error(std::string{keks.status().message()});
    return kExitUsage;
  }
  if (command == "rewrap" && context.previous_kek_file.empty()) {
    log::Error(
        "tokend keys rewrap: give the new KEK as --kek_file (or TOKEND_KEK) and the old one as "
        "--previous_kek_file");
    return kExitUsage;
  }
  const std::string primary_kek_id = keks->primary().id();
  absl::StatusOr<std::unique_ptr<keys::KeyManager>> manager =
      keys::KeyManager::OpenForAdmin(**store, *std::move(keks), context.manager_options, clock);
  if (!manager.ok()) return Fail("refusing to continue", manager.status());

  if (command == "rotate") {
    const keys::RotateMode mode = absl::GetFlag(FLAGS_immediate) ? keys::RotateMode::kImmediate
                                                                 : keys::RotateMode::kPublishFirst;
    absl::StatusOr<keys::RotateOutcome> outcome = (*manager)->RotateNow(mode);
    if (!outcome.ok()) return Fail("keys rotate", outcome.status());
    Print(outcome->rotated_now
              ? absl::StrCat("rotated: ", outcome->kid, " signs now")
              : absl::StrCat("rotation scheduled: ", outcome->kid, " is published and signs from ",
                             TimeText(outcome->activates_at)));
    return kExitOk;
  }
  if (command == "remove") {
    absl::StatusOr<storage::KeyRemovalResult> removed =
        (*manager)->RemoveKey(args[1], absl::GetFlag(FLAGS_reason));
    if (!removed.ok()) return Fail("keys remove", removed.status());
    if (removed->previous_state == storage::KeyState::kRemoved) {
      Print(absl::StrCat(args[1], " was already removed"));
    } else {
      Print(absl::StrCat("removed ", args[1], " (was ",
                         std::string(storage::KeyStateName(removed->previous_state)), ")",
                         removed->new_active_kid.empty()
                             ? std::string()
                             : absl::StrCat("; ", removed->new_active_kid, " signs now")));
    }
    return kExitOk;
  }
  if (command == "import") {
    const std::string as = absl::GetFlag(FLAGS_as);
    keys::ImportAs state;
    if (as == "next") {
      state = keys::ImportAs::kNext;
    } else if (as == "active") {
      state = keys::ImportAs::kActive;
    } else if (as == "retired") {
      state = keys::ImportAs::kRetired;
    } else {
      log::Error("--as must be next, active or retired");
      return kExitUsage;
    }
    absl::StatusOr<std::vector<jwt::SigningKey>> loaded = keys::LoadSigningKeyFiles({args[1]});
    if (!loaded.ok()) return Fail("keys import", loaded.status());
    const jwt::SigningKey& key = loaded->front();
    if (absl::Status status = (*manager)->ImportKey(key, state); !status.ok()) {
      return Fail("keys import", status);
    }
    Print(absl::StrCat("imported ", key.kid(), " as ", as));
    return kExitOk;
  }
  // rewrap
  absl::StatusOr<int> rewrapped = (*manager)->Rewrap();
  if (!rewrapped.ok()) return Fail("keys rewrap", rewrapped.status());
  Print(absl::StrCat("re-sealed ", *rewrapped, " key(s) under KEK ", primary_kek_id,
                     "; the old KEK may now be retired"));
  return kExitOk;
}

}  // namespace tokend::server
