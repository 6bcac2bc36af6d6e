// PostgresStore::Audience, summed up by PostgreSQL's own query, against
// hand-computed numbers and against core/audience.h's rules applied to the
// same stored samples (the HistoryReader default), as sqlite_audience_test.cc
// checks SQLite's; and Channels, which `headcount report` lists.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "store/postgres/testing/postgres_fixture.h"

namespace headcount {
namespace {

using postgres::testing::PgAt;
using postgres::testing::PgMinute;
using postgres::testing::PostgresStoreTest;

// kPgBaseEpoch is noon: the day's periods start 12 hours before it.
constexpr int kMidnight = -12 * 60;

TEST_F(PostgresStoreTest, AudienceOfHandComputedHours) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(
      store
          ->Record(std::vector<Sample>{PgAt("a", 0, 10), PgAt("a", 1, 30), PgAt("a", 2, 30),
                                       PgAt("a", 59, 2), PgAt("a", 60, 5), PgAt("b", 1, 999)})
          .ok());
  const auto hours = store->Audience("a", PgMinute(0), PgMinute(120), AudiencePeriod::kHour);
  ASSERT_TRUE(hours.ok()) << hours.error().ToString();
  ASSERT_EQ(hours->size(), 2U);
  const AudienceSummary& first = (*hours)[0];
  EXPECT_EQ(first.start, PgMinute(0));
  EXPECT_EQ(first.peak, 30);
  EXPECT_EQ(first.peak_at, PgMinute(1)) << "the first of two equal peaks";
  EXPECT_EQ(first.viewer_sum, 72);
  EXPECT_EQ(first.buckets, 4);
  EXPECT_EQ((*hours)[1].start, PgMinute(60));
  EXPECT_EQ((*hours)[1].peak, 5);
  const auto days = store->Audience("a", PgMinute(2), PgMinute(59), AudiencePeriod::kDay);
  ASSERT_TRUE(days.ok());
  ASSERT_EQ(days->size(), 1U);
  EXPECT_EQ((*days)[0].start, PgMinute(kMidnight));
  EXPECT_EQ((*days)[0].buckets, 2) << "only the range asked for";
  EXPECT_EQ((*days)[0].peak_at, PgMinute(2));
  EXPECT_TRUE(store->Audience("zzz", PgMinute(0), PgMinute(10), AudiencePeriod::kDay)->empty());
}

TEST_F(PostgresStoreTest, AudienceIsTheSameAsSummingTheStoredSamples) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  std::mt19937 random(11);
  std::vector<Sample> samples;
  for (int minute = kMidnight; minute < kMidnight + 3 * 24 * 60;
       minute += 1 + static_cast<int>(random() % 3)) {
    samples.push_back(PgAt("live", minute, static_cast<std::int64_t>(random() % 50)));
  }
  ASSERT_TRUE(store->Record(samples).ok());
  const Seconds from = PgMinute(kMidnight + 30);
  const Seconds to = PgMinute(kMidnight + 2 * 24 * 60 + 30);
  for (const AudiencePeriod period : {AudiencePeriod::kHour, AudiencePeriod::kDay}) {
    const auto by_sql = store->Audience("live", from, to, period);
    ASSERT_TRUE(by_sql.ok()) << by_sql.error().ToString();
    const auto stored = store->History("live", from, to);
    ASSERT_TRUE(stored.ok());
    EXPECT_EQ(*by_sql, SummarizeAudience(*stored, period)) << AudiencePeriodName(period);
    EXPECT_FALSE(by_sql->empty());
  }
}

TEST_F(PostgresStoreTest, ChannelsWithASampleInTheRangeSortedAndCapped) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(
      store
          ->Record(std::vector<Sample>{PgAt("zeta", 5, 1), PgAt("alpha", 5, 0), PgAt("alpha", 6, 3),
                                       PgAt("old", 0, 9), PgAt("late", 20, 9)})
          .ok());
  const auto in_range = store->Channels(PgMinute(1), PgMinute(10), 100);
  ASSERT_TRUE(in_range.ok()) << in_range.error().ToString();
  EXPECT_EQ(*in_range, (std::vector<ChannelId>{"alpha", "zeta"}));
  EXPECT_EQ(*store->Channels(PgMinute(0), PgMinute(20), 2),
            (std::vector<ChannelId>{"alpha", "late"}));
  EXPECT_TRUE(store->Channels(PgMinute(10), PgMinute(1), 100)->empty());
}

}  // namespace
}  // namespace headcount
