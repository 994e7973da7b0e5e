#include "services/tokend/auth/policy.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "services/tokend/auth/absl_view.h"

namespace tokend::auth {
namespace {

bool IsIdentifier(absl::string_view s, bool allow_dots) {
  if (s.empty()) return false;
  if (!absl::ascii_isalpha(static_cast<unsigned char>(s.front())) && s.front() != '_') {
    return false;
  }
  for (char c : s) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_') continue;
    if (allow_dots && c == '.') continue;
    return false;
  }
  return !absl::EndsWith(s, ".") && !absl::StrContains(s, "..");
}

}  // namespace

absl::StatusOr<std::string> FullMethodName(std::string_view rpc_in) {
  const absl::string_view rpc = ToAbsl(rpc_in);
  absl::string_view rest = rpc;
  absl::ConsumePrefix(&rest, "/");
  size_t slash = rest.find('/');
  if (slash == absl::string_view::npos) {
    if (rpc != rest || !IsIdentifier(rpc, /*allow_dots=*/false)) {
      return absl::InvalidArgumentError(absl::StrCat("\"", rpc, "\" is not an RPC name"));
    }
    return absl::StrCat("/", ToAbsl(kTokenServiceName), "/", rpc);
  }
  absl::string_view service = rest.substr(0, slash);
  absl::string_view method = rest.substr(slash + 1);
  if (!IsIdentifier(service, /*allow_dots=*/true) || !IsIdentifier(method, false)) {
    return absl::InvalidArgumentError(absl::StrCat("\"", rpc, "\" is not an RPC name"));
  }
  return absl::StrCat("/", service, "/", method);
}

std::string_view ShortMethodName(std::string_view full_method) {
  size_t slash = full_method.rfind('/');
  return slash == std::string_view::npos ? full_method : full_method.substr(slash + 1);
}

absl::StatusOr<Pattern> Pattern::Parse(std::string_view text_in) {
  const absl::string_view text = ToAbsl(text_in);
  if (text.empty()) return absl::InvalidArgumentError("empty pattern");
  Pattern pattern;
  absl::string_view literal = text;
  if (absl::ConsumeSuffix(&literal, "*")) pattern.prefix_ = true;
  if (absl::StrContains(literal, '*')) {
    return absl::InvalidArgumentError(
        absl::StrCat("pattern \"", text, "\": '*' is only allowed at the end"));
  }
  pattern.literal_ = std::string{literal};
  return pattern;
}

bool Pattern::Matches(std::string_view value) const {
  return prefix_ ? absl::StartsWith(ToAbsl(value), literal_) : value == literal_;
}

const CallerRule* Policy::Find(const CallerIdentity& caller) const {
  if (caller.anonymous()) {
    for (const CallerRule& rule : callers) {
      if (rule.anonymous) return &rule;
    }
    return nullptr;
  }
  const CallerRule* best = nullptr;
  for (const CallerRule& rule : callers) {
    if (rule.anonymous || !rule.id.Matches(caller.id)) continue;
    if (!rule.id.is_prefix()) return &rule;  // exact beats every pattern
    if (best == nullptr || rule.id.literal().size() > best->id.literal().size()) best = &rule;
  }
  return best;
}

Policy Policy::Default() {
  Policy policy;
  policy.open_rpcs.insert(absl::StrCat("/", ToAbsl(kTokenServiceName), "/Verify"));
  policy.open_rpcs.insert(absl::StrCat("/", ToAbsl(kTokenServiceName), "/GetJwks"));
  return policy;
}

Policy Policy::AllowAll() {
  Policy policy = Default();
  policy.allow_all = true;
  return policy;
}

}  // namespace tokend::auth
