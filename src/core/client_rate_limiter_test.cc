#include "core/client_rate_limiter.h"

#include <gtest/gtest.h>

#include <string>

#include "core/time_text.h"

namespace headcount {
namespace {

using std::chrono::milliseconds;

const WallTime kRateLimiterT0 = *ParseRfc3339("2026-12-01T00:00:00Z");

TEST(ClientRateLimiterTest, EachClientHasItsOwnBurstThenItsRate) {
  ClientRateLimiter limiter(/*rate=*/2, /*burst=*/3);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.TryTake("10.0.0.1", kRateLimiterT0));
  EXPECT_FALSE(limiter.TryTake("10.0.0.1", kRateLimiterT0));
  EXPECT_TRUE(limiter.TryTake("10.0.0.2", kRateLimiterT0));  // another client
  EXPECT_FALSE(limiter.TryTake("10.0.0.1", kRateLimiterT0 + milliseconds(499)));
  EXPECT_TRUE(limiter.TryTake("10.0.0.1", kRateLimiterT0 + milliseconds(500)));
  EXPECT_TRUE(limiter.TryTake("", kRateLimiterT0));  // not limited
  EXPECT_EQ(limiter.RetryAfter(), std::chrono::seconds(1));
}

TEST(ClientRateLimiterTest, StaysBoundedAndKeepsBucketsThatAreNotFull) {
  ClientRateLimiter limiter(/*rate=*/1, /*burst=*/1, /*max_clients=*/2);
  EXPECT_TRUE(limiter.TryTake("a", kRateLimiterT0));
  EXPECT_TRUE(limiter.TryTake("b", kRateLimiterT0 + milliseconds(900)));
  // At 1.5 s "a" is full again and is dropped for "c"; "b" is kept, empty.
  EXPECT_TRUE(limiter.TryTake("c", kRateLimiterT0 + milliseconds(1500)));
  EXPECT_FALSE(limiter.TryTake("b", kRateLimiterT0 + milliseconds(1500)));
}

// The map is keyed by the address's bytes: one client however it is
// written, and every other client apart.
TEST(ClientRateLimiterTest, AnAddressIsOneClientHoweverItIsWritten) {
  using L = ClientRateLimiter;
  EXPECT_EQ(L::KeyOf("10.0.0.1"), L::KeyOf("::ffff:10.0.0.1"));
  EXPECT_EQ(L::KeyOf("2001:db8::1"), L::KeyOf("2001:0db8:0000::0001"));
  EXPECT_NE(L::KeyOf("10.0.0.1"), L::KeyOf("10.0.0.2"));
  EXPECT_NE(L::KeyOf("2001:db8::1"), L::KeyOf("2001:db8::2"));
  EXPECT_NE(L::KeyOf("a"), L::KeyOf("b"));
  EXPECT_NE(L::KeyOf("a"), L::KeyOf("10.0.0.1"));
  EXPECT_NE(L::KeyOf(std::string(100, 'x')), L::KeyOf(std::string(101, 'x')));

  ClientRateLimiter limiter(/*rate=*/1, /*burst=*/1);
  EXPECT_TRUE(limiter.TryTake("10.0.0.1", kRateLimiterT0));
  EXPECT_FALSE(limiter.TryTake("::ffff:10.0.0.1", kRateLimiterT0)) << "the same client";
}

}  // namespace
}  // namespace headcount
