#include "tools/tokenctl/command_line.h"

#include <algorithm>
#include <string>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/str_cat.h"

namespace tokend::tokenctl {
namespace {

// Abseil's built-in flags: left for ParseCommandLine to handle.
const std::set<std::string>& AbseilBuiltinFlags() {
  static const auto* const kFlags = new std::set<std::string>{
      "help",   "helpfull",  "helpshort", "helppackage", "version",    "only_check_args",
      "helpon", "helpmatch", "flagfile",  "fromenv",     "tryfromenv", "undefok"};
  return *kFlags;
}

}  // namespace

absl::StatusOr<PreparedArgs> PrepareArgs(int argc, char** argv,
                                         const std::set<std::string>& repeatable) {
  PreparedArgs out;
  out.args.emplace_back(argc > 0 ? argv[0] : "tokenctl");
  bool positional_only = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (positional_only || arg.size() < 2 || arg[0] != '-' || arg == "-") {
      out.args.push_back(arg);
      continue;
    }
    if (arg == "--") {
      positional_only = true;
      out.args.push_back(arg);
      continue;
    }
    size_t dashes = arg[1] == '-' ? 2 : 1;
    size_t eq = arg.find('=');
    std::string name =
        arg.substr(dashes, eq == std::string::npos ? std::string::npos : eq - dashes);
    std::replace(name.begin(), name.end(), '-', '_');
    bool has_value = eq != std::string::npos;
    std::string value = has_value ? arg.substr(eq + 1) : "";

    if (AbseilBuiltinFlags().contains(name)) {
      out.args.push_back(has_value ? absl::StrCat("--", name, "=", value) : "--" + name);
      continue;
    }
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr && name.size() > 2 && name.compare(0, 2, "no") == 0 && !has_value) {
      absl::CommandLineFlag* negated = absl::FindCommandLineFlag(name.substr(2));
      if (negated != nullptr && negated->IsOfType<bool>()) {
        out.args.push_back("--" + name);
        continue;
      }
    }
    if (flag == nullptr || flag->IsRetired()) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    }
    if (!has_value) {
      if (flag->IsOfType<bool>()) {
        value = "true";
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        return absl::InvalidArgumentError(absl::StrCat("flag --", name, " needs a value"));
      }
    }
    if (repeatable.contains(name)) {
      out.repeated[name].push_back(value);
      continue;
    }
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      return absl::InvalidArgumentError(absl::StrCat("bad value for --", name, ": ", error));
    }
    out.args.push_back(absl::StrCat("--", name, "=", value));
  }
  return out;
}

}  // namespace tokend::tokenctl
