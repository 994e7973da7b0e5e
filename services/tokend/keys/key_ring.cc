#include "services/tokend/keys/key_ring.h"

#include <openssl/crypto.h>

#include <fstream>
#include <iterator>
#include <sstream>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "jwt/secret_data.h"
#include "rapidjson/document.h"
#include "util/status_macros.h"

namespace tokend::keys {
namespace {

constexpr size_t kMaxKeyFileBytes = size_t{64} * 1024;

absl::Status WithPath(const std::string& path, const absl::Status& status) {
  return {status.code(), absl::StrCat(path, ": ", status.message())};
}

// Reads a whole key file into wiped memory. Errors name the file only.
absl::StatusOr<jwt::SecretData> ReadKeyFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open key file"));
  std::string bytes;
  bytes.resize(kMaxKeyFileBytes + 1);
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  const auto n = static_cast<size_t>(in.gcount());
  if (in.bad()) {
    OPENSSL_cleanse(bytes.data(), bytes.size());
    return absl::InvalidArgumentError(absl::StrCat(path, ": cannot read key file"));
  }
  jwt::SecretData out(std::string_view(bytes.data(), n));
  OPENSSL_cleanse(bytes.data(), bytes.size());
  if (n > kMaxKeyFileBytes) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": key file is too large"));
  }
  return out;
}

// Why a JWK needs an explicit "alg" for HMAC: an "oct" key is just bytes, and tokend signs with
// HS256 only when an operator chose it, never because a file happened to hold a secret.
absl::Status CheckJwkAlgorithm(const std::string& path, std::string_view jwk) {
  rapidjson::Document doc;
  doc.Parse(jwk.data(), jwk.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a valid JWK (JSON object)"));
  }
  // Const iterators on both sides: comparing a mutable MemberIterator with MemberEnd() is an
  // ambiguous reversed operator== in C++20 (clang-diagnostic-ambiguous-reversed-operator).
  const rapidjson::Value& object = doc;
  auto kty = object.FindMember("kty");
  if (kty == object.MemberEnd() || !kty->value.IsString()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": JWK has no \"kty\""));
  }
  if (std::string_view(kty->value.GetString(), kty->value.GetStringLength()) == "oct") {
    auto alg = object.FindMember("alg");
    if (alg == object.MemberEnd() || !alg->value.IsString() ||
        std::string_view(alg->value.GetString(), alg->value.GetStringLength()) != "HS256") {
      return absl::InvalidArgumentError(
          absl::StrCat(path, R"(: an "oct" JWK is used only with "alg":"HS256")"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<jwt::SigningKey> ParseKeyFile(const std::string& path,
                                             const jwt::SecretData& content) {
  std::string_view text = content.ExposeSecret();
  while (!text.empty() && absl::ascii_isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  if (!text.empty() && text.front() == '{') {
    TOKEND_RETURN_IF_ERROR(CheckJwkAlgorithm(path, text));
    absl::StatusOr<jwt::SigningKey> key = jwt::SigningKey::FromJwk(text);
    if (!key.ok()) return WithPath(path, key.status());
    return key;
  }
  if (text.find("-----BEGIN") != std::string_view::npos) {
    absl::StatusOr<jwt::SigningKey> key = jwt::SigningKey::FromPrivatePem(text);
    if (!key.ok()) return WithPath(path, key.status());
    return key;
  }
  return absl::InvalidArgumentError(
      absl::StrCat(path, ": neither a private key PEM nor a private JWK"));
}

}  // namespace

KeyRing::KeyRing(std::shared_ptr<const State> state) : state_(std::move(state)) {}

absl::StatusOr<std::shared_ptr<const KeyRing::State>> KeyRing::MakeState(
    jwt::SigningKey active, std::vector<jwt::VerificationKey> also_verify) {
  jwt::KeySet published;
  TOKEND_RETURN_IF_ERROR(published.Add(active.verification_key()));
  for (jwt::VerificationKey& key : also_verify) {
    if (key.kid() == active.kid() && key.Thumbprint() == active.verification_key().Thumbprint()) {
      continue;  // the active key itself, already published
    }
    const std::string kid = key.kid();
    if (!published.Add(std::move(key)).ok()) {
      return absl::InvalidArgumentError(absl::StrCat("two keys share the kid \"", kid, "\""));
    }
  }
  return std::make_shared<const State>(State{std::move(active), std::move(published)});
}

absl::StatusOr<std::unique_ptr<KeyRing>> KeyRing::FromSigningKeys(
    std::vector<jwt::SigningKey> keys) {
  if (keys.empty()) return absl::InvalidArgumentError("at least one signing key is required");
  absl::flat_hash_set<std::string> kids;
  std::vector<jwt::VerificationKey> also_verify;
  for (const jwt::SigningKey& key : keys) {
    if (!kids.insert(key.kid()).second) {
      return absl::InvalidArgumentError(absl::StrCat("two keys share the kid \"", key.kid(), "\""));
    }
    also_verify.push_back(key.verification_key());
  }
  TOKEND_ASSIGN_OR_RETURN(std::shared_ptr<const State> state,
                          MakeState(keys.front(), std::move(also_verify)));
  return std::unique_ptr<KeyRing>(new KeyRing(std::move(state)));
}

jwt::SigningKey KeyRing::ActiveKey() const {
  absl::ReaderMutexLock lock(&mu_);
  return state_->active;
}

std::shared_ptr<const jwt::KeySet> KeyRing::VerificationKeys() const {
  absl::ReaderMutexLock lock(&mu_);
  // Aliasing constructor: shares ownership of the whole state, points at its key set.
  return {state_, &state_->published};
}

absl::Status KeyRing::Replace(jwt::SigningKey active,
                              std::vector<jwt::VerificationKey> also_verify) {
  TOKEND_ASSIGN_OR_RETURN(std::shared_ptr<const State> next,
                          MakeState(std::move(active), std::move(also_verify)));
  std::shared_ptr<const State> previous;
  {
    absl::MutexLock lock(&mu_);
    previous = std::exchange(state_, std::move(next));
  }
  return absl::OkStatus();  // `previous` is released outside the lock
}

absl::StatusOr<std::vector<jwt::SigningKey>> LoadSigningKeyFiles(
    const std::vector<std::string>& paths) {
  if (paths.empty()) return absl::InvalidArgumentError("no signing key files given");
  std::vector<jwt::SigningKey> keys;
  keys.reserve(paths.size());
  for (const std::string& path : paths) {
    TOKEND_ASSIGN_OR_RETURN(jwt::SecretData content, ReadKeyFile(path));
    TOKEND_ASSIGN_OR_RETURN(jwt::SigningKey key, ParseKeyFile(path, content));
    keys.push_back(std::move(key));
  }
  return keys;
}

absl::StatusOr<jwt::SigningKey> GenerateSigningKey(jwt::Algorithm algorithm) {
  return jwt::SigningKey::Generate(algorithm);
}

absl::Status KeyRing::Readiness() const {
  if (ActiveKey().kid().empty()) return absl::UnavailableError("no signing key");
  return absl::OkStatus();
}

}  // namespace tokend::keys
