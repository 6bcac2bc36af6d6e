// TokenBucket: slots spaced at 1/rate, refill up to capacity, unlimited.
#include "core/token_bucket.h"

#include <gtest/gtest.h>

#include <vector>

#include "core/time_text.h"

namespace headcount {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
WallTime TokenBucketT0() { return *ParseRfc3339("2026-03-01T12:00:00Z"); }

TEST(TokenBucket, BooksSlotsOneIntervalApart) {
  TokenBucket bucket(2.0, 1.0);
  const WallTime t0 = TokenBucketT0();
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
  const WallTime t0 = TokenBucketT0();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(bucket.NextFree(t0), t0);
    bucket.Take(t0);
  }
  EXPECT_EQ(bucket.NextFree(t0), t0 + 1s);
}

TEST(TokenBucket, ZeroRateIsUnlimited) {
  TokenBucket bucket(0.0, 1.0);
  const WallTime t0 = TokenBucketT0();
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

TEST(TokenBucket, SetRateKeepsWhatWasEarnedAndRefillsAtTheNewRate) {
  const WallTime t0 = TokenBucketT0();
  TokenBucket bucket(10.0, 10.0);
  for (int i = 0; i < 10; ++i) bucket.Take(t0);
  // 0.5 s at 10/s earned 5 tokens; from then on 5/s.
  bucket.SetRate(t0 + 500ms, 5.0);
  EXPECT_EQ(bucket.rate(), 5.0);
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(bucket.TryTake(t0 + 500ms)) << i;
  }
  EXPECT_EQ(bucket.NextFree(t0 + 500ms), t0 + 700ms);
  // A booked slot stays booked: the debt is repaid at the new rate.
  bucket.Take(t0 + 500ms);
  bucket.SetRate(t0 + 500ms, 1.0);
  EXPECT_EQ(bucket.NextFree(t0 + 500ms), t0 + 2500ms);
  // Back up: refills to the capacity, never past it.
  bucket.SetRate(t0 + 2500ms, 10.0);
  EXPECT_TRUE(bucket.Full(t0 + 3500ms));
  EXPECT_EQ(bucket.capacity(), 10.0);
}

TEST(TokenBucket, DropSavedEndsTheBurstButKeepsBookings) {
  const WallTime t0 = TokenBucketT0();
  TokenBucket bucket(10.0, 10.0);
  bucket.Take(t0);
  bucket.DropSaved(t0);
  EXPECT_EQ(bucket.NextFree(t0), t0 + 100ms);
  bucket.Take(t0);
  bucket.Take(t0);
  bucket.DropSaved(t0);  // slots at 100 and 200 ms stay booked
  EXPECT_EQ(bucket.NextFree(t0), t0 + 300ms);
  EXPECT_TRUE(bucket.Full(t0 + 1200ms));
}

TEST(TokenBucket, NeverMoreThanCapacityPlusRateTimesTheInterval) {
  // Whoever books every slot as soon as it is free sends, in any interval
  // of length T, at most capacity + rate * T.
  const WallTime t0 = TokenBucketT0();
  TokenBucket bucket(155.0, 155.0);
  std::vector<WallTime> sent;
  for (int i = 0; i < 500; ++i) {
    sent.push_back(bucket.NextFree(t0));
    bucket.Take(t0);
  }
  for (std::size_t i = 0; i < sent.size(); ++i) {
    for (std::size_t j = i; j < sent.size(); ++j) {
      const double t = std::chrono::duration<double>(sent[j] - sent[i]).count();
      ASSERT_LE(static_cast<double>(j - i + 1), 155.0 + 155.0 * t + 1e-6) << i << " " << j;
    }
  }
}

}  // namespace
}  // namespace headcount
