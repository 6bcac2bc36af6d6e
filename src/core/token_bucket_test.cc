// TokenBucket: slots spaced at 1/rate, refill up to capacity, unlimited.
#include "core/token_bucket.h"

#include <gtest/gtest.h>

#include "core/time_text.h"

namespace headcount {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
WallTime Start() { return *ParseRfc3339("2026-03-01T12:00:00Z"); }

TEST(TokenBucket, BooksSlotsOneIntervalApart) {
  TokenBucket bucket(2.0, 1.0);
  const WallTime t0 = Start();
  EXPECT_EQ(bucket.NextFree(t0), t0);
  bucket.Take(t0);
  EXPECT_EQ(bucket.NextFree(t0), t0 + 500ms);
  bucket.Take(t0);
  EXPECT_EQ(bucket.NextFree(t0), t0 + 1000ms);
  EXPECT_FALSE(bucket.Full(t0 + 500ms));
  EXPECT_TRUE(bucket.Full(t0 + 1000ms));
  // Refilling never goes past the capacity.
  EXPECT_EQ(bucket.NextFree(t0 + 10s), t0 + 10s);
  bucket.Take(t0 + 10s);
  EXPECT_EQ(bucket.NextFree(t0 + 10s), t0 + 10s + 500ms);
}

TEST(TokenBucket, CapacityAllowsABurst) {
  TokenBucket bucket(1.0, 3.0);
  const WallTime t0 = Start();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(bucket.NextFree(t0), t0);
    bucket.Take(t0);
  }
  EXPECT_EQ(bucket.NextFree(t0), t0 + 1s);
}

TEST(TokenBucket, ZeroRateIsUnlimited) {
  TokenBucket bucket(0.0, 1.0);
  const WallTime t0 = Start();
  for (int i = 0; i < 1000; ++i) bucket.Take(t0);
  EXPECT_EQ(bucket.NextFree(t0), t0);
  EXPECT_TRUE(bucket.Full(t0));
}

TEST(TokenBucket, BurstIsTheRateThenRefillsPerSecond) {
  const WallTime t0 = WallTime{} + std::chrono::hours(1000);
  TokenBucket bucket(5, 5);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(bucket.TryTake(t0)) << i;
  EXPECT_FALSE(bucket.TryTake(t0));
  EXPECT_FALSE(bucket.TryTake(t0 + milliseconds(199)));
  EXPECT_TRUE(bucket.TryTake(t0 + milliseconds(200)));  // 0.2 s * 5/s = 1 token
  EXPECT_FALSE(bucket.TryTake(t0 + milliseconds(200)));
  // A long pause refills only up to the burst.
  const WallTime later = t0 + std::chrono::seconds(60);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(bucket.TryTake(later)) << i;
  EXPECT_FALSE(bucket.TryTake(later));
}

TEST(TokenBucket, ZeroRateDisables) {
  TokenBucket bucket(0, 1);
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(bucket.TryTake(WallTime{}));
}

TEST(TokenBucket, CanTakeTakesNothingAndTimeGoingBackEarnsNothing) {
  const WallTime t0 = WallTime{} + std::chrono::hours(1);
  TokenBucket bucket(1, 1);
  EXPECT_TRUE(bucket.CanTake(t0));
  EXPECT_TRUE(bucket.CanTake(t0));
  EXPECT_TRUE(bucket.TryTake(t0));
  EXPECT_FALSE(bucket.TryTake(t0 - std::chrono::seconds(10)));
  EXPECT_FALSE(bucket.CanTake(t0 + milliseconds(500)));
  EXPECT_TRUE(bucket.TryTake(t0 + milliseconds(1000)));
}

}  // namespace
}  // namespace headcount
