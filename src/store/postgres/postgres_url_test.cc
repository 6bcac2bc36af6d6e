// Tests of the PostgreSQL URI helpers: what the settings accept and what
// the logs show of a URI.
#include "store/postgres/postgres_url.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace headcount {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(PostgresUrlTest, AcceptsBothSchemesAndRefusesOthersWithoutEchoingThePassword) {
  EXPECT_TRUE(CheckPostgresUrl("postgresql://app:pw@db:5432/hc?sslmode=require").ok());
  EXPECT_TRUE(CheckPostgresUrl("postgres://db/hc").ok());
  const Status mysql = CheckPostgresUrl("mysql://app:hunter2@db/hc");
  ASSERT_FALSE(mysql.ok());
  EXPECT_EQ(mysql.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(mysql.error().message(), HasSubstr("\"mysql\""));
  EXPECT_THAT(mysql.error().message(), HasSubstr("postgresql://"));
  EXPECT_THAT(mysql.error().message(), Not(HasSubstr("hunter2")));
  EXPECT_FALSE(CheckPostgresUrl("").ok());
  EXPECT_FALSE(CheckPostgresUrl("host=db dbname=hc").ok());  // key=value is not a URI
}

TEST(PostgresUrlTest, RedactsTheUserInfoPasswordAndThePasswordParameter) {
  EXPECT_EQ(RedactPostgresUrl("postgresql://app:s3cret@db:5432/hc?sslmode=require"),
            "postgresql://app:***@db:5432/hc?sslmode=require");
  EXPECT_EQ(RedactPostgresUrl("postgresql://app:p%40ss@db/hc"), "postgresql://app:***@db/hc");
  EXPECT_EQ(RedactPostgresUrl("postgresql://db/hc?user=app&password=s3cret&sslmode=disable"),
            "postgresql://db/hc?user=app&password=***&sslmode=disable");
  // Nothing to hide: unchanged.
  EXPECT_EQ(RedactPostgresUrl("postgresql://app@db/hc"), "postgresql://app@db/hc");
  EXPECT_EQ(RedactPostgresUrl("postgresql://db:5432"), "postgresql://db:5432");
}

TEST(PostgresUrlTest, FindsThePasswordToScrubDecoded) {
  EXPECT_EQ(PostgresUrlPassword("postgresql://app:p%40ss@db/hc"), "p@ss");
  EXPECT_EQ(PostgresUrlPassword("postgresql://db/hc?password=x%20y"), "x y");
  EXPECT_EQ(PostgresUrlPassword("postgresql://app@db/hc"), "");
  EXPECT_EQ(ScrubSecret("login p@ss failed for p@ss", "p@ss"), "login *** failed for ***");
  EXPECT_EQ(ScrubSecret("unchanged", ""), "unchanged");
}

TEST(PostgresUrlTest, AddsAParameterOnlyWhenTheUriHasNone) {
  EXPECT_EQ(WithPostgresParam("postgresql://db/hc", "connect_timeout", "5"),
            "postgresql://db/hc?connect_timeout=5");
  EXPECT_EQ(WithPostgresParam("postgresql://db/hc?sslmode=require", "connect_timeout", "5"),
            "postgresql://db/hc?sslmode=require&connect_timeout=5");
  EXPECT_EQ(WithPostgresParam("postgresql://db/hc?connect_timeout=30", "connect_timeout", "5"),
            "postgresql://db/hc?connect_timeout=30");
}

}  // namespace
}  // namespace headcount
