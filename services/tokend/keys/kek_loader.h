#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "services/tokend/keys/key_encryption.h"

namespace tokend::keys {

// Reading the key-encryption key from where operators put it. Errors name the source (a path or
// a variable name), never its content. Free functions; thread-safe.

// A KEK from its encoded form: exactly 32 raw bytes, or base64 (standard or URL-safe alphabet,
// padding optional, surrounding whitespace ignored) of 32 bytes. Why 32 raw bytes are taken
// as-is even if they look like text: base64 of 32 bytes is 43-44 characters, so the two forms
// cannot be confused. INVALID_ARGUMENT otherwise.
absl::StatusOr<Kek> ParseKek(std::string_view encoded, std::string_view source);

// The KEK from `path` (at most 4 KiB). NOT_FOUND if it cannot be opened.
absl::StatusOr<Kek> LoadKekFile(const std::string& path);

// The configured KEK: `kek_file` when non-empty, else `env_value` (the TOKEND_KEK variable, in
// Kubernetes a Secret) when set. NOT_FOUND "no key-encryption key: ..." when neither is given;
// INVALID_ARGUMENT when both are (an ambiguous configuration is refused rather than guessed).
absl::StatusOr<Kek> LoadKek(const std::string& kek_file, std::optional<std::string_view> env_value);

// The KEKs of a replica: LoadKek(kek_file, env_value) as the primary, plus the KEK in
// `previous_kek_file` (when non-empty) for opening keys not yet re-sealed during a KEK rotation.
// NOT_FOUND when no primary is configured (the caller decides whether keys are managed at all).
absl::StatusOr<KekRing> LoadKekRing(const std::string& kek_file,
                                    std::optional<std::string_view> env_value,
                                    const std::string& previous_kek_file);

}  // namespace tokend::keys
