#pragma once

#include <string>

namespace tokend::bench {

// Registers BM_JsonStrict/<library>/<dom|sax> (and BM_JsonStrict/tokend/core): parse the given
// payload as strictly as the JWT core must (RFC 8259 grammar, valid UTF-8, duplicate member
// names rejected at every level, depth bounded). Each variant is first checked to accept
// `payload_json` and to reject top-level and nested duplicates.
void RegisterJsonBenchmarks(const std::string& payload_json);

}  // namespace tokend::bench
