// SqliteStore as a DistinctStore: the schema step that adds the sketches'
// table to a database of version 1, sketches merged into the stored ones
// (by several connections, as several nodes would; again without change),
// read back by channel and hour, added to Audience's periods, pruned with
// the samples, and refused when read-only.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <vector>

#include "core/testing/files.h"
#include "core/testing/sketches.h"
#include "store/sqlite/sqlite_store.h"

namespace headcount {
namespace {

using testing::ViewerSketch;

// 2026-11-25T00:00:00Z, a UTC day's start.
constexpr std::int64_t kSketchDayStart = 1796083200 - 86400 * 12;

Seconds SketchMinute(int minute) {
  return Seconds{std::chrono::seconds{kSketchDayStart + std::int64_t{60} * minute}};
}
Seconds SketchHour(int hour) { return SketchMinute(60 * hour); }

void ExecSql(const std::filesystem::path& path, const char* sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* message = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, &message), SQLITE_OK)
      << (message ? message : "");
  sqlite3_free(message);
  sqlite3_close(db);
}

class SqliteDistinctTest : public ::testing::Test {
 protected:
  std::filesystem::path Path() const { return std::filesystem::path(dir_.path()) / "headcount.db"; }
  std::unique_ptr<SqliteStore> Open(SqliteStoreOptions options = {}) {
    auto opened = SqliteStore::Open(Path(), options);
    EXPECT_TRUE(opened.ok()) << opened.error().ToString();
    return opened.ok() ? std::move(opened).value() : nullptr;
  }

  testing::TempDir dir_;
};

TEST_F(SqliteDistinctTest, AVersionOneDatabaseGainsTheSketchesAndKeepsItsSamples) {
  ExecSql(Path(),
          "CREATE TABLE samples (channel TEXT NOT NULL, bucket INTEGER NOT NULL, viewers INTEGER "
          "NOT NULL CHECK (viewers >= 0), PRIMARY KEY (channel, bucket)) WITHOUT ROWID;"
          "CREATE INDEX samples_by_bucket ON samples (bucket);"
          "INSERT INTO samples VALUES ('a', 1794700800, 5);"
          "PRAGMA user_version = 1;");
  auto read_only = SqliteStore::Open(Path(), {.read_only = true});
  ASSERT_FALSE(read_only.ok()) << "a read-only open does not migrate";
  auto store = Open();
  ASSERT_TRUE(store);
  auto history = store->History("a", Seconds{std::chrono::seconds{1794700800}},
                                Seconds{std::chrono::seconds{1794700800}});
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->size(), 1U);
  const std::vector<HourSketch> one = {{"a", SketchHour(0), 0, ViewerSketch(1, 3)}};
  ASSERT_TRUE(store->MergeSketches(one).ok());
}

TEST_F(SqliteDistinctTest, SketchesMergeIntoTheStoredOnesFromAnyConnection) {
  auto node_a = Open();
  auto node_b = Open();
  ASSERT_TRUE(node_a && node_b);
  const std::vector<HourSketch> from_a = {{"live", SketchHour(1), 0, ViewerSketch(1, 300)},
                                          {"live", SketchHour(1), 2, ViewerSketch(1, 5)},
                                          {"live", SketchHour(2), 0, ViewerSketch(1, 10)},
                                          {"other", SketchHour(1), 0, ViewerSketch(1, 99)}};
  const std::vector<HourSketch> from_b = {{"live", SketchHour(1), 0, ViewerSketch(200, 700)}};
  ASSERT_TRUE(node_a->MergeSketches(from_a).ok());
  ASSERT_TRUE(node_b->MergeSketches(from_b).ok());
  ASSERT_TRUE(node_b->MergeSketches(from_b).ok()) << "again: no change";
  ASSERT_TRUE(node_a->MergeSketches(from_a).ok());

  auto sketches = node_a->Sketches("live", SketchHour(0), SketchHour(1));
  ASSERT_TRUE(sketches.ok()) << sketches.error().ToString();
  ASSERT_EQ(sketches->size(), 2U) << "hour 2 and the other channel are outside";
  HyperLogLog expected = ViewerSketch(1, 700);
  EXPECT_EQ((*sketches)[0].sketch, expected) << "the union of both nodes' sessions, once each";
  EXPECT_EQ((*sketches)[0].table, 0);
  EXPECT_EQ((*sketches)[1].table, 2);
  EXPECT_EQ((*sketches)[1].sketch.Estimate(), 5);
  EXPECT_NEAR(static_cast<double>((*sketches)[0].sketch.Estimate()), 700, 700 * 0.05);
}

TEST_F(SqliteDistinctTest, AudienceAddsTheDistinctViewersOfEachPeriod) {
  auto store = Open();
  ASSERT_TRUE(store);
  const std::vector<Sample> samples = {
      {"live", SketchMinute(30), 4}, {"live", SketchMinute(70), 9}, {"live", SketchMinute(130), 2}};
  ASSERT_TRUE(store->Record(samples).ok());
  // Viewers 1..6 in hour 0, 4..12 in hour 1; none stored for hour 2.
  const std::vector<HourSketch> sketches = {{"live", SketchHour(0), 0, ViewerSketch(1, 6)},
                                            {"live", SketchHour(1), 0, ViewerSketch(4, 12)}};
  ASSERT_TRUE(store->MergeSketches(sketches).ok());
  // From 00:40: the hour holding it counts whole (a sketch is of an hour).
  auto hours = store->Audience("live", SketchMinute(40), SketchMinute(180), AudiencePeriod::kHour);
  ASSERT_TRUE(hours.ok()) << hours.error().ToString();
  ASSERT_EQ(hours->size(), 2U);
  EXPECT_EQ((*hours)[0].DistinctViewers(), 9);
  EXPECT_EQ((*hours)[1].DistinctViewers(), std::nullopt) << "hour 2: not known";
  auto days = store->Audience("live", SketchMinute(0), SketchMinute(180), AudiencePeriod::kDay);
  ASSERT_TRUE(days.ok());
  ASSERT_EQ(days->size(), 1U);
  EXPECT_EQ((*days)[0].DistinctViewers(), 12) << "viewers of both hours count once";
}

TEST_F(SqliteDistinctTest, PruneDropsTheSketchesOfHoursPastTheCut) {
  auto store = Open();
  ASSERT_TRUE(store);
  const std::vector<HourSketch> sketches = {{"live", SketchHour(0), 0, ViewerSketch(1, 2)},
                                            {"live", SketchHour(1), 0, ViewerSketch(1, 2)},
                                            {"live", SketchHour(2), 0, ViewerSketch(1, 2)}};
  ASSERT_TRUE(store->MergeSketches(sketches).ok());
  // At 02:30, hour 0 has ended by 01:00; hour 1 ends after 01:30.
  auto pruned = store->Prune(SketchMinute(90));
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(*pruned, 1U);
  auto left = store->Sketches("live", SketchHour(0), SketchHour(5));
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->size(), 2U);
  EXPECT_EQ((*left)[0].hour, SketchHour(1));
}

TEST_F(SqliteDistinctTest, ReadOnlyRefusesAndUnreadableBytesAreAnError) {
  ASSERT_TRUE(Open());
  auto read_only = Open({.read_only = true});
  ASSERT_TRUE(read_only);
  const std::vector<HourSketch> one = {{"a", SketchHour(0), 0, ViewerSketch(1, 3)}};
  EXPECT_EQ(read_only->MergeSketches(one).error().code(), ErrorCode::kInvalidArgument);

  ExecSql(Path(), "INSERT INTO distinct_viewers VALUES ('a', 1796083200 - 86400 * 12, 0, x'0102')");
  auto writer = Open();
  auto sketches = writer->Sketches("a", SketchHour(0), SketchHour(1));
  ASSERT_FALSE(sketches.ok());
  EXPECT_EQ(sketches.error().code(), ErrorCode::kIo);
  // A merge replaces what cannot be read, rather than fail every tick.
  ASSERT_TRUE(writer->MergeSketches(one).ok());
  sketches = writer->Sketches("a", SketchHour(0), SketchHour(1));
  ASSERT_TRUE(sketches.ok());
  EXPECT_EQ(sketches->at(0).sketch.Estimate(), 3);
}

}  // namespace
}  // namespace headcount
