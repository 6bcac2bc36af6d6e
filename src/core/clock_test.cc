#include "core/clock.h"

#include <gtest/gtest.h>

#include "core/testing/time.h"
#include "core/time_text.h"

namespace headcount {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

using testing::At;

TEST(BucketStartTest, FloorsToTheMinute) {
  EXPECT_EQ(FormatRfc3339(BucketStart(At("2026-11-25T12:03:59.999Z"), seconds{60})),
            "2026-11-25T12:03:00Z");
  EXPECT_EQ(FormatRfc3339(BucketStart(At("2026-11-25T12:03:00Z"), seconds{60})),
            "2026-11-25T12:03:00Z");
}

TEST(BucketStartTest, OneMillisecondBeforeTheEdgeIsThePreviousMinute) {
  const WallTime edge = At("2026-11-25T12:04:00Z");
  EXPECT_EQ(BucketStart(edge - milliseconds{1}, seconds{60}),
            BucketStart(edge, seconds{60}) - seconds{60});
}

TEST(BucketStartTest, ShortIntervalsAlignToTheEpoch) {
  EXPECT_EQ(FormatRfc3339(BucketStart(At("2026-11-25T12:03:07.5Z"), seconds{5})),
            "2026-11-25T12:03:05Z");
  EXPECT_EQ(FormatRfc3339(BucketStart(At("2026-11-25T12:03:07Z"), seconds{3600})),
            "2026-11-25T12:00:00Z");
}

TEST(BucketStartTest, BeforeTheEpochStillFloors) {
  EXPECT_EQ(BucketStart(WallTime{} - milliseconds{1}, seconds{60}).time_since_epoch(),
            seconds{-60});
}

TEST(FakeClockTest, MovesOnlyWhenTold) {
  FakeClock clock(At("2026-11-25T12:00:00Z"));
  EXPECT_EQ(clock.Now(), At("2026-11-25T12:00:00Z"));
  clock.Advance(seconds{90});
  EXPECT_EQ(clock.Now(), At("2026-11-25T12:01:30Z"));
}

}  // namespace
}  // namespace headcount
