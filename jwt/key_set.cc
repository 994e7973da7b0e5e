#include "jwt/key_set.h"

#include <algorithm>
#include <utility>

#include "absl/strings/string_view.h"
#include "jwt/internal/strict_json.h"
#include "util/status_macros.h"

namespace tokend::jwt {

// NOLINTNEXTLINE(performance-unnecessary-value-param): sink parameter, moved into the map.
absl::Status KeySet::Add(VerificationKey key) {
  std::string kid = key.kid();
  // A kid names one key; silently replacing it would let a second key shadow the first.
  if (!keys_.try_emplace(std::move(kid), std::move(key)).second) {
    return absl::AlreadyExistsError("keyset: kid already present");
  }
  return absl::OkStatus();
}

const VerificationKey* KeySet::Find(std::string_view kid) const {
  auto it = keys_.find(absl::string_view(kid.data(), kid.size()));
  return it == keys_.end() ? nullptr : &it->second;
}

std::vector<VerificationKey> KeySet::keys() const {
  std::vector<VerificationKey> out;
  out.reserve(keys_.size());
  for (const auto& [kid, key] : keys_) out.push_back(key);
  std::sort(out.begin(), out.end(),
            [](const VerificationKey& a, const VerificationKey& b) { return a.kid() < b.kid(); });
  return out;
}

std::string KeySet::ToPublicJwksJson() const {
  // Built only from VerificationKey::PublicJwkJson, which has no access to private members and
  // refuses HMAC keys; those are skipped.
  std::string out = "{\"keys\":[";
  bool first = true;
  for (const VerificationKey& key : keys()) {
    absl::StatusOr<std::string> jwk = key.PublicJwkJson();
    if (!jwk.ok()) continue;
    if (!first) out.push_back(',');
    first = false;
    out.append(*jwk);
  }
  out.append("]}");
  return out;
}

absl::StatusOr<KeySet> KeySet::FromJwksJson(std::string_view jwks_json) {
  internal::StrictJsonDocument document;
  // A JWKS of a few large RSA keys stays well under 1 MiB.
  const JsonLimits limits{.max_bytes = 1 << 20, .max_depth = 5};
  if (!document.Parse(jwks_json, limits).ok() || !document.root().IsObject()) {
    return absl::InvalidArgumentError("jwks: not a strict JSON object");
  }
  const rapidjson::Value* keys = internal::FindMember(document.root(), "keys");
  if (keys == nullptr || !keys->IsArray()) {
    return absl::InvalidArgumentError("jwks: \"keys\" is not an array");
  }
  KeySet set;
  for (const rapidjson::Value& jwk : keys->GetArray()) {
    rapidjson::StringBuffer buffer;
    internal::JsonWriter writer(buffer);
    if (!jwk.IsObject() || !jwk.Accept(writer)) {
      return absl::InvalidArgumentError("jwks: key is not an object");
    }
    TOKEND_ASSIGN_OR_RETURN(VerificationKey key, VerificationKey::FromJwk(std::string_view(
                                                     buffer.GetString(), buffer.GetSize())));
    TOKEND_RETURN_IF_ERROR(set.Add(std::move(key)));
  }
  return set;
}

}  // namespace tokend::jwt
