// PostgresStore as a DistinctStore, as sqlite_distinct_test.cc checks
// SQLite's: the schema step from version 1, sketches merged into the stored
// ones (by several nodes at once, none lost; again without change), read
// back, added to Audience's periods, and pruned with the samples.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "core/testing/sketches.h"
#include "store/postgres/testing/postgres_fixture.h"

namespace headcount {
namespace {

using postgres::testing::PgAt;
using postgres::testing::PgMinute;
using postgres::testing::PostgresStoreTest;
using testing::ViewerSketch;

// kPgBaseEpoch is noon, a whole hour.
Seconds PgHour(int hour) { return PgMinute(60 * hour); }

TEST_F(PostgresStoreTest, AVersionOneDatabaseGainsTheSketchesAndKeepsItsSamples) {
  Sql("CREATE TABLE headcount_schema (version integer PRIMARY KEY, applied_at timestamptz NOT "
      "NULL DEFAULT now()); INSERT INTO headcount_schema (version) VALUES (1); "
      "CREATE TABLE headcount_samples (channel text NOT NULL, bucket timestamptz NOT NULL, "
      "viewers bigint NOT NULL CHECK (viewers >= 0), PRIMARY KEY (channel, bucket)); "
      "INSERT INTO headcount_samples VALUES ('a', to_timestamp(1795608000), 5)");
  PostgresStoreOptions read_only;
  read_only.read_only = true;
  read_only.url = url_;
  EXPECT_FALSE(PostgresStore::Open(read_only).ok()) << "a read-only open does not migrate";
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->History("a", PgMinute(0), PgMinute(0))->size(), 1U);
  EXPECT_EQ(Sql("SELECT max(version) FROM headcount_schema"), "2");
  const std::vector<HourSketch> one = {{"a", PgHour(0), 0, ViewerSketch(1, 3)}};
  ASSERT_TRUE(store->MergeSketches(one).ok());
}

TEST_F(PostgresStoreTest, SketchesOfSeveralNodesAtOnceMergeWithNoneLost) {
  constexpr int kNodes = 4;
  constexpr int kRounds = 5;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int n = 0; n < kNodes; ++n) {
    threads.emplace_back([&, n] {
      auto node = OpenStore();
      if (node == nullptr) return ++failures, void();
      // Node n's viewers: 100n+1..100n+100 of one hour, in several merges.
      for (int round = 0; round < kRounds; ++round) {
        const std::uint64_t first = 100 * n + 20 * round + 1;
        const std::vector<HourSketch> mine = {
            {"live", PgHour(0), 0, ViewerSketch(first, first + 19)},
            {"live", PgHour(1), 1, ViewerSketch(1, 10)}};
        if (!node->MergeSketches(mine).ok()) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  auto sketches = store->Sketches("live", PgHour(0), PgHour(1));
  ASSERT_TRUE(sketches.ok()) << sketches.error().ToString();
  ASSERT_EQ(sketches->size(), 2U);
  EXPECT_EQ((*sketches)[0].sketch, ViewerSketch(1, std::uint64_t{100} * kNodes))
      << "every node's viewers";
  EXPECT_EQ((*sketches)[0].sketch.Estimate(), 100 * kNodes) << "exact while sparse";
  EXPECT_EQ((*sketches)[1].table, 1);
  EXPECT_EQ((*sketches)[1].sketch.Estimate(), 10) << "the same viewers from each node: once";
  EXPECT_EQ(Sql("SELECT count(*) FROM headcount_distinct_viewers"), "2");
}

TEST_F(PostgresStoreTest, AudienceAddsTheDistinctViewersAndPruneDropsOldHours) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store
                  ->Record(std::vector<Sample>{PgAt("live", 30, 4), PgAt("live", 70, 9),
                                               PgAt("live", 130, 2)})
                  .ok());
  const std::vector<HourSketch> sketches = {{"live", PgHour(0), 0, ViewerSketch(1, 600)},
                                            {"live", PgHour(1), 0, ViewerSketch(500, 612)}};
  ASSERT_TRUE(store->MergeSketches(sketches).ok());
  ASSERT_TRUE(store->MergeSketches(sketches).ok()) << "again: no change";
  auto hours = store->Audience("live", PgMinute(40), PgMinute(180), AudiencePeriod::kHour);
  ASSERT_TRUE(hours.ok()) << hours.error().ToString();
  ASSERT_EQ(hours->size(), 2U);
  EXPECT_EQ((*hours)[0].DistinctViewers(), 113);
  EXPECT_EQ((*hours)[1].DistinctViewers(), std::nullopt) << "hour 2: not known";
  auto days = store->Audience("live", PgMinute(0), PgMinute(180), AudiencePeriod::kDay);
  ASSERT_TRUE(days.ok());
  ASSERT_EQ(days->size(), 1U);
  // A dense sketch (past 512): within 3 standard errors of 612.
  EXPECT_NEAR(static_cast<double>(*(*days)[0].DistinctViewers()), 612, 612 * 0.05);

  auto pruned = store->Prune(PgMinute(90));
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(Sql("SELECT count(*) FROM headcount_distinct_viewers"), "1") << "hour 0 ended by 01:30";
  Sql("UPDATE headcount_distinct_viewers SET sketch = '\\x0102'");
  auto unreadable = store->Sketches("live", PgHour(0), PgHour(5));
  ASSERT_FALSE(unreadable.ok());
  EXPECT_EQ(unreadable.error().code(), ErrorCode::kIo);
}

}  // namespace
}  // namespace headcount
