#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/tokend/auth/identity.h"

namespace tokend::auth {

// The gRPC service whose RPCs a bare name in a policy ("Issue") refers to.
inline constexpr std::string_view kTokenServiceName = "tokend.v1.TokenService";

// "/tokend.v1.TokenService/<name>" for a bare RPC name ("Issue", "RotateSigningKey"); a name
// already in "/package.Service/Method" or "package.Service/Method" form is returned with a
// leading "/". INVALID_ARGUMENT for anything else (spaces, wildcards, empty parts).
absl::StatusOr<std::string> FullMethodName(std::string_view rpc);
// The method part of a full method name: "/tokend.v1.TokenService/Issue" -> "Issue".
std::string_view ShortMethodName(std::string_view full_method);

// A string pattern of a policy: an exact string, or a prefix followed by a single trailing
// "*" ("user:*", "spiffe://mesh.local/ns/payments/*"); "*" alone matches everything. A "*"
// anywhere else is refused, so a pattern never means more than it visibly says. Immutable.
class Pattern {
 public:
  static absl::StatusOr<Pattern> Parse(std::string_view text);
  bool Matches(std::string_view value) const;
  bool is_prefix() const { return prefix_; }
  // The literal part (without the "*").
  const std::string& literal() const { return literal_; }
  std::string ToString() const { return prefix_ ? literal_ + "*" : literal_; }

 private:
  std::string literal_;
  bool prefix_ = false;
};

// What a caller may put into the tokens it asks Issue for. Everything not listed is denied.
struct IssueRule {
  bool subject_self = false;              // "self": the caller's own identity as the subject
  std::vector<Pattern> subjects;          // other subjects it may mint for
  std::vector<Pattern> audiences;         // every requested audience must match one
  std::vector<Pattern> scopes;            // every requested scope must match one
  std::vector<Pattern> claims;            // every custom claim name must match one
  std::optional<absl::Duration> max_ttl;  // unset: the server's own cap only
  bool refresh_tokens = false;            // may ask for a refresh token
};

// Which tokens a caller may revoke beyond the refresh tokens it holds (anyone may revoke a
// refresh token it presents: holding it is the proof).
enum class RevokeScope {
  kOwn,  // access tokens whose client_id is the caller's identity
  kAny,  // any token, by token, token id or subject
};

// A token bucket: `burst` calls at once, refilled at `per_second`.
struct RateLimit {
  double per_second = 0;
  double burst = 0;
  bool operator==(const RateLimit& other) const {
    return per_second == other.per_second && burst == other.burst;
  }
};

// One `callers:` entry of the policy file.
struct CallerRule {
  // Matches the callers this entry is for. The reserved id "anonymous" matches only callers
  // without an identity (and nothing else matches them).
  Pattern id;
  bool anonymous = false;                 // id was "anonymous"
  absl::flat_hash_set<std::string> rpcs;  // full method names
  std::optional<IssueRule> issue;         // set iff rpcs holds Issue
  RevokeScope revoke = RevokeScope::kOwn;
  std::optional<RateLimit> rate_limit;
};

// Who may call what: the parsed policy file, immutable once built and shared by snapshot
// (std::shared_ptr<const Policy>), so it is thread-safe. Deny by default: a caller gets the
// RPCs of its one matching entry, plus `open_rpcs` when it is authenticated, and nothing else.
struct Policy {
  // The RPCs every authenticated caller may use without an entry (default: Verify, GetJwks).
  absl::flat_hash_set<std::string> open_rpcs;
  std::vector<CallerRule> callers;
  // Local development only (--insecure without --policy_file): everything is allowed to
  // everyone, anonymous callers included. Never produced by the policy file parser.
  bool allow_all = false;

  // The entry for `caller`: the exact match if any, else the matching prefix pattern with the
  // longest literal (the most specific). Anonymous callers match only an "anonymous" entry.
  // nullptr when none matches.
  const CallerRule* Find(const CallerIdentity& caller) const;

  // The policy with no file: the open RPCs for authenticated callers, nothing else.
  static Policy Default();
  // See allow_all.
  static Policy AllowAll();
};

}  // namespace tokend::auth
