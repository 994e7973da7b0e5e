#include "services/tokend/keys/kek_loader.h"

#include <openssl/crypto.h>

#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace tokend::keys {
namespace {

constexpr size_t kMaxKekFileBytes = 4096;

// A std::string wiped when destroyed (decoded key bytes in transit).
struct WipedString {
  std::string bytes;
  ~WipedString() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
};

}  // namespace

absl::StatusOr<Kek> ParseKek(std::string_view encoded, std::string_view source) {
  if (encoded.size() == Kek::kKeyBytes) return Kek::FromBytes(jwt::SecretData(encoded));
  const absl::string_view trimmed =
      absl::StripAsciiWhitespace(absl::string_view(encoded.data(), encoded.size()));
  WipedString decoded;
  const bool ok = absl::Base64Unescape(trimmed, &decoded.bytes) ||
                  absl::WebSafeBase64Unescape(trimmed, &decoded.bytes);
  if (!ok || decoded.bytes.size() != Kek::kKeyBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "key-encryption key from ", absl::string_view(source.data(), source.size()),
        " must be 32 raw bytes or the base64 of 32 bytes (e.g. `openssl rand -base64 32`)"));
  }
  return Kek::FromBytes(jwt::SecretData(decoded.bytes));
}

absl::StatusOr<Kek> LoadKekFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open key-encryption key file ", path));
  WipedString content;
  content.bytes.resize(kMaxKekFileBytes + 1);
  in.read(content.bytes.data(), static_cast<std::streamsize>(content.bytes.size()));
  const auto n = static_cast<size_t>(in.gcount());
  if (in.bad()) return absl::InvalidArgumentError(absl::StrCat("cannot read ", path));
  if (n > kMaxKekFileBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("key-encryption key file ", path, " is too large"));
  }
  return ParseKek(std::string_view(content.bytes.data(), n), path);
}

absl::StatusOr<Kek> LoadKek(const std::string& kek_file,
                            std::optional<std::string_view> env_value) {
  if (!kek_file.empty() && env_value.has_value()) {
    return absl::InvalidArgumentError(
        "both --kek_file and TOKEND_KEK are set: give the key-encryption key one way only");
  }
  if (!kek_file.empty()) return LoadKekFile(kek_file);
  if (env_value.has_value()) return ParseKek(*env_value, "TOKEND_KEK");
  return absl::NotFoundError(
      "no key-encryption key: set --kek_file=PATH (32 bytes, raw or base64) or the TOKEND_KEK "
      "environment variable; create one with `openssl rand -base64 32`");
}

absl::StatusOr<KekRing> LoadKekRing(const std::string& kek_file,
                                    std::optional<std::string_view> env_value,
                                    const std::string& previous_kek_file) {
  absl::StatusOr<Kek> primary = LoadKek(kek_file, env_value);
  if (!primary.ok()) return primary.status();
  std::vector<Kek> previous;
  if (!previous_kek_file.empty()) {
    absl::StatusOr<Kek> old = LoadKekFile(previous_kek_file);
    if (!old.ok()) return old.status();
    if (old->id() != primary->id()) previous.push_back(*std::move(old));
  }
  return KekRing(*std::move(primary), std::move(previous));
}

}  // namespace tokend::keys
