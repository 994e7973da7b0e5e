#pragma once

#include <string_view>

#include "absl/strings/string_view.h"

namespace tokend::auth {

// Debian's Abseil is built with its own absl::string_view (ABSL_OPTION_USE_STD_STRING_VIEW 0),
// so absl string functions do not take a std::string_view: this converts without a copy.
inline absl::string_view ToAbsl(std::string_view s) { return {s.data(), s.size()}; }

}  // namespace tokend::auth
