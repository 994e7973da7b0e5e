#include "jwt/json.h"

#include <string>

#include "gtest/gtest.h"

namespace tokend::jwt {
namespace {

TEST(StrictJsonTest, AcceptsAPlainObject) {
  EXPECT_TRUE(ValidateStrictJsonObject(R"({"a":1,"b":[true,null,"x"],"c":{"d":-1.5e3}})").ok());
  EXPECT_TRUE(ValidateStrictJsonObject(" {\"a\" : \"\\u00e9\\ud83d\\ude00\"}\r\n").ok());
}

TEST(StrictJsonTest, RejectsNonObjects) {
  EXPECT_FALSE(ValidateStrictJsonObject("[]").ok());
  EXPECT_FALSE(ValidateStrictJsonObject("\"s\"").ok());
  EXPECT_FALSE(ValidateStrictJsonObject("1").ok());
  EXPECT_FALSE(ValidateStrictJsonObject("null").ok());
  EXPECT_FALSE(ValidateStrictJsonObject("").ok());
}

TEST(StrictJsonTest, RejectsDuplicateMemberNamesAtAnyLevel) {
  EXPECT_EQ(ValidateStrictJsonObject(R"({"a":1,"a":2})").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(ValidateStrictJsonObject(R"({"x":{"a":1,"b":2,"a":3}})").ok());
  EXPECT_FALSE(ValidateStrictJsonObject(R"({"x":[{"a":1,"a":1}]})").ok());
  // Same name spelled with an escape is still the same name.
  EXPECT_FALSE(ValidateStrictJsonObject(R"({"exp":1,"\u0065xp":2})").ok());
}

TEST(StrictJsonTest, RejectsDuplicatesInLargeObjects) {
  std::string json = "{";
  for (int i = 0; i < 100; ++i) json += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  std::string ok = json + "\"last\":0}";
  std::string dup = json + "\"k57\":0}";
  EXPECT_TRUE(ValidateStrictJsonObject(ok).ok());
  EXPECT_FALSE(ValidateStrictJsonObject(dup).ok());
}

TEST(StrictJsonTest, BoundsNestingDepth) {
  auto nested = [](int depth) {
    std::string s;
    for (int i = 1; i < depth; ++i) s += "{\"a\":";
    s += "{}";
    for (int i = 1; i < depth; ++i) s += "}";
    return s;
  };
  EXPECT_TRUE(ValidateStrictJsonObject(nested(16)).ok());
  EXPECT_FALSE(ValidateStrictJsonObject(nested(17)).ok());
  EXPECT_TRUE(
      ValidateStrictJsonObject(nested(5), JsonLimits{.max_bytes = 100, .max_depth = 5}).ok());
  EXPECT_FALSE(
      ValidateStrictJsonObject(nested(6), JsonLimits{.max_bytes = 100, .max_depth = 5}).ok());
}

TEST(StrictJsonTest, SurvivesADeepNestingBomb) {
  // 100k levels: the iterative parser and the bounded walk must neither crash nor accept.
  std::string bomb = "{\"a\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
  EXPECT_FALSE(ValidateStrictJsonObject(bomb, JsonLimits{.max_bytes = 1 << 20}).ok());
  std::string unclosed = "{\"a\":" + std::string(100000, '[');
  EXPECT_FALSE(ValidateStrictJsonObject(unclosed, JsonLimits{.max_bytes = 1 << 20}).ok());
}

TEST(StrictJsonTest, BoundsSize) {
  std::string big = "{\"a\":\"" + std::string(20000, 'x') + "\"}";
  EXPECT_FALSE(ValidateStrictJsonObject(big).ok());
  EXPECT_TRUE(ValidateStrictJsonObject(big, JsonLimits{.max_bytes = 30000}).ok());
}

TEST(StrictJsonTest, RejectsInvalidUtf8) {
  EXPECT_FALSE(ValidateStrictJsonObject("{\"a\":\"\xff\"}").ok());
  EXPECT_FALSE(ValidateStrictJsonObject("{\"a\":\"\xc3\"}").ok());              // truncated
  EXPECT_FALSE(ValidateStrictJsonObject("{\"a\":\"\xc0\xaf\"}").ok());          // overlong '/'
  EXPECT_FALSE(ValidateStrictJsonObject("{\"a\":\"\xed\xa0\x80\"}").ok());      // raw surrogate
  EXPECT_FALSE(ValidateStrictJsonObject("{\"a\":\"\xf4\x90\x80\x80\"}").ok());  // > U+10FFFF
  EXPECT_FALSE(ValidateStrictJsonObject("{\"\xff\":1}").ok());                  // in a name
}

TEST(StrictJsonTest, RejectsLoneSurrogateEscapes) {
  EXPECT_FALSE(ValidateStrictJsonObject(R"({"a":"\ud800"})").ok());
  EXPECT_FALSE(ValidateStrictJsonObject(R"({"a":"\udc00"})").ok());
  EXPECT_FALSE(ValidateStrictJsonObject(R"({"a":"\ud800x"})").ok());
  EXPECT_FALSE(ValidateStrictJsonObject(R"({"a":"\ude00\ud83d"})").ok());
  EXPECT_FALSE(ValidateStrictJsonObject(R"({"\udfff":1})").ok());
}

TEST(StrictJsonTest, RejectsTrailingContentAndNul) {
  EXPECT_FALSE(ValidateStrictJsonObject("{}{}").ok());
  EXPECT_FALSE(ValidateStrictJsonObject("{} x").ok());
  EXPECT_FALSE(ValidateStrictJsonObject(std::string("{}\0{}", 5)).ok());
  EXPECT_FALSE(ValidateStrictJsonObject(std::string("{}\0", 3)).ok());
}

TEST(StrictJsonTest, RejectsNonStandardSyntax) {
  EXPECT_FALSE(ValidateStrictJsonObject(R"({"a":NaN})").ok());
  EXPECT_FALSE(ValidateStrictJsonObject(R"({"a":Infinity})").ok());
  EXPECT_FALSE(ValidateStrictJsonObject(R"({"a":-Infinity})").ok());
  EXPECT_FALSE(ValidateStrictJsonObject(R"({"a":1,})").ok());
  EXPECT_FALSE(ValidateStrictJsonObject(R"({"a":[1,]})").ok());
  EXPECT_FALSE(ValidateStrictJsonObject(R"({'a':1})").ok());
  EXPECT_FALSE(ValidateStrictJsonObject(R"({a:1})").ok());
  EXPECT_FALSE(ValidateStrictJsonObject(R"({"a":01})").ok());
  EXPECT_FALSE(ValidateStrictJsonObject(R"({"a":1e999})").ok());
  EXPECT_FALSE(ValidateStrictJsonObject("{\"a\":1 /* c */}").ok());
  EXPECT_FALSE(ValidateStrictJsonObject("{\"a\":\"tab\there\"}").ok());
  EXPECT_FALSE(ValidateStrictJsonObject(R"({"a":"\x41"})").ok());
  EXPECT_FALSE(ValidateStrictJsonObject("\xef\xbb\xbf{}").ok());  // BOM
}

}  // namespace
}  // namespace tokend::jwt
