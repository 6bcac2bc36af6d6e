// Tests of the audience summaries against hand-computed numbers: peaks and
// when they came (the first of equal peaks), averages over live buckets
// only, viewer-minutes and live minutes for any bucket length, hours and
// days cut at UTC boundaries, and several periods combined.
#include "core/audience.h"

#include <gtest/gtest.h>

#include <vector>

#include "core/testing/sketches.h"
#include "core/time_text.h"

namespace headcount {
namespace {

Seconds AtUtc(const char* text) {
  return std::chrono::floor<std::chrono::seconds>(*ParseRfc3339(text));
}

Sample At(const char* time, std::int64_t viewers) { return {"live", AtUtc(time), viewers}; }

TEST(AudienceTest, HoursCutAtTheirStartWithPeakAverageAndMinutes) {
  // Out of order on purpose; 11:59 is the previous hour.
  const std::vector<Sample> samples = {
      At("2026-12-07T12:02:00Z", 30), At("2026-12-07T12:00:00Z", 10), At("2026-12-07T11:59:00Z", 7),
      At("2026-12-07T12:01:00Z", 30), At("2026-12-07T13:30:00Z", 4),
  };
  const auto hours = SummarizeAudience(samples, AudiencePeriod::kHour);
  ASSERT_EQ(hours.size(), 3U) << "11:00, 12:00 and 13:00; none for an hour with no sample";
  EXPECT_EQ(hours[0].start, AtUtc("2026-12-07T11:00:00Z"));
  EXPECT_EQ(hours[0].peak, 7);
  const AudienceSummary& noon = hours[1];
  EXPECT_EQ(noon.start, AtUtc("2026-12-07T12:00:00Z"));
  EXPECT_EQ(noon.peak, 30);
  EXPECT_EQ(noon.peak_at, AtUtc("2026-12-07T12:01:00Z")) << "the first bucket at the peak";
  EXPECT_DOUBLE_EQ(noon.Average(), 70.0 / 3);
  EXPECT_DOUBLE_EQ(noon.ViewerMinutes(std::chrono::minutes(1)), 70);
  EXPECT_DOUBLE_EQ(noon.LiveMinutes(std::chrono::minutes(1)), 3);
  EXPECT_DOUBLE_EQ(noon.ViewerMinutes(std::chrono::seconds(2)), 70.0 * 2 / 60);
  EXPECT_DOUBLE_EQ(noon.LiveMinutes(std::chrono::seconds(30)), 1.5);
}

TEST(AudienceTest, DaysAreUtcDaysAndCombineIntoOne) {
  const std::vector<Sample> samples = {
      At("2026-12-06T23:59:00Z", 50),
      At("2026-12-07T00:00:00Z", 8),
      At("2026-12-07T18:00:00Z", 50),
  };
  const auto days = SummarizeAudience(samples, AudiencePeriod::kDay);
  ASSERT_EQ(days.size(), 2U);
  EXPECT_EQ(days[0].start, AtUtc("2026-12-06T00:00:00Z"));
  EXPECT_EQ(days[1].start, AtUtc("2026-12-07T00:00:00Z"));
  EXPECT_EQ(days[1].peak, 50);
  EXPECT_EQ(days[1].viewer_sum, 58);
  EXPECT_EQ(days[1].buckets, 2);
  const AudienceSummary all = CombineAudience(days);
  EXPECT_EQ(all.start, days[0].start);
  EXPECT_EQ(all.peak, 50);
  EXPECT_EQ(all.peak_at, AtUtc("2026-12-06T23:59:00Z")) << "the earlier of two equal peaks";
  EXPECT_EQ(all.viewer_sum, 108);
  EXPECT_EQ(all.buckets, 3);
  EXPECT_DOUBLE_EQ(all.Average(), 36);
}

TEST(AudienceTest, NoSamplesNoPeriodsAndAnEmptyTotal) {
  EXPECT_TRUE(SummarizeAudience({}, AudiencePeriod::kDay).empty());
  const AudienceSummary none = CombineAudience({});
  EXPECT_EQ(none.buckets, 0);
  EXPECT_DOUBLE_EQ(none.Average(), 0);
}

TEST(AudienceTest, DistinctViewersMergeOverHoursAndTakeTheLargerTable) {
  const std::vector<Sample> samples = {At("2026-12-07T10:05:00Z", 3), At("2026-12-07T11:00:00Z", 4),
                                       At("2026-12-07T12:00:00Z", 1)};
  auto hours = SummarizeAudience(samples, AudiencePeriod::kHour);
  auto days = SummarizeAudience(samples, AudiencePeriod::kDay);
  // Sessions 1..10 at 10:00 and 6..20 at 11:00; CMCD sids 1..12 at 11:00;
  // nothing stored for 12:00, and a sketch of 13:00 with no sample.
  const std::vector<HourSketch> sketches = {
      {"live", AtUtc("2026-12-07T10:00:00Z"), 0, testing::ViewerSketch(1, 10)},
      {"live", AtUtc("2026-12-07T11:00:00Z"), 0, testing::ViewerSketch(6, 20)},
      {"live", AtUtc("2026-12-07T11:00:00Z"), 2, testing::ViewerSketch(1, 12)},
      {"live", AtUtc("2026-12-07T13:00:00Z"), 0, testing::ViewerSketch(1, 99)},
  };
  AddDistinct(hours, sketches, AudiencePeriod::kHour);
  AddDistinct(days, sketches, AudiencePeriod::kDay);
  ASSERT_EQ(hours.size(), 3U);
  EXPECT_EQ(hours[0].DistinctViewers(), 10);
  EXPECT_EQ(hours[1].DistinctViewers(), 15) << "the larger of 15 sessions and 12 sids";
  EXPECT_EQ(hours[2].DistinctViewers(), std::nullopt) << "no sketch: not known, not 0";
  EXPECT_EQ(CombineAudience(hours).DistinctViewers(), 20) << "viewers 6..10 came back: once";
  ASSERT_EQ(days.size(), 1U);
  EXPECT_EQ(days[0].DistinctViewers(), 99) << "13:00 has no sample, but its day has";
  EXPECT_EQ(CombineAudience(days).DistinctViewers(), 99);
}

TEST(AudienceTest, PeriodNames) {
  EXPECT_EQ(ParseAudiencePeriod("hour"), AudiencePeriod::kHour);
  EXPECT_EQ(ParseAudiencePeriod("day"), AudiencePeriod::kDay);
  EXPECT_EQ(ParseAudiencePeriod("week"), std::nullopt);
  EXPECT_EQ(AudiencePeriodName(AudiencePeriod::kDay), "day");
}

}  // namespace
}  // namespace headcount
