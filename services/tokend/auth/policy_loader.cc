#include "services/tokend/auth/policy_loader.h"

#include <cmath>
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "services/tokend/auth/absl_view.h"
#include "util/status_macros.h"
#include "yaml-cpp/yaml.h"

namespace tokend::auth {
namespace {

std::string Where(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  if (mark.is_null()) return "policy";
  return absl::StrCat("policy line ", mark.line + 1);
}

absl::Status Bad(const YAML::Node& node, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(Where(node), ": ", what));
}

absl::StatusOr<std::string> Scalar(const YAML::Node& node, absl::string_view what) {
  if (!node.IsScalar()) return Bad(node, absl::StrCat(what, " must be a string"));
  return node.Scalar();
}

// The keys of a mapping, refusing duplicates and keys outside `allowed`.
absl::Status CheckKeys(const YAML::Node& map, absl::string_view what,
                       const std::vector<absl::string_view>& allowed) {
  if (!map.IsMap()) return Bad(map, absl::StrCat(what, " must be a mapping"));
  absl::flat_hash_set<std::string> seen;
  for (const auto& entry : map) {
    if (!entry.first.IsScalar()) return Bad(entry.first, absl::StrCat(what, ": non-string key"));
    const std::string& key = entry.first.Scalar();
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      return Bad(entry.first, absl::StrCat(what, ": unknown key \"", key,
                                           "\" (allowed: ", absl::StrJoin(allowed, ", "), ")"));
    }
    if (!seen.insert(key).second) {
      return Bad(entry.first, absl::StrCat(what, ": duplicate key \"", key, "\""));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> StringList(const YAML::Node& node,
                                                    absl::string_view what) {
  if (!node.IsSequence()) return Bad(node, absl::StrCat(what, " must be a list"));
  if (node.size() > PolicyLimits::kMaxListEntries) {
    return Bad(node,
               absl::StrCat(what, " has more than ", PolicyLimits::kMaxListEntries, " entries"));
  }
  std::vector<std::string> out;
  for (const YAML::Node& item : node) {
    TOKEND_ASSIGN_OR_RETURN(std::string value, Scalar(item, absl::StrCat("an entry of ", what)));
    if (value.empty()) return Bad(item, absl::StrCat(what, ": empty entry"));
    out.push_back(std::move(value));
  }
  return out;
}

absl::StatusOr<std::vector<Pattern>> PatternList(const YAML::Node& node, absl::string_view what) {
  TOKEND_ASSIGN_OR_RETURN(std::vector<std::string> texts, StringList(node, what));
  std::vector<Pattern> out;
  for (const std::string& text : texts) {
    absl::StatusOr<Pattern> pattern = Pattern::Parse(text);
    if (!pattern.ok()) return Bad(node, absl::StrCat(what, ": ", pattern.status().message()));
    out.push_back(*std::move(pattern));
  }
  return out;
}

absl::StatusOr<bool> Bool(const YAML::Node& node, absl::string_view what) {
  TOKEND_ASSIGN_OR_RETURN(std::string text, Scalar(node, what));
  // YAML 1.2 core schema only: "yes"/"on" are strings there, and a typo should not be a grant.
  if (text == "true") return true;
  if (text == "false") return false;
  return Bad(node, absl::StrCat(what, " must be true or false"));
}

absl::StatusOr<absl::flat_hash_set<std::string>> RpcSet(const YAML::Node& node,
                                                        absl::string_view what) {
  TOKEND_ASSIGN_OR_RETURN(std::vector<std::string> names, StringList(node, what));
  absl::flat_hash_set<std::string> out;
  for (const std::string& name : names) {
    // No wildcard: an RPC added later (e.g. an admin RPC) must never be granted by accident.
    absl::StatusOr<std::string> full = FullMethodName(name);
    if (!full.ok()) {
      return Bad(node, absl::StrCat(what, ": ", full.status().message(),
                                    " (wildcards are not allowed; list each RPC)"));
    }
    out.insert(*std::move(full));
  }
  return out;
}

absl::StatusOr<IssueRule> ParseIssue(const YAML::Node& node) {
  TOKEND_RETURN_IF_ERROR(CheckKeys(
      node, "issue", {"subjects", "audiences", "scopes", "claims", "max_ttl", "refresh_tokens"}));
  IssueRule rule;
  if (!node["subjects"]) return Bad(node, "issue.subjects is required");
  TOKEND_ASSIGN_OR_RETURN(std::vector<std::string> subjects,
                          StringList(node["subjects"], "issue.subjects"));
  for (const std::string& subject : subjects) {
    if (subject == "self") {
      rule.subject_self = true;
      continue;
    }
    absl::StatusOr<Pattern> pattern = Pattern::Parse(subject);
    if (!pattern.ok()) {
      return Bad(node["subjects"], absl::StrCat("issue.subjects: ", pattern.status().message()));
    }
    rule.subjects.push_back(*std::move(pattern));
  }
  if (!rule.subject_self && rule.subjects.empty()) {
    return Bad(node, "issue.subjects must not be empty");
  }
  if (!node["audiences"]) return Bad(node, "issue.audiences is required");
  TOKEND_ASSIGN_OR_RETURN(rule.audiences, PatternList(node["audiences"], "issue.audiences"));
  if (rule.audiences.empty()) return Bad(node, "issue.audiences must not be empty");
  if (node["scopes"]) {
    TOKEND_ASSIGN_OR_RETURN(rule.scopes, PatternList(node["scopes"], "issue.scopes"));
  }
  if (node["claims"]) {
    TOKEND_ASSIGN_OR_RETURN(rule.claims, PatternList(node["claims"], "issue.claims"));
  }
  if (node["max_ttl"]) {
    TOKEND_ASSIGN_OR_RETURN(std::string text, Scalar(node["max_ttl"], "issue.max_ttl"));
    absl::Duration ttl;
    if (!absl::ParseDuration(text, &ttl) || ttl <= absl::ZeroDuration() ||
        ttl == absl::InfiniteDuration()) {
      return Bad(node["max_ttl"], "issue.max_ttl must be a positive duration such as 15m");
    }
    rule.max_ttl = ttl;
  }
  if (node["refresh_tokens"]) {
    TOKEND_ASSIGN_OR_RETURN(rule.refresh_tokens,
                            Bool(node["refresh_tokens"], "issue.refresh_tokens"));
  }
  return rule;
}

absl::StatusOr<CallerRule> ParseCaller(const YAML::Node& node) {
  TOKEND_RETURN_IF_ERROR(CheckKeys(
      node, "caller", {"id", "rpcs", "issue", "revoke", "rate_limit", "rate_limit_burst"}));
  CallerRule rule;
  if (!node["id"]) return Bad(node, "caller: id is required");
  TOKEND_ASSIGN_OR_RETURN(std::string id, Scalar(node["id"], "caller id"));
  if (id == kAnonymousId) {
    rule.anonymous = true;
  }
  absl::StatusOr<Pattern> pattern = Pattern::Parse(id);
  if (!pattern.ok())
    return Bad(node["id"], absl::StrCat("caller id: ", pattern.status().message()));
  rule.id = *std::move(pattern);
  if (node["rpcs"]) {
    TOKEND_ASSIGN_OR_RETURN(rule.rpcs, RpcSet(node["rpcs"], "rpcs"));
  }

  const std::string issue_rpc = absl::StrCat("/", ToAbsl(kTokenServiceName), "/Issue");
  if (node["issue"]) {
    if (!rule.rpcs.contains(issue_rpc)) {
      return Bad(node["issue"], "caller has an issue section but does not list Issue in rpcs");
    }
    TOKEND_ASSIGN_OR_RETURN(rule.issue, ParseIssue(node["issue"]));
  } else if (rule.rpcs.contains(issue_rpc)) {
    return Bad(node, "caller lists Issue in rpcs but has no issue section");
  }
  if (node["revoke"]) {
    TOKEND_ASSIGN_OR_RETURN(std::string scope, Scalar(node["revoke"], "revoke"));
    if (scope == "any") {
      rule.revoke = RevokeScope::kAny;
    } else if (scope != "own") {
      return Bad(node["revoke"], R"(revoke must be "any" or "own")");
    }
  }
  double burst = 0;
  if (node["rate_limit_burst"]) {
    if (!node["rate_limit"]) return Bad(node, "rate_limit_burst needs rate_limit");
    TOKEND_ASSIGN_OR_RETURN(std::string text, Scalar(node["rate_limit_burst"], "rate_limit_burst"));
    int value = 0;
    if (!absl::SimpleAtoi(text, &value) || value < 1) {
      return Bad(node["rate_limit_burst"], "rate_limit_burst must be a positive integer");
    }
    burst = value;
  }
  if (node["rate_limit"]) {
    TOKEND_ASSIGN_OR_RETURN(std::string text, Scalar(node["rate_limit"], "rate_limit"));
    absl::StatusOr<RateLimit> limit = ParseRateLimit(text, burst);
    if (!limit.ok()) return Bad(node["rate_limit"], limit.status().message());
    rule.rate_limit = *limit;
  }
  return rule;
}

absl::StatusOr<Policy> ParseDocument(const YAML::Node& root) {
  if (!root.IsMap()) {
    return absl::InvalidArgumentError("policy: the file must be a mapping with a callers list");
  }
  TOKEND_RETURN_IF_ERROR(CheckKeys(root, "policy", {"version", "open_rpcs", "callers"}));
  if (root["version"]) {
    TOKEND_ASSIGN_OR_RETURN(std::string version, Scalar(root["version"], "version"));
    if (version != "1") return Bad(root["version"], "version must be 1");
  }
  Policy policy = Policy::Default();
  if (root["open_rpcs"]) {
    TOKEND_ASSIGN_OR_RETURN(policy.open_rpcs, RpcSet(root["open_rpcs"], "open_rpcs"));
  }
  // Required, so an empty or truncated file is an error rather than a deny-everything policy.
  if (!root["callers"]) return Bad(root, "callers is required (use callers: [] for none)");
  const YAML::Node callers = root["callers"];
  if (!callers.IsSequence()) return Bad(callers, "callers must be a list");
  if (callers.size() > PolicyLimits::kMaxCallers) return Bad(callers, "too many callers");
  absl::flat_hash_set<std::string> ids;
  for (const YAML::Node& node : callers) {
    TOKEND_ASSIGN_OR_RETURN(CallerRule rule, ParseCaller(node));
    if (!ids.insert(rule.id.ToString()).second) {
      return Bad(node, absl::StrCat("duplicate caller id \"", rule.id.ToString(), "\""));
    }
    policy.callers.push_back(std::move(rule));
  }
  return policy;
}

}  // namespace

absl::StatusOr<RateLimit> ParseRateLimit(std::string_view text_in, double burst) {
  const absl::string_view text = ToAbsl(text_in);
  size_t slash = text.find('/');
  if (slash == absl::string_view::npos) {
    return absl::InvalidArgumentError("rate_limit must look like 200/s, 10/m or 3600/h");
  }
  int count = 0;
  if (!absl::SimpleAtoi(text.substr(0, slash), &count) || count < 1) {
    return absl::InvalidArgumentError("rate_limit: the count must be a positive integer");
  }
  absl::string_view unit = text.substr(slash + 1);
  double seconds = 0;
  if (unit == "s" || unit == "sec" || unit == "second") {
    seconds = 1;
  } else if (unit == "m" || unit == "min" || unit == "minute") {
    seconds = 60;
  } else if (unit == "h" || unit == "hour") {
    seconds = 3600;
  } else {
    return absl::InvalidArgumentError("rate_limit: the unit must be s, m or h");
  }
  RateLimit limit;
  limit.per_second = count / seconds;
  limit.burst = burst > 0 ? burst : count;
  return limit;
}

absl::StatusOr<Policy> ParsePolicyYaml(std::string_view text) {
  if (text.size() > PolicyLimits::kMaxFileBytes) {
    return absl::InvalidArgumentError("policy: the file is larger than 1 MiB");
  }
  try {
    const YAML::Node root = YAML::Load(std::string(text));
    return ParseDocument(root);
  } catch (const YAML::Exception& e) {
    // yaml-cpp's messages carry the position and the problem, not the file's content.
    return absl::InvalidArgumentError(absl::StrCat("policy: ", e.what()));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("policy: ", e.what()));
  }
}

}  // namespace tokend::auth
