// The pure pieces of the PostgreSQL store: value encodings, the NOTIFY payload, connection
// strings and the embedded migrations. No database needed.

#include <limits>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/postgres/connection_string.h"
#include "storage/postgres/migrations.h"
#include "storage/postgres/migrations_embedded.h"
#include "storage/postgres/pg_values.h"
#include "storage/postgres/revocation_payload.h"

namespace tokend::storage::pg {
namespace {

using ::testing::HasSubstr;

TEST(PgValuesTest, InfiniteTimesMapToTheInt64Extremes) {
  EXPECT_EQ(ToDbMicros(absl::InfiniteFuture()), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(ToDbMicros(absl::InfinitePast()), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(FromDbMicros(std::numeric_limits<int64_t>::max()), absl::InfiniteFuture());
  EXPECT_EQ(FromDbMicros(std::numeric_limits<int64_t>::min()), absl::InfinitePast());
  const absl::Time t = absl::FromUnixMicros(1'700'000'000'123'456);
  EXPECT_EQ(FromDbMicros(ToDbMicros(t)), t);
  EXPECT_EQ(ToDbMicros(absl::FromUnixMicros(-1'500'000)), -1'500'000);
}

TEST(PgValuesTest, TextArraysQuoteEveryElement) {
  EXPECT_EQ(EncodeTextArray({}), "{}");
  EXPECT_EQ(EncodeTextArray({"a", ""}), R"({"a",""})");
  EXPECT_EQ(EncodeTextArray({"NULL", "x,y", "q\"", "b\\", "{}"}),
            R"({"NULL","x,y","q\"","b\\","{}"})");
}

TEST(PgValuesTest, KindNamesRoundTrip) {
  for (auto kind :
       {Revocation::Kind::kTokenId, Revocation::Kind::kFamily, Revocation::Kind::kSubject}) {
    EXPECT_EQ(ParseRevocationKind(RevocationKindName(kind)), kind);
  }
  EXPECT_FALSE(ParseRevocationKind("jti").has_value());
}

Revocation Sample() {
  Revocation revocation;
  revocation.kind = Revocation::Kind::kFamily;
  revocation.key = "fam-\"ü\"";
  revocation.not_before = absl::InfinitePast();
  revocation.expires_at = absl::FromUnixMicros(1'700'000'000'000'001);
  revocation.revoked_at = absl::FromUnixSeconds(1'700'000'000);
  revocation.reason = "not sent";
  return revocation;
}

TEST(RevocationPayloadTest, RoundTripsEverythingButTheReason) {
  const std::string payload = EncodeRevocationPayload(Sample());
  EXPECT_THAT(payload, HasSubstr(R"("kind":"family")"));
  EXPECT_THAT(payload, ::testing::Not(HasSubstr("not sent")));
  const auto decoded = DecodeRevocationPayload(payload);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->kind, Revocation::Kind::kFamily);
  EXPECT_EQ(decoded->key, Sample().key);
  EXPECT_EQ(decoded->not_before, absl::InfinitePast());
  EXPECT_EQ(decoded->expires_at, Sample().expires_at);
  EXPECT_EQ(decoded->revoked_at, Sample().revoked_at);
  EXPECT_EQ(decoded->reason, "");
}

TEST(RevocationPayloadTest, RejectsAnythingButTheExactShape) {
  const std::string ok =
      R"({"kind":"token_id","key":"k","not_before":1,"expires_at":2,"revoked_at":3})";
  ASSERT_TRUE(DecodeRevocationPayload(ok).has_value());
  for (
      const std::string& bad : {
          std::string(""),
          std::string("[]"),
          std::string("not json"),
          ok + " x",
          std::string(R"({"kind":"token_id","key":"k","not_before":1,"expires_at":2})"),
          std::string(
              R"({"kind":"token_id","key":"k","not_before":1,"expires_at":2,"revoked_at":3,"x":1})"),
          std::string(R"({"kind":"token_id","key":"k","key":"k","not_before":1,"expires_at":2})"),
          std::string(R"({"kind":"jti","key":"k","not_before":1,"expires_at":2,"revoked_at":3})"),
          std::string(
              R"({"kind":"token_id","key":"","not_before":1,"expires_at":2,"revoked_at":3})"),
          std::string(
              R"({"kind":"token_id","key":"a\u0000b","not_before":1,"expires_at":2,"revoked_at":3})"),
          std::string(
              R"({"kind":"token_id","key":"\udc00","not_before":1,"expires_at":2,"revoked_at":3})"),
          std::string(
              R"({"kind":"token_id","key":"k","not_before":1.5,"expires_at":2,"revoked_at":3})"),
          std::string(
              R"({"kind":"token_id","key":"k","not_before":"1","expires_at":2,"revoked_at":3})"),
          std::string(
              R"({"kind":"token_id","key":"k","not_before":1,"expires_at":99999999999999999999,"revoked_at":3})"),
          std::string("{\"kind\":\"token_id\",\"key\":\"\xc3\x28\",\"not_before\":1,"
                      "\"expires_at\":2,\"revoked_at\":3}"),
          std::string(R"({"kind":"token_id","key":")") + std::string(7000, 'k') +
              R"(","not_before":1,"expires_at":2,"revoked_at":3})",
      }) {
    EXPECT_FALSE(DecodeRevocationPayload(bad).has_value()) << bad.substr(0, 120);
  }
}

TEST(ConnectionStringTest, AppendsQuotedKeywordsToAKeywordValueDsn) {
  EXPECT_EQ(AppendConnectionParams("host=db user=u", {{"connect_timeout", "2"}}),
            "host=db user=u connect_timeout='2'");
  EXPECT_EQ(WithDatabase("host=db dbname=postgres", "it's"),
            R"(host=db dbname=postgres dbname='it\'s')");
}

TEST(ConnectionStringTest, AppendsEncodedParametersToAUri) {
  EXPECT_EQ(AppendConnectionParams("postgresql://u@db/x", {{"a", "1"}, {"b", "x y"}}),
            "postgresql://u@db/x?a=1&b=x%20y");
  EXPECT_EQ(AppendConnectionParams("postgres://db/x?sslmode=require", {{"a", "1"}}),
            "postgres://db/x?sslmode=require&a=1");
}

TEST(ConnectionStringTest, EveryConnectionGetsTimeoutsAndKeepalives) {
  PostgresOptions options;
  options.dsn = "host=db password=secret";
  options.connect_timeout = absl::Milliseconds(1500);
  options.statement_timeout = absl::Seconds(2);
  const std::string conninfo = ConnectionStringFor(options);
  EXPECT_THAT(conninfo, HasSubstr("connect_timeout='2'"));
  EXPECT_THAT(conninfo, HasSubstr("tcp_user_timeout='3000'"));
  EXPECT_THAT(conninfo, HasSubstr("keepalives='1'"));
}

TEST(EmbeddedMigrationsTest, AreNumberedOneByOneFromOne) {
  int expected = 1;
  for (const auto& migration : kEmbeddedMigrations) {
    EXPECT_EQ(migration.version, expected++) << migration.name;
    EXPECT_NE(std::string(migration.sql).find("CREATE"), std::string::npos);
  }
  EXPECT_EQ(LatestSchemaVersion(), expected - 1);
  EXPECT_STREQ(kEmbeddedMigrations[0].name, "V0001__create_schema.sql");
}

}  // namespace
}  // namespace tokend::storage::pg
