// libFuzzer target for the policy file parser of tokend::auth: ParsePolicyYaml (yaml-cpp plus
// tokend's strict schema), ParseRateLimit, FullMethodName and Pattern::Parse. Beyond "does not
// crash" (yaml-cpp throws; none may escape), it checks the invariants every accepted policy
// must keep: Issue is granted only together with an issue section that can mint something, no
// RPC grant is a wildcard, rates are positive, and matching a few identities is consistent.
//
// Seeds: tests/fuzz/corpus/policy (the documented examples and near-misses).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "services/tokend/auth/identity.h"
#include "services/tokend/auth/policy.h"
#include "services/tokend/auth/policy_loader.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tokend::auth;  // NOLINT: a fuzz target, not a header
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  auto policy = ParsePolicyYaml(input);
  if (policy.ok()) {
    Check(!policy->allow_all);
    const std::string issue = "/tokend.v1.TokenService/Issue";
    for (const CallerRule& rule : policy->callers) {
      Check(rule.rpcs.contains(issue) == rule.issue.has_value());
      if (rule.issue.has_value()) {
        Check(rule.issue->subject_self || !rule.issue->subjects.empty());
        Check(!rule.issue->audiences.empty());
        if (rule.issue->max_ttl.has_value()) Check(*rule.issue->max_ttl > absl::ZeroDuration());
      }
      for (const std::string& rpc : rule.rpcs) {
        Check(rpc.find('*') == std::string::npos);
        Check(!rpc.empty() && rpc.front() == '/');
      }
      if (rule.rate_limit.has_value()) {
        Check(rule.rate_limit->per_second > 0);
        Check(rule.rate_limit->burst >= 1);
      }
    }
    CallerIdentity caller;
    caller.source = IdentitySource::kPeerCertificate;
    for (const char* id : {"spiffe://mesh.local/ns/edge/sa/gateway", "a", "user:1"}) {
      caller.id = id;
      const CallerRule* rule = policy->Find(caller);
      if (rule != nullptr) Check(!rule->anonymous && rule->id.Matches(caller.id));
    }
    const CallerRule* anonymous = policy->Find(CallerIdentity::Anonymous());
    if (anonymous != nullptr) Check(anonymous->anonymous);
  }
  (void)ParseRateLimit(input);
  auto method = FullMethodName(input);
  if (method.ok()) Check(method->find('*') == std::string::npos);
  auto pattern = Pattern::Parse(input);
  if (pattern.ok()) Check(pattern->Matches(pattern->literal()));
  return 0;
}
