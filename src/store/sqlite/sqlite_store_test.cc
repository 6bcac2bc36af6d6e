// Tests of the SQLite store and its pruner, on real database files in a fresh
// temporary directory, checked through a separate sqlite3 connection.
#include "store/sqlite/sqlite_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "store/sqlite/pruner.h"
#include "store/sqlite/sqlite_db.h"

namespace headcount {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

// 2026-11-25T12:00:00Z, a whole minute.
constexpr std::int64_t kBaseEpoch = 1795608000;
constexpr std::chrono::seconds kWaitLimit{10};

Seconds Minute(int minutes) {
  return Seconds{std::chrono::seconds{kBaseEpoch + std::int64_t{60} * minutes}};
}
Sample At(const std::string& channel, int minute, std::int64_t viewers) {
  return Sample{channel, Minute(minute), viewers};
}

// A plain sqlite3 connection, for looking at what the store wrote.
class RawDb {
 public:
  explicit RawDb(const std::filesystem::path& path) {
    EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK);
    sqlite3_busy_timeout(db_, 5000);
  }
  ~RawDb() { sqlite3_close(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  void Exec(const std::string& sql) {
    char* message = nullptr;
    EXPECT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message), SQLITE_OK)
        << sql << ": " << (message ? message : "");
    sqlite3_free(message);
  }
  std::string Text(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sql;
    std::string out;
    if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
    return out;
  }
  std::int64_t Int(const std::string& sql) { return std::stoll(Text(sql)); }

 private:
  sqlite3* db_ = nullptr;
};

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir_template =
        (std::filesystem::temp_directory_path() / "headcount-sqlite-XXXXXX").string();
    ASSERT_NE(mkdtemp(dir_template.data()), nullptr);
    dir_ = dir_template;
    path_ = dir_ / "headcount.db";
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::unique_ptr<SqliteStore> OpenStore(SqliteStoreOptions options = {}) {
    auto store = SqliteStore::Open(path_, options);
    EXPECT_TRUE(store.ok()) << store.error().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }
  std::int64_t RowCount() { return RawDb(path_).Int("SELECT COUNT(*) FROM samples"); }

  std::filesystem::path dir_;
  std::filesystem::path path_;
};

TEST_F(SqliteStoreTest, NewDatabaseHasSchemaVersionTwoInWalMode) {
  ASSERT_FALSE(std::filesystem::exists(path_));
  auto store = OpenStore();
  ASSERT_TRUE(store);
  EXPECT_TRUE(std::filesystem::exists(path_));
  RawDb raw(path_);
  EXPECT_EQ(raw.Int("PRAGMA user_version"), 2);
  EXPECT_EQ(SqliteStore::kSchemaVersion, 2);
  EXPECT_EQ(raw.Text("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(raw.Text("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = "
                     "'samples' AND sql IS NOT NULL"),
            "samples_by_bucket");
  EXPECT_EQ(RowCount(), 0);
}

TEST_F(SqliteStoreTest, ReopenKeepsDataAndSchema) {
  {
    auto store = OpenStore();
    ASSERT_TRUE(store);
    const std::vector<Sample> samples = {At("a", 0, 10), At("a", 1, 11)};
    ASSERT_TRUE(store->Record(samples).ok());
  }
  auto store = OpenStore();
  ASSERT_TRUE(store);
  auto history = store->History("a", Minute(0), Minute(1));
  ASSERT_TRUE(history.ok()) << history.error().ToString();
  EXPECT_THAT(*history, ElementsAre(At("a", 0, 10), At("a", 1, 11)));
  EXPECT_EQ(RawDb(path_).Int("PRAGMA user_version"), 2);
}

TEST_F(SqliteStoreTest, NewerSchemaVersionIsRefused) {
  ASSERT_TRUE(OpenStore());
  RawDb(path_).Exec("PRAGMA user_version = 7");
  for (bool read_only : {false, true}) {
    auto store = SqliteStore::Open(path_, {.read_only = read_only});
    ASSERT_FALSE(store.ok());
    EXPECT_EQ(store.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_THAT(store.error().message(),
                HasSubstr("database schema version 7 is newer than this headcount supports (2)"));
    EXPECT_THAT(store.error().message(), HasSubstr(path_.string()));
  }
  EXPECT_EQ(RawDb(path_).Int("PRAGMA user_version"), 7);  // left alone
}

TEST_F(SqliteStoreTest, MissingDirectoryIsNotFoundAndNotCreated) {
  const auto path = dir_ / "no-such-dir" / "headcount.db";
  auto store = SqliteStore::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code(), ErrorCode::kNotFound);
  EXPECT_THAT(store.error().message(), HasSubstr((dir_ / "no-such-dir").string()));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "no-such-dir"));
}

TEST_F(SqliteStoreTest, FileThatIsNotADatabaseIsAnIoError) {
  std::ofstream(path_) << "this is not a SQLite database, just some text long enough to look\n"
                       << std::string(200, 'x');
  auto store = SqliteStore::Open(path_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code(), ErrorCode::kIo) << store.error().ToString();
  EXPECT_THAT(store.error().message(), HasSubstr("not a database"));
}

TEST_F(SqliteStoreTest, RecordingTheSameMinuteTwiceStoresOneRowAndTheLastValue) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  const std::vector<Sample> first = {At("a", 0, 10)};
  auto written = store->Record(first);
  ASSERT_TRUE(written.ok()) << written.error().ToString();
  EXPECT_EQ(*written, 1u);
  written = store->Record(first);
  ASSERT_TRUE(written.ok());
  EXPECT_EQ(*written, 1u);
  EXPECT_EQ(RowCount(), 1);

  const std::vector<Sample> second = {At("a", 0, 25)};
  ASSERT_TRUE(store->Record(second).ok());
  EXPECT_EQ(RowCount(), 1);
  EXPECT_EQ(RawDb(path_).Int("SELECT viewers FROM samples WHERE channel = 'a'"), 25);
}

TEST_F(SqliteStoreTest, RecordReturnsRowsWrittenAndEmptyBatchIsNoOp) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  const std::vector<Sample> batch = {At("a", 0, 1), At("b", 0, 2), At("a", 1, 3)};
  auto written = store->Record(batch);
  ASSERT_TRUE(written.ok());
  EXPECT_EQ(*written, 3u);
  written = store->Record({});
  ASSERT_TRUE(written.ok());
  EXPECT_EQ(*written, 0u);
  EXPECT_EQ(RowCount(), 3);
}

// Record writes in key order (for speed at tens of thousands of channels),
// yet a repeated key in one batch still ends with the batch's last value.
TEST_F(SqliteStoreTest, RecordOutOfOrderWithRepeatedKeysKeepsTheLastValueOfEachKey) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  const std::vector<Sample> batch = {At("c", 1, 1), At("b", 0, 2), At("c", 0, 3),
                                     At("b", 0, 4), At("a", 2, 5), At("c", 1, 6)};
  auto written = store->Record(batch);
  ASSERT_TRUE(written.ok()) << written.error().ToString();
  EXPECT_EQ(*written, batch.size());
  EXPECT_EQ(RowCount(), 4);
  RawDb raw(path_);
  EXPECT_EQ(raw.Int("SELECT viewers FROM samples WHERE channel = 'b'"), 4);
  EXPECT_EQ(raw.Int("SELECT viewers FROM samples WHERE channel = 'c' AND bucket = " +
                    std::to_string(kBaseEpoch + 60)),
            6);
  EXPECT_EQ(raw.Int("SELECT viewers FROM samples WHERE channel = 'c' AND bucket = " +
                    std::to_string(kBaseEpoch)),
            3);
}

TEST_F(SqliteStoreTest, RecordIsOneTransactionAndAnInvalidRowLeavesNothing) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  const std::vector<Sample> before = {At("a", 0, 5)};
  ASSERT_TRUE(store->Record(before).ok());

  // The CHECK (viewers >= 0) refuses the last row: the update of a:0 and the
  // new row b:0 written before it must be rolled back too.
  const std::vector<Sample> batch = {At("a", 0, 99), At("b", 0, 1), At("c", 0, -1)};
  auto written = store->Record(batch);
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(written.error().message(), HasSubstr("Record"));
  EXPECT_THAT(written.error().message(), HasSubstr("CHECK constraint failed"));
  EXPECT_THAT(written.error().message(), HasSubstr("channel c"));

  EXPECT_EQ(RowCount(), 1);
  EXPECT_EQ(RawDb(path_).Int("SELECT viewers FROM samples WHERE channel = 'a'"), 5);
  // The store is still usable afterwards.
  ASSERT_TRUE(store->Record(std::vector<Sample>{At("b", 0, 1)}).ok());
  EXPECT_EQ(RowCount(), 2);
}

TEST_F(SqliteStoreTest, WindowIsInclusiveAndOnlyForRequestedChannels) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  std::vector<Sample> samples;
  for (int m = 0; m < 10; ++m) {
    samples.push_back(At("a", m, 100 + m));
    samples.push_back(At("b", m, 200 + m));
    samples.push_back(At("c", m, 300 + m));
  }
  ASSERT_TRUE(store->Record(samples).ok());

  const std::vector<ChannelId> channels = {"a", "c", "a", "unknown"};
  auto window = store->Window(channels, Minute(3), Minute(5));
  ASSERT_TRUE(window.ok()) << window.error().ToString();
  EXPECT_THAT(*window, UnorderedElementsAre(At("a", 3, 103), At("a", 4, 104), At("a", 5, 105),
                                            At("c", 3, 303), At("c", 4, 304), At("c", 5, 305)));

  // One-second-narrower bounds drop both ends.
  window = store->Window(channels, Minute(3) + std::chrono::seconds{1},
                         Minute(5) - std::chrono::seconds{1});
  ASSERT_TRUE(window.ok());
  EXPECT_THAT(*window, UnorderedElementsAre(At("a", 4, 104), At("c", 4, 304)));

  window = store->Window({}, Minute(0), Minute(9));
  ASSERT_TRUE(window.ok());
  EXPECT_TRUE(window->empty());
  window = store->Window(channels, Minute(5), Minute(3));
  ASSERT_TRUE(window.ok());
  EXPECT_TRUE(window->empty());
}

TEST_F(SqliteStoreTest, WindowOverTenThousandChannelsIsFast) {
  constexpr int kChannels = 10000;
  auto store = OpenStore();
  ASSERT_TRUE(store);
  std::vector<Sample> samples;
  std::vector<ChannelId> channels;
  for (int c = 0; c < kChannels; ++c) {
    channels.push_back("channel-" + std::to_string(c));
    for (int m = 0; m < 7; ++m) samples.push_back(Sample{channels.back(), Minute(m), c + m});
  }
  ASSERT_TRUE(store->Record(samples).ok());

  const auto start = std::chrono::steady_clock::now();
  auto window = store->Window(channels, Minute(2), Minute(6));
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(window.ok());
  EXPECT_EQ(window->size(), static_cast<std::size_t>(kChannels) * 5);
  std::cout << "Window over " << kChannels
            << " channels: " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
            << " ms\n";
  // Generous, to stay stable on a loaded debug build; typically tens of ms.
  EXPECT_LT(took, std::chrono::seconds{5});
}

TEST_F(SqliteStoreTest, HistoryIsAscendingWithinBounds) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->Record(std::vector<Sample>{At("a", 7, 7), At("a", 2, 2)}).ok());
  ASSERT_TRUE(store->Record(std::vector<Sample>{At("a", 5, 5), At("b", 4, 4), At("a", 0, 0)}).ok());
  auto history = store->History("a", Minute(1), Minute(7));
  ASSERT_TRUE(history.ok());
  EXPECT_THAT(*history, ElementsAre(At("a", 2, 2), At("a", 5, 5), At("a", 7, 7)));
  history = store->History("nobody", Minute(0), Minute(7));
  ASSERT_TRUE(history.ok());
  EXPECT_TRUE(history->empty());
}

TEST_F(SqliteStoreTest, HasChannel) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->Record(std::vector<Sample>{At("a", 0, 1)}).ok());
  auto has = store->HasChannel("a");
  ASSERT_TRUE(has.ok());
  EXPECT_TRUE(*has);
  has = store->HasChannel("b");
  ASSERT_TRUE(has.ok());
  EXPECT_FALSE(*has);
  has = store->HasChannel("");
  ASSERT_TRUE(has.ok());
  EXPECT_FALSE(*has);
}

// 250 samples in minutes [-250, -1], 5 in [0, 4].
std::vector<Sample> OldAndNew() {
  std::vector<Sample> samples;
  for (int m = -250; m < 0; ++m) samples.push_back(At("old", m, 1));
  for (int m = 0; m < 5; ++m) samples.push_back(At("new", m, 1));
  return samples;
}

TEST_F(SqliteStoreTest, PruneDeletesOnlyOlderRowsInBatches) {
  auto store = OpenStore({.prune_batch_rows = 100});
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->Record(OldAndNew()).ok());
  std::vector<std::size_t> batches;
  auto deleted = store->Prune(Minute(0), {}, [&](std::size_t rows) { batches.push_back(rows); });
  ASSERT_TRUE(deleted.ok()) << deleted.error().ToString();
  EXPECT_EQ(*deleted, 250u);
  EXPECT_THAT(batches, ElementsAre(100u, 100u, 50u));
  // The row at exactly `before` stays.
  EXPECT_EQ(RowCount(), 5);
  EXPECT_EQ(RawDb(path_).Int("SELECT MIN(bucket) FROM samples"),
            Minute(0).time_since_epoch().count());

  deleted = store->Prune(Minute(0));
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(*deleted, 0u);
}

TEST_F(SqliteStoreTest, PruneLetsOtherCallsInBetweenBatchesAndStopsOnRequest) {
  auto store = OpenStore({.prune_batch_rows = 100});
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->Record(OldAndNew()).ok());
  std::stop_source stop;
  int batches = 0;
  auto deleted = store->Prune(Minute(0), stop.get_token(), [&](std::size_t) {
    ++batches;
    // Would deadlock if Prune held the store's mutex between batches.
    EXPECT_TRUE(store->Record(std::vector<Sample>{At("new", 10 + batches, 1)}).ok());
    stop.request_stop();
  });
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(*deleted, 100u);
  EXPECT_EQ(batches, 1);
  EXPECT_EQ(RowCount(), 150 + 5 + 1);
}

TEST_F(SqliteStoreTest, PrunerRemovesOldRowsOnItsOwnThreadAndKeepsPruning) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->Record(OldAndNew()).ok());
  // Now is minute 60; keeping 60 minutes deletes everything before minute 0.
  FakeClock clock(Minute(60));
  auto pruner = Pruner::Start(
      path_, clock,
      {.retention = std::chrono::minutes{60}, .interval = std::chrono::milliseconds{20}});
  ASSERT_TRUE(pruner.ok()) << pruner.error().ToString();
  const auto deadline = std::chrono::steady_clock::now() + kWaitLimit;
  while ((*pruner)->rows_deleted() < 250 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
  EXPECT_EQ((*pruner)->rows_deleted(), 250u);
  EXPECT_EQ(RowCount(), 5);

  // Later passes follow the clock.
  clock.Set(Minute(63));
  while ((*pruner)->rows_deleted() < 253 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
  EXPECT_EQ((*pruner)->rows_deleted(), 253u);
  EXPECT_THAT(*store->History("new", Minute(0), Minute(10)),
              ElementsAre(At("new", 3, 1), At("new", 4, 1)));
  (*pruner)->Stop();
  (*pruner)->Stop();  // idempotent
}

TEST_F(SqliteStoreTest, PrunerStopsPromptlyDuringItsLongWait) {
  ASSERT_TRUE(OpenStore());
  FakeClock clock(Minute(0));
  auto pruner = Pruner::Start(path_, clock, {.interval = std::chrono::hours{1}});
  ASSERT_TRUE(pruner.ok());
  const auto deadline = std::chrono::steady_clock::now() + kWaitLimit;
  while ((*pruner)->passes() < 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
  ASSERT_EQ((*pruner)->passes(), 1u);
  const auto start = std::chrono::steady_clock::now();
  (*pruner)->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds{500});
  EXPECT_EQ((*pruner)->passes(), 1u);
}

TEST_F(SqliteStoreTest, PrunerRefusesBadOptions) {
  FakeClock clock;
  auto pruner = Pruner::Start(path_, clock, {.retention = std::chrono::seconds{0}});
  ASSERT_FALSE(pruner.ok());
  EXPECT_EQ(pruner.error().code(), ErrorCode::kInvalidArgument);
  pruner = Pruner::Start(path_, clock, {.store = {.read_only = true}});
  ASSERT_FALSE(pruner.ok());
  EXPECT_EQ(pruner.error().code(), ErrorCode::kInvalidArgument);
}

TEST_F(SqliteStoreTest, ReadOnlySeesConcurrentWriterAndRefusesWrites) {
  auto writer = OpenStore();
  ASSERT_TRUE(writer);
  auto reader = OpenStore({.read_only = true});
  ASSERT_TRUE(reader);
  EXPECT_TRUE(reader->read_only());

  ASSERT_TRUE(writer->Record(std::vector<Sample>{At("a", 0, 1)}).ok());
  auto history = reader->History("a", Minute(0), Minute(0));
  ASSERT_TRUE(history.ok()) << history.error().ToString();
  EXPECT_THAT(*history, ElementsAre(At("a", 0, 1)));
  ASSERT_TRUE(writer->Record(std::vector<Sample>{At("a", 1, 2)}).ok());
  const std::vector<ChannelId> channels = {"a"};
  auto window = reader->Window(channels, Minute(0), Minute(1));
  ASSERT_TRUE(window.ok());
  EXPECT_EQ(window->size(), 2u);

  auto written = reader->Record(std::vector<Sample>{At("a", 2, 3)});
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(written.error().message(), HasSubstr("read-only"));
  auto pruned = reader->Prune(Minute(10));
  ASSERT_FALSE(pruned.ok());
  EXPECT_THAT(pruned.error().message(), HasSubstr("read-only"));
  EXPECT_EQ(RowCount(), 2);
}

TEST_F(SqliteStoreTest, ReadOnlyOpensAfterTheWriterHasClosed) {
  {
    auto writer = OpenStore();
    ASSERT_TRUE(writer);
    ASSERT_TRUE(writer->Record(std::vector<Sample>{At("a", 0, 1)}).ok());
  }
  auto reader = OpenStore({.read_only = true});
  ASSERT_TRUE(reader);
  auto has = reader->HasChannel("a");
  ASSERT_TRUE(has.ok()) << has.error().ToString();
  EXPECT_TRUE(*has);
}

TEST_F(SqliteStoreTest, ReadOnlyOpenOfMissingFileIsNotFound) {
  auto store = SqliteStore::Open(path_, {.read_only = true});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code(), ErrorCode::kNotFound);
  EXPECT_THAT(store.error().message(), HasSubstr(path_.string()));
  EXPECT_FALSE(std::filesystem::exists(path_));
}

TEST_F(SqliteStoreTest, ReadOnlyOpenOfUninitializedFileAsksForAnUpgrade) {
  RawDb(path_).Exec("CREATE TABLE other (x)");
  auto store = SqliteStore::Open(path_, {.read_only = true});
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(store.error().message(), HasSubstr("schema version 0 is older"));
}

TEST_F(SqliteStoreTest, WriteLockHeldPastBusyTimeoutIsUnavailable) {
  auto store = OpenStore({.busy_timeout = std::chrono::milliseconds{50}});
  ASSERT_TRUE(store);
  RawDb holder(path_);
  holder.Exec("BEGIN IMMEDIATE");
  auto written = store->Record(std::vector<Sample>{At("a", 0, 1)});
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error().code(), ErrorCode::kUnavailable);
  EXPECT_THAT(written.error().message(), HasSubstr("Record"));
  EXPECT_THAT(written.error().message(), HasSubstr("locked"));
  holder.Exec("ROLLBACK");
  EXPECT_TRUE(store->Record(std::vector<Sample>{At("a", 0, 1)}).ok());
}

TEST_F(SqliteStoreTest, RecordOnOneConnectionWhilePruneRunsOnAnotherNeverFails) {
  constexpr int kOldRows = 20000;
  auto pruning = OpenStore({.prune_batch_rows = 500});
  auto recording = OpenStore();
  ASSERT_TRUE(pruning && recording);
  std::vector<Sample> old;
  old.reserve(kOldRows);
  for (int i = 0; i < kOldRows; ++i) {
    old.push_back(At("old-" + std::to_string(i % 100), -1 - i / 100, 1));
  }
  ASSERT_TRUE(pruning->Record(old).ok());

  Result<std::size_t> deleted = std::size_t{0};
  std::thread pruner([&] { deleted = pruning->Prune(Minute(0)); });
  int failures = 0;
  for (int m = 0; m < 200; ++m) {
    std::vector<Sample> tick;
    tick.reserve(50);
    for (int c = 0; c < 50; ++c) tick.push_back(At("live-" + std::to_string(c), m, m + c));
    auto written = recording->Record(tick);
    if (!written.ok()) {
      ++failures;
      ADD_FAILURE() << written.error().ToString();
    }
  }
  pruner.join();
  EXPECT_EQ(failures, 0);
  ASSERT_TRUE(deleted.ok()) << deleted.error().ToString();
  EXPECT_EQ(*deleted, static_cast<std::size_t>(kOldRows));
  EXPECT_EQ(RowCount(), 200 * 50);
}

TEST_F(SqliteStoreTest, OneStoreIsSafeToShareBetweenThreads) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  constexpr int kThreads = 4;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&store, t] {
      for (int m = 0; m < 50; ++m) {
        EXPECT_TRUE(store->Record(std::vector<Sample>{At("t" + std::to_string(t), m, m)}).ok());
        EXPECT_TRUE(store->History("t" + std::to_string(t), Minute(0), Minute(m)).ok());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(RowCount(), 200);
}

TEST(SqliteErrorTest, MapsResultCodesToErrorKinds) {
  const std::filesystem::path path = "/data/h.db";
  const auto busy = sqlite::ErrorFromCode(SQLITE_BUSY, "Record", path, "database is locked");
  EXPECT_EQ(busy.code(), ErrorCode::kUnavailable);
  EXPECT_EQ(busy.message(), "Record on /data/h.db: database is locked (sqlite code 5)");
  EXPECT_EQ(sqlite::ErrorFromCode(SQLITE_LOCKED_SHAREDCACHE, "Window", path, "").code(),
            ErrorCode::kUnavailable);
  EXPECT_EQ(sqlite::ErrorFromCode(SQLITE_BUSY_SNAPSHOT, "Record", path, "").code(),
            ErrorCode::kUnavailable);
  for (int rc : {SQLITE_IOERR, SQLITE_IOERR_WRITE, SQLITE_CORRUPT, SQLITE_FULL, SQLITE_NOTADB,
                 SQLITE_CANTOPEN, SQLITE_READONLY}) {
    EXPECT_EQ(sqlite::ErrorFromCode(rc, "Record", path, "").code(), ErrorCode::kIo) << rc;
  }
  EXPECT_EQ(sqlite::ErrorFromCode(SQLITE_CONSTRAINT_CHECK, "Record", path, "").code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(sqlite::ErrorFromCode(SQLITE_ERROR, "Record", path, "").code(), ErrorCode::kInternal);
  // With no connection message, SQLite's text for the code is used.
  EXPECT_THAT(sqlite::ErrorFromCode(SQLITE_FULL, "Prune", path, "").message(),
              HasSubstr("database or disk is full"));
}

}  // namespace
}  // namespace headcount
