// The JSON library comparison behind the core's choice of RapidJSON (docs/performance.md):
// RapidJSON vs nlohmann::json, each as a DOM parse (what a verifier needs to read claims) and
// as a validation-only SAX pass, both with the duplicate-name check RFC 7515 §5.2 requires
// (neither library rejects duplicates by itself: RapidJSON keeps both members, nlohmann keeps
// the last one silently).

#include "bench/json_bench.h"

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "jwt/json.h"
#include "rapidjson/document.h"
#include "rapidjson/reader.h"

namespace tokend::bench {
namespace {

constexpr int kMaxDepth = 16;
constexpr unsigned kRapidFlags =
    rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag;

// --- RapidJSON, DOM + walk ---------------------------------------------------------------------

bool RapidNoDuplicates(const rapidjson::Value& value, int depth) {
  if (depth > kMaxDepth) return false;
  if (value.IsArray()) {
    for (const auto& element : value.GetArray()) {
      if (!RapidNoDuplicates(element, depth + 1)) return false;
    }
    return true;
  }
  if (!value.IsObject()) return true;
  for (auto it = value.MemberBegin(); it != value.MemberEnd(); ++it) {
    const std::string_view name(it->name.GetString(), it->name.GetStringLength());
    for (auto prev = value.MemberBegin(); prev != it; ++prev) {
      if (name == std::string_view(prev->name.GetString(), prev->name.GetStringLength())) {
        return false;
      }
    }
    if (!RapidNoDuplicates(it->value, depth + 1)) return false;
  }
  return true;
}

bool RapidJsonDom(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse<kRapidFlags>(json.data(), json.size());
  if (doc.HasParseError() || !doc.IsObject()) return false;
  benchmark::DoNotOptimize(doc.MemberCount());
  return RapidNoDuplicates(doc, 0);
}

// --- RapidJSON, SAX ----------------------------------------------------------------------------

class RapidStrictHandler
    : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, RapidStrictHandler> {
 public:
  bool StartObject() {
    if (static_cast<int>(open_.size()) >= kMaxDepth) return false;
    open_.push_back(true);
    keys_.emplace_back();
    return true;
  }
  bool Key(const char* str, rapidjson::SizeType len, bool /*copy*/) {
    const std::string_view name(str, len);
    for (const std::string& seen : keys_.back()) {
      if (seen == name) return false;
    }
    keys_.back().emplace_back(name);
    return true;
  }
  bool EndObject(rapidjson::SizeType /*count*/) {
    open_.pop_back();
    keys_.pop_back();
    return true;
  }
  bool StartArray() {
    if (static_cast<int>(open_.size()) >= kMaxDepth) return false;
    open_.push_back(false);
    return true;
  }
  bool EndArray(rapidjson::SizeType /*count*/) {
    open_.pop_back();
    return true;
  }
  bool Default() { return true; }  // scalars

 private:
  std::vector<bool> open_;  // true = object
  std::vector<std::vector<std::string>> keys_;
};

bool RapidJsonSax(const std::string& json) {
  if (json.empty() || json.front() != '{') return false;
  rapidjson::Reader reader;
  rapidjson::StringStream stream(json.c_str());
  RapidStrictHandler handler;
  return !reader.Parse<kRapidFlags>(stream, handler).IsError() && stream.Tell() == json.size();
}

// --- nlohmann::json, DOM with a parser callback -----------------------------------------------

bool NlohmannDom(const std::string& json) {
  std::vector<std::vector<std::string>> keys;
  bool ok = true;
  auto callback = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    if (depth > kMaxDepth) ok = false;
    switch (event) {
      case nlohmann::json::parse_event_t::object_start:
        keys.emplace_back();
        break;
      case nlohmann::json::parse_event_t::key: {
        const std::string& name = parsed.get_ref<const std::string&>();
        for (const std::string& seen : keys.back()) {
          if (seen == name) ok = false;
        }
        keys.back().push_back(name);
        break;
      }
      case nlohmann::json::parse_event_t::object_end:
        keys.pop_back();
        break;
      default:
        break;
    }
    return true;
  };
  nlohmann::json doc = nlohmann::json::parse(json, callback, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return false;
  benchmark::DoNotOptimize(doc.size());
  return ok;
}

// --- nlohmann::json, SAX -----------------------------------------------------------------------

class NlohmannStrictSax : public nlohmann::json_sax<nlohmann::json> {
 public:
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return false; }
  bool start_object(std::size_t) override {
    if (++depth_ > kMaxDepth) return false;
    keys_.emplace_back();
    return true;
  }
  bool key(string_t& name) override {
    for (const std::string& seen : keys_.back()) {
      if (seen == name) return false;
    }
    keys_.back().push_back(name);
    return true;
  }
  bool end_object() override {
    --depth_;
    keys_.pop_back();
    return true;
  }
  bool start_array(std::size_t) override { return ++depth_ <= kMaxDepth; }
  bool end_array() override {
    --depth_;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  int depth_ = 0;
  std::vector<std::vector<std::string>> keys_;
};

bool NlohmannSax(const std::string& json) {
  if (json.empty() || json.front() != '{') return false;
  NlohmannStrictSax sax;
  return nlohmann::json::sax_parse(json, &sax);
}

// --- the core's own function -------------------------------------------------------------------

bool TokendCore(const std::string& json) { return jwt::ValidateStrictJsonObject(json).ok(); }

void RegisterVariant(const std::string& name, bool (*parse)(const std::string&),
                     const std::string& payload) {
  std::string error;
  if (!parse(payload)) error = "rejects the typical payload";
  if (parse(R"({"a":1,"a":2})")) error = "accepts a top-level duplicate";
  if (parse(R"({"x":[{"b":1,"b":2}]})")) error = "accepts a nested duplicate";
  if (parse("{\"a\":\"\xff\"}")) error = "accepts invalid UTF-8";
  if (parse(R"({"a":1} x)")) error = "accepts trailing garbage";
  if (!error.empty()) std::fprintf(stderr, "json_bench: %s %s\n", name.c_str(), error.c_str());
  benchmark::RegisterBenchmark(name.c_str(), [parse, payload, error](benchmark::State& state) {
    if (!error.empty()) {
      state.SkipWithError(error.c_str());
      return;
    }
    for (auto _ : state) {
      if (!parse(payload)) {
        state.SkipWithError("parse failed");
        break;
      }
    }
    state.SetItemsProcessed(state.iterations());
    state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(payload.size()));
  });
}

}  // namespace

void RegisterJsonBenchmarks(const std::string& payload_json) {
  RegisterVariant("BM_JsonStrict/rapidjson/dom", &RapidJsonDom, payload_json);
  RegisterVariant("BM_JsonStrict/rapidjson/sax", &RapidJsonSax, payload_json);
  RegisterVariant("BM_JsonStrict/nlohmann/dom", &NlohmannDom, payload_json);
  RegisterVariant("BM_JsonStrict/nlohmann/sax", &NlohmannSax, payload_json);
  RegisterVariant("BM_JsonStrict/tokend/core", &TokendCore, payload_json);
}

}  // namespace tokend::bench
