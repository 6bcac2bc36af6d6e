// SqliteStore::Audience, summed up by SQLite's own query, against
// hand-computed numbers and against core/audience.h's rules applied to the
// same stored samples (the HistoryReader default): the same periods, peaks,
// first peak buckets, sums and counts, only within the range and channel asked.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "core/testing/files.h"
#include "store/sqlite/sqlite_store.h"

namespace headcount {
namespace {

// 2026-11-25T00:00:00Z, a UTC day's start.
constexpr std::int64_t kDayStart = 1796083200 - 86400 * 12;

Seconds AtMinute(int minute) {
  return Seconds{std::chrono::seconds{kDayStart + std::int64_t{60} * minute}};
}

class SqliteAudienceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = SqliteStore::Open(std::filesystem::path(dir_.path()) / "headcount.db");
    ASSERT_TRUE(opened.ok()) << opened.error().ToString();
    store_ = std::move(*opened);
  }
  void Put(std::vector<Sample> samples) { ASSERT_TRUE(store_->Record(samples).ok()); }

  testing::TempDir dir_;
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(SqliteAudienceTest, HandComputedHours) {
  Put({{"a", AtMinute(0), 10},
       {"a", AtMinute(1), 30},
       {"a", AtMinute(2), 30},
       {"a", AtMinute(59), 2},
       {"a", AtMinute(60), 5},
       {"b", AtMinute(1), 999}});
  const auto hours = store_->Audience("a", AtMinute(0), AtMinute(120), AudiencePeriod::kHour);
  ASSERT_TRUE(hours.ok()) << hours.error().ToString();
  ASSERT_EQ(hours->size(), 2U);
  const AudienceSummary& first = (*hours)[0];
  EXPECT_EQ(first.start, AtMinute(0));
  EXPECT_EQ(first.peak, 30);
  EXPECT_EQ(first.peak_at, AtMinute(1)) << "the first of two equal peaks";
  EXPECT_EQ(first.viewer_sum, 72);
  EXPECT_EQ(first.buckets, 4);
  EXPECT_DOUBLE_EQ(first.Average(), 18);
  EXPECT_EQ((*hours)[1].start, AtMinute(60));
  EXPECT_EQ((*hours)[1].peak, 5);
  // Only the range asked for.
  const auto late = store_->Audience("a", AtMinute(2), AtMinute(59), AudiencePeriod::kHour);
  ASSERT_TRUE(late.ok());
  ASSERT_EQ(late->size(), 1U);
  EXPECT_EQ((*late)[0].buckets, 2);
  EXPECT_EQ((*late)[0].peak_at, AtMinute(2));
}

TEST_F(SqliteAudienceTest, SameAsSummingTheStoredSamples) {
  std::mt19937 random(7);
  std::vector<Sample> samples;
  for (int minute = 0; minute < 3 * 24 * 60; minute += 1 + static_cast<int>(random() % 3)) {
    samples.push_back({"live", AtMinute(minute), static_cast<std::int64_t>(random() % 50)});
  }
  Put(samples);
  for (const AudiencePeriod period : {AudiencePeriod::kHour, AudiencePeriod::kDay}) {
    const auto by_sql = store_->Audience("live", AtMinute(30), AtMinute(2 * 24 * 60 + 30), period);
    ASSERT_TRUE(by_sql.ok());
    const auto stored = store_->History("live", AtMinute(30), AtMinute(2 * 24 * 60 + 30));
    ASSERT_TRUE(stored.ok());
    EXPECT_EQ(*by_sql, SummarizeAudience(*stored, period)) << AudiencePeriodName(period);
    EXPECT_FALSE(by_sql->empty());
  }
}

TEST_F(SqliteAudienceTest, UnknownChannelOrEmptyRangeHasNoPeriods) {
  Put({{"a", AtMinute(0), 1}});
  EXPECT_TRUE(store_->Audience("zzz", AtMinute(0), AtMinute(10), AudiencePeriod::kDay)->empty());
  EXPECT_TRUE(store_->Audience("a", AtMinute(10), AtMinute(0), AudiencePeriod::kDay)->empty());
}

// What `headcount report` lists without --channel.
TEST_F(SqliteAudienceTest, ChannelsWithASampleInTheRangeSortedAndCapped) {
  Put({{"zeta", AtMinute(5), 1},
       {"alpha", AtMinute(5), 0},
       {"alpha", AtMinute(6), 3},
       {"old", AtMinute(0), 9},
       {"late", AtMinute(20), 9}});
  const auto in_range = store_->Channels(AtMinute(1), AtMinute(10), 100);
  ASSERT_TRUE(in_range.ok()) << in_range.error().ToString();
  EXPECT_EQ(*in_range, (std::vector<ChannelId>{"alpha", "zeta"}));
  EXPECT_EQ(*store_->Channels(AtMinute(0), AtMinute(20), 2),
            (std::vector<ChannelId>{"alpha", "late"}));
  EXPECT_TRUE(store_->Channels(AtMinute(10), AtMinute(1), 100)->empty());
}

}  // namespace
}  // namespace headcount
