#include "core/client_rate_limiter.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace headcount
