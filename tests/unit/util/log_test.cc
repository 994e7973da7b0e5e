#include "util/log.h"

#include "gtest/gtest.h"

namespace tokend::log {
namespace {

TEST(RedactDsnTest, MasksTheUriPassword) {
  EXPECT_EQ(RedactDsn("postgresql://tokend:s3cret@db:5432/tokend?sslmode=require"),
            "postgresql://tokend:***@db:5432/tokend?sslmode=require");
  EXPECT_EQ(RedactDsn("postgres://tokend@db/tokend"), "postgres://tokend@db/tokend");
  EXPECT_EQ(RedactDsn("postgresql://db/tokend?user=u&password=s3cret&sslmode=verify-full"),
            "postgresql://db/tokend?user=u&password=***&sslmode=verify-full");
}

TEST(RedactDsnTest, MasksKeyValuePasswordsQuotedOrNot) {
  EXPECT_EQ(RedactDsn("host=db password=s3cret dbname=tokend"),
            "host=db password=*** dbname=tokend");
  EXPECT_EQ(RedactDsn("host=db PASSWORD = 'it\\'s a secret' dbname=tokend"),
            "host=db PASSWORD = *** dbname=tokend");
  EXPECT_EQ(RedactDsn("host=db password='two words' dbname=x"), "host=db password=*** dbname=x");
  EXPECT_EQ(RedactDsn("password=last"), "password=***");
  EXPECT_EQ(RedactDsn("host=db dbname=passwords"), "host=db dbname=passwords");
  EXPECT_EQ(RedactDsn("host=db"), "host=db");
}

}  // namespace
}  // namespace tokend::log
