#include "core/trend.h"

#include <gtest/gtest.h>

#include <array>

namespace headcount {
namespace {

using Counts = std::array<std::optional<std::int64_t>, 5>;
constexpr std::nullopt_t kGap = std::nullopt;

Trend Of(Counts c) { return ComputeTrend(c); }

TEST(TrendTest, RisingWhenTheAudienceGrows) {
  EXPECT_EQ(Of({120, 134, 150, 161, 170}), Trend::kRising);
  EXPECT_EQ(Of({1, 2, 3, 4, 5}), Trend::kRising);
}

TEST(TrendTest, FallingWhenTheAudienceLeaves) {
  EXPECT_EQ(Of({170, 161, 150, 134, 120}), Trend::kFalling);
}

TEST(TrendTest, SteadyForSmallWobbles) {
  EXPECT_EQ(Of({100, 101, 99, 100, 102}), Trend::kSteady);
  EXPECT_EQ(Of({0, 0, 0, 0, 0}), Trend::kSteady);
  // One extra viewer over five minutes is not "heating up".
  EXPECT_EQ(Of({3, 3, 3, 3, 4}), Trend::kSteady);
}

TEST(TrendTest, RelativeThresholdScalesWithTheAudience) {
  // Slope +10/min: rising for an audience of ~100 (threshold 5), steady for ~1000 (threshold 50).
  EXPECT_EQ(Of({80, 90, 100, 110, 120}), Trend::kRising);
  EXPECT_EQ(Of({980, 990, 1000, 1010, 1020}), Trend::kSteady);
}

TEST(TrendTest, ExactlyAtTheThresholdCounts) {
  // Slope 0.5/min, mean 2 -> threshold max(0.5, 0.1) = 0.5.
  EXPECT_EQ(Of({1, 1, 2, 2, 3}), Trend::kRising);
}

TEST(TrendTest, UnknownWithFewerThanThreeSamples) {
  EXPECT_EQ(Of({kGap, kGap, kGap, kGap, kGap}), Trend::kUnknown);
  EXPECT_EQ(Of({kGap, kGap, kGap, 10, 50}), Trend::kUnknown);
}

TEST(TrendTest, GapsAreSkippedNotZeroed) {
  // Treating the gaps as zeros would make this look like it is rising sharply.
  EXPECT_EQ(Of({100, kGap, 100, kGap, 100}), Trend::kSteady);
  EXPECT_EQ(Of({10, kGap, 30, kGap, 50}), Trend::kRising);
}

TEST(TrendTest, NamesAreTheWireNames) {
  EXPECT_EQ(TrendName(Trend::kRising), "rising");
  EXPECT_EQ(TrendName(Trend::kFalling), "falling");
  EXPECT_EQ(TrendName(Trend::kSteady), "steady");
  EXPECT_EQ(TrendName(Trend::kUnknown), "unknown");
}

}  // namespace
}  // namespace headcount
