#include "cluster/redis_url.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace headcount {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(RedisUrlTest, ReadsHostPortUserPasswordAndDatabase) {
  Result<RedisEndpoint> e = ParseRedisUrl("redis://app:s%40cret@cache.internal:6380/2");
  ASSERT_TRUE(e.ok()) << e.error().message();
  EXPECT_EQ(e->host, "cache.internal");
  EXPECT_EQ(e->port, 6380);
  EXPECT_EQ(e->user, "app");
  EXPECT_EQ(e->password, "s@cret");
  EXPECT_EQ(e->database, 2);
  EXPECT_FALSE(e->tls);

  e = ParseRedisUrl("redis://127.0.0.1");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->port, kDefaultRedisPort);
  EXPECT_EQ(e->password, "");
  EXPECT_EQ(e->database, 0);

  e = ParseRedisUrl("redis://:only-pass@[::1]:7000/");
  ASSERT_TRUE(e.ok()) << e.error().message();
  EXPECT_EQ(e->host, "::1");
  EXPECT_EQ(e->port, 7000);
  EXPECT_EQ(e->user, "");
  EXPECT_EQ(e->password, "only-pass");

  e = ParseRedisUrl("redis://lone-secret@db");  // requirepass style
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->user, "");
  EXPECT_EQ(e->password, "lone-secret");
}

TEST(RedisUrlTest, RefusesOtherShapesWithoutEchoingThePassword) {
  for (const char* bad :
       {"http://u:hunter2@db", "redis://u:hunter2@", "redis://u:hunter2@db:0",
        "redis://u:hunter2@db:70000", "redis://u:hunter2@db/16", "redis://u:hunter2@db/x",
        "redis://u:hunt%zzer2@db", "redis://u:hunter2@db:6379x"}) {
    const Result<RedisEndpoint> e = ParseRedisUrl(bad);
    ASSERT_FALSE(e.ok()) << bad;
    EXPECT_EQ(e.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_THAT(e.error().message(), Not(HasSubstr("hunter2"))) << bad;
    EXPECT_THAT(e.error().message(), Not(HasSubstr("hunt%zz"))) << bad;
  }
}

TEST(RedisUrlTest, RedissIsTlsOnRedisOwnPortUnlessTheUrlNamesOne) {
  Result<RedisEndpoint> e = ParseRedisUrl("rediss://u:hunter2@db.example:6380/3");
  ASSERT_TRUE(e.ok()) << e.error().message();
  EXPECT_TRUE(e->tls);
  EXPECT_EQ(e->host, "db.example");
  EXPECT_EQ(e->port, 6380);
  EXPECT_EQ(e->user, "u");
  EXPECT_EQ(e->password, "hunter2");
  EXPECT_EQ(e->database, 3);

  e = ParseRedisUrl("rediss://db.example");
  ASSERT_TRUE(e.ok()) << e.error().message();
  EXPECT_TRUE(e->tls);
  EXPECT_EQ(e->port, kDefaultRedisPort);

  for (const char* bad :
       {"rediss://u:hunter2@", "rediss://u:hunter2@db:0", "redisss://u:hunter2@db"}) {
    const Result<RedisEndpoint> refused = ParseRedisUrl(bad);
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_THAT(refused.error().message(), Not(HasSubstr("hunter2"))) << bad;
  }
}

TEST(RedisUrlTest, RedactionHidesOnlyThePassword) {
  EXPECT_EQ(RedactRedisUrl("redis://app:s3cret@cache:6379/2"), "redis://app:***@cache:6379/2");
  EXPECT_EQ(RedactRedisUrl("redis://:s3cret@cache"), "redis://:***@cache");
  EXPECT_EQ(RedactRedisUrl("redis://s3cret@cache"), "redis://***@cache");
  EXPECT_EQ(RedactRedisUrl("redis://cache:6379/1"), "redis://cache:6379/1");
  EXPECT_EQ(RedactRedisUrl("rediss://app:s3cret@cache"), "rediss://app:***@cache");
}

}  // namespace
}  // namespace headcount
