// Tests of the PostgreSQL store against a real PostgreSQL server the suite
// starts (testing/postgres_server.h), each test in a database of its own,
// checked through the server as a user would with psql. A machine without
// PostgreSQL fails these tests; they never skip.
#include "store/postgres/postgres_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "store/postgres/testing/postgres_fixture.h"
#include "store/sqlite/pruner.h"

namespace headcount {
namespace {

using postgres::testing::kPgBaseEpoch;
using postgres::testing::kTestPassword;
using postgres::testing::PgAt;
using postgres::testing::PgMinute;
using postgres::testing::PostgresStoreTest;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

TEST_F(PostgresStoreTest, RecordThenWindowAndHistoryReadItBack) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  const std::vector<Sample> samples = {PgAt("a", 0, 3), PgAt("b", 0, 7), PgAt("a", 1, 4),
                                       PgAt("a", 2, 5), PgAt("b", 2, 9)};
  auto written = store->Record(samples);
  ASSERT_TRUE(written.ok()) << written.error().ToString();
  EXPECT_EQ(*written, 5u);

  // Grouped by channel in the order asked, oldest first; a repeat counts once.
  const std::vector<ChannelId> channels = {"b", "a", "b", "none"};
  auto window = store->Window(channels, PgMinute(1), PgMinute(2));
  ASSERT_TRUE(window.ok()) << window.error().ToString();
  EXPECT_THAT(*window, ElementsAre(PgAt("b", 2, 9), PgAt("a", 1, 4), PgAt("a", 2, 5)));

  auto history = store->History("a", PgMinute(0), PgMinute(10));
  ASSERT_TRUE(history.ok()) << history.error().ToString();
  EXPECT_THAT(*history, ElementsAre(PgAt("a", 0, 3), PgAt("a", 1, 4), PgAt("a", 2, 5)));
  EXPECT_TRUE(*store->HasChannel("b"));
  EXPECT_FALSE(*store->HasChannel("none"));

  // The schema as an operator sees it: the bucket is a timestamp, version 2.
  EXPECT_EQ(Sql("SELECT count(*) FROM headcount_samples"), "5");
  EXPECT_EQ(Sql("SELECT bucket AT TIME ZONE 'UTC' FROM headcount_samples "
                "WHERE channel = 'a' ORDER BY bucket LIMIT 1"),
            "2026-11-25 12:00:00");
  EXPECT_EQ(Sql("SELECT max(version) FROM headcount_schema"), "2");
}

TEST_F(PostgresStoreTest, ABucketRecordedTwiceIsStoredOnceWithTheLastCount) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Record(std::vector<Sample>{PgAt("a", 0, 3), PgAt("b", 0, 1)}).ok());
  // A re-run tick for the same bucket, and a batch naming one key twice.
  auto again =
      store->Record(std::vector<Sample>{PgAt("a", 0, 8), PgAt("b", 0, 2), PgAt("b", 0, 6)});
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  EXPECT_EQ(*again, 2u);
  EXPECT_EQ(Sql("SELECT count(*) FROM headcount_samples"), "2");
  EXPECT_THAT(*store->History("a", PgMinute(0), PgMinute(0)), ElementsAre(PgAt("a", 0, 8)));
  EXPECT_THAT(*store->History("b", PgMinute(0), PgMinute(0)), ElementsAre(PgAt("b", 0, 6)));
}

TEST_F(PostgresStoreTest, ABatchLargerThanOneStatementIsStoredWhole) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  std::vector<Sample> samples;
  for (std::size_t i = 0; i < kPostgresRecordChunk * 2 + 1; ++i) {
    // Channel ids as IVS ARNs, with ':' and '/' in them.
    samples.push_back(PgAt("arn:aws:ivs:us-west-2:123456789012:channel/c" + std::to_string(i), 0,
                           static_cast<std::int64_t>(i)));
  }
  auto written = store->Record(samples);
  ASSERT_TRUE(written.ok()) << written.error().ToString();
  EXPECT_EQ(*written, samples.size());
  EXPECT_EQ(Sql("SELECT count(*) FROM headcount_samples"), std::to_string(samples.size()));
  std::vector<ChannelId> channels;
  for (const Sample& s : samples) channels.push_back(s.channel);
  auto window = store->Window(channels, PgMinute(0), PgMinute(0));
  ASSERT_TRUE(window.ok());
  EXPECT_EQ(*window, samples);
}

TEST_F(PostgresStoreTest, BoundsAreInclusiveAndEmptyCallsSendNothing) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(*store->Record(std::vector<Sample>{}), 0u);
  ASSERT_TRUE(
      store->Record(std::vector<Sample>{PgAt("a", 0, 1), PgAt("a", 1, 2), PgAt("a", 2, 3)}).ok());
  const std::vector<ChannelId> a = {"a"};
  EXPECT_THAT(*store->Window(a, PgMinute(1), PgMinute(1)), ElementsAre(PgAt("a", 1, 2)));
  EXPECT_THAT(*store->Window(a, PgMinute(2), PgMinute(1)), ::testing::IsEmpty());
  EXPECT_THAT(*store->Window(std::vector<ChannelId>{}, PgMinute(0), PgMinute(9)),
              ::testing::IsEmpty());
  EXPECT_THAT(*store->History("a", PgMinute(1), PgMinute(2)),
              ElementsAre(PgAt("a", 1, 2), PgAt("a", 2, 3)));
  EXPECT_THAT(*store->History("a", PgMinute(3), PgMinute(0)), ::testing::IsEmpty());
  // Ids with the characters an array literal must escape travel unchanged.
  const Sample odd{"we\\ird\"{},id", PgMinute(0), 4};
  ASSERT_TRUE(store->Record(std::vector<Sample>{odd}).ok());
  EXPECT_THAT(*store->Window(std::vector<ChannelId>{odd.channel}, PgMinute(0), PgMinute(0)),
              ElementsAre(odd));
}

TEST_F(PostgresStoreTest, OneStoreIsSafeToShareBetweenThreads) {
  PostgresStoreOptions options;
  options.pool_size = 2;  // fewer connections than threads: callers wait their turn
  auto store = OpenStore(options);
  ASSERT_NE(store, nullptr);
  constexpr int kThreads = 6;
  constexpr int kRounds = 20;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string channel = "c" + std::to_string(t);
      for (int i = 0; i < kRounds; ++i) {
        if (!store->Record(std::vector<Sample>{PgAt(channel, i, i)}).ok()) ++failures;
        auto history = store->History(channel, PgMinute(0), PgMinute(i));
        if (!history.ok() || history->size() != static_cast<std::size_t>(i) + 1) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Sql("SELECT count(*) FROM headcount_samples"), std::to_string(kThreads * kRounds));
}

TEST_F(PostgresStoreTest, TwoNodesWritingTheSameBucketsAtOnceNeitherFailsNorDuplicates) {
  // Two nodes (two stores), each writing every channel's bucket, in opposite
  // orders (each node's source lists channels its own way), many times.
  auto first = OpenStore();
  auto second = OpenStore();
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  std::vector<Sample> forward;
  for (int c = 0; c < 300; ++c) forward.push_back(PgAt("ch" + std::to_string(c), 0, c));
  const std::vector<Sample> backward(forward.rbegin(), forward.rend());
  std::atomic<int> failures{0};
  std::string error;
  std::mutex error_mu;
  const auto writer = [&](PostgresStore& store, const std::vector<Sample>& batch) {
    for (int round = 0; round < 15; ++round) {
      auto written = store.Record(batch);
      if (!written.ok()) {
        ++failures;
        std::lock_guard lock(error_mu);
        error = written.error().ToString();
      }
    }
  };
  std::thread a(writer, std::ref(*first), std::cref(forward));
  std::thread b(writer, std::ref(*second), std::cref(backward));
  a.join();
  b.join();
  EXPECT_EQ(failures.load(), 0) << error;
  EXPECT_EQ(Sql("SELECT count(*) FROM headcount_samples"), "300");
}

TEST_F(PostgresStoreTest, NodesStartingTogetherCreateTheSchemaOnce) {
  constexpr int kNodes = 4;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int n = 0; n < kNodes; ++n) {
    threads.emplace_back([&] {
      PostgresStoreOptions options;
      options.url = url_;
      if (!PostgresStore::Open(options).ok()) ++failures;
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Sql("SELECT count(*) FROM headcount_schema"), "2") << "one row per migration";
}

TEST_F(PostgresStoreTest, NegativeViewersFailTheWholeBatch) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  auto written = store->Record(std::vector<Sample>{PgAt("a", 0, 3), PgAt("b", 0, -1)});
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(Sql("SELECT count(*) FROM headcount_samples"), "0");
}

TEST_F(PostgresStoreTest, PruneDeletesOnlyOlderSamplesInBatches) {
  PostgresStoreOptions options;
  options.prune_batch_rows = 2;
  auto store = OpenStore(options);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store
                  ->Record(std::vector<Sample>{PgAt("a", 0, 1), PgAt("b", 0, 1), PgAt("a", 1, 1),
                                               PgAt("b", 1, 1), PgAt("a", 2, 1), PgAt("a", 3, 1)})
                  .ok());
  auto deleted = store->Prune(PgMinute(2));
  ASSERT_TRUE(deleted.ok()) << deleted.error().ToString();
  EXPECT_EQ(*deleted, 4u);  // two full batches, then an empty one
  EXPECT_THAT(*store->History("a", PgMinute(0), PgMinute(9)),
              ElementsAre(PgAt("a", 2, 1), PgAt("a", 3, 1)));
  EXPECT_FALSE(*store->HasChannel("b"));
}

TEST_F(PostgresStoreTest, ThePrunerKeepsOnlyTheRetentionAsServeRunsIt) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store
                  ->Record(std::vector<Sample>{PgAt("a", 0, 1), PgAt("a", 30, 1), PgAt("a", 59, 1),
                                               PgAt("a", 60, 1), PgAt("b", 61, 1)})
                  .ok());
  // Now is minute 90; keeping 30 minutes deletes everything before minute 60.
  FakeClock clock(PgMinute(90));
  std::shared_ptr<PostgresStore> shared = std::move(store);
  auto pruner = Pruner::StartWith(
      "test database",
      [shared](Seconds before, const std::stop_token& stop) { return shared->Prune(before, stop); },
      clock, {.retention = std::chrono::minutes{30}, .interval = std::chrono::hours{1}});
  ASSERT_TRUE(pruner.ok()) << pruner.error().ToString();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
  while ((*pruner)->passes() < 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
  (*pruner)->Stop();
  EXPECT_EQ((*pruner)->rows_deleted(), 3u);
  EXPECT_EQ(Sql("SELECT string_agg(channel || extract(epoch FROM bucket)::bigint, ',' "
                "ORDER BY bucket) FROM headcount_samples"),
            "a" + std::to_string(kPgBaseEpoch + 3600) + ",b" + std::to_string(kPgBaseEpoch + 3660));
}

TEST_F(PostgresStoreTest, SchemaIsCreatedOnceAndAReopenKeepsTheSamples) {
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->Record(std::vector<Sample>{PgAt("a", 0, 3)}).ok());
  }
  auto again = OpenStore();
  ASSERT_NE(again, nullptr);
  EXPECT_THAT(*again->History("a", PgMinute(0), PgMinute(0)), ElementsAre(PgAt("a", 0, 3)));
  EXPECT_EQ(Sql("SELECT count(*) FROM headcount_schema"), "2") << "one row per migration";

  PostgresStoreOptions read_only;
  read_only.read_only = true;
  auto reader = OpenStore(read_only);
  ASSERT_NE(reader, nullptr);
  EXPECT_THAT(*reader->History("a", PgMinute(0), PgMinute(0)), ElementsAre(PgAt("a", 0, 3)));
  auto refused = reader->Record(std::vector<Sample>{PgAt("a", 1, 1)});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), ErrorCode::kInvalidArgument);
}

TEST_F(PostgresStoreTest, ANewerSchemaOrAnEmptyDatabaseReadOnlyIsRefused) {
  PostgresStoreOptions read_only;
  read_only.read_only = true;
  read_only.url = url_;
  auto empty = PostgresStore::Open(read_only);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(empty.error().message(), HasSubstr("schema version 0"));

  ASSERT_NE(OpenStore(), nullptr);
  Sql("INSERT INTO headcount_schema (version) VALUES (3)");
  PostgresStoreOptions options;
  options.url = url_;
  auto newer = PostgresStore::Open(options);
  ASSERT_FALSE(newer.ok());
  EXPECT_EQ(newer.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(newer.error().message(), HasSubstr("newer than this headcount supports"));
  EXPECT_THAT(newer.error().message(), Not(HasSubstr(kTestPassword)));
}

TEST_F(PostgresStoreTest, AServerRestartFailsOneCallAndTheNextWorks) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Record(std::vector<Sample>{PgAt("a", 0, 1)}).ok());

  shared_server->Stop();
  // The tick while the server is down: a clear failure, no crash.
  auto down = store->Record(std::vector<Sample>{PgAt("a", 1, 2)});
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.error().code(), ErrorCode::kUnavailable);
  EXPECT_THAT(down.error().message(), Not(HasSubstr(kTestPassword)));
  EXPECT_FALSE(store->History("a", PgMinute(0), PgMinute(9)).ok());

  ASSERT_TRUE(shared_server->Start().ok()) << shared_server->Log();
  // The next tick: pooled connections from before the restart are broken;
  // the store replaces them and the call succeeds.
  auto up = store->Record(std::vector<Sample>{PgAt("a", 2, 3)});
  ASSERT_TRUE(up.ok()) << up.error().ToString();
  EXPECT_THAT(*store->History("a", PgMinute(0), PgMinute(9)),
              ElementsAre(PgAt("a", 0, 1), PgAt("a", 2, 3)));
}

TEST_F(PostgresStoreTest, ARestartWithIdleConnectionsIsInvisibleToTheNextCall) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Record(std::vector<Sample>{PgAt("a", 0, 1)}).ok());
  shared_server->Stop();
  ASSERT_TRUE(shared_server->Start().ok()) << shared_server->Log();
  // The idle connection died with the old server; one retry on a new one.
  auto history = store->History("a", PgMinute(0), PgMinute(0));
  ASSERT_TRUE(history.ok()) << history.error().ToString();
  EXPECT_THAT(*history, ElementsAre(PgAt("a", 0, 1)));
}

TEST_F(PostgresStoreTest, AWrongPasswordIsAClearErrorWithoutThePassword) {
  PostgresStoreOptions options;
  options.url = shared_server->Url(database_, "not-the-password-42");
  auto store = PostgresStore::Open(options);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code(), ErrorCode::kRejected);
  EXPECT_THAT(store.error().message(), HasSubstr("password authentication failed"));
  EXPECT_THAT(store.error().message(), Not(HasSubstr("not-the-password-42")));
}

TEST_F(PostgresStoreTest, ThePasswordMayComeFromPgpasswordInsteadOfTheUri) {
  PostgresStoreOptions options;
  options.url = "postgresql://" + std::string(postgres::testing::kTestUser) +
                "@127.0.0.1:" + std::to_string(shared_server->port()) + "/" + database_;
  // libpq reads it when the URI has none (as it reads ~/.pgpass). The test
  // runs on one thread here.
  ::setenv("PGPASSWORD", std::string(kTestPassword).c_str(), 1);  // NOLINT(concurrency-mt-unsafe)
  auto store = PostgresStore::Open(options);
  ::unsetenv("PGPASSWORD");  // NOLINT(concurrency-mt-unsafe)
  ASSERT_TRUE(store.ok()) << store.error().ToString();
  EXPECT_TRUE((*store)->Record(std::vector<Sample>{PgAt("a", 0, 1)}).ok());
  EXPECT_EQ((*store)->redacted_url(), options.url);  // nothing to redact
}

TEST_F(PostgresStoreTest, AnUnreachableServerIsUnavailableWithinTheConnectTimeout) {
  PostgresStoreOptions options;
  // A port nothing listens on (the server's, while it is stopped).
  shared_server->Stop();
  options.url = url_;
  options.connect_timeout = std::chrono::seconds{2};
  auto store = PostgresStore::Open(options);
  ASSERT_TRUE(shared_server->Start().ok()) << shared_server->Log();
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code(), ErrorCode::kUnavailable);
  EXPECT_THAT(store.error().message(), HasSubstr("cannot reach the server"));
  EXPECT_THAT(store.error().message(), Not(HasSubstr(kTestPassword)));
}

TEST_F(PostgresStoreTest, AStatementOverTheTimeoutIsCancelled) {
  PostgresStoreOptions options;
  options.statement_timeout = std::chrono::milliseconds{200};
  auto store = OpenStore(options);
  ASSERT_NE(store, nullptr);
  std::thread holder = HoldTableLock();
  auto written = store->Record(std::vector<Sample>{PgAt("a", 0, 1)});
  holder.join();
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error().code(), ErrorCode::kDeadlineExceeded);
  EXPECT_THAT(written.error().message(), HasSubstr("statement timeout"));
}

TEST_F(PostgresStoreTest, ACallEndsByTheCallersDeadline) {
  std::chrono::milliseconds left{0};
  PostgresStoreOptions options;  // statement_timeout: the default 10 s
  options.time_left = [&left]() -> std::optional<std::chrono::milliseconds> { return left; };
  auto store = OpenStore(options);
  ASSERT_NE(store, nullptr);
  // No time left: nothing is sent.
  auto late = store->Record(std::vector<Sample>{PgAt("a", 0, 1)});
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code(), ErrorCode::kDeadlineExceeded);
  EXPECT_EQ(Sql("SELECT count(*) FROM headcount_samples"), "0");

  // 300 ms left, and a lock that would hold the write for 2 s: the server
  // cancels it at the deadline, long before its own 10 s timeout.
  left = std::chrono::milliseconds{300};
  std::thread holder = HoldTableLock();
  const auto start = std::chrono::steady_clock::now();
  auto written = store->Record(std::vector<Sample>{PgAt("a", 0, 1)});
  const auto took = std::chrono::steady_clock::now() - start;
  holder.join();
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error().code(), ErrorCode::kDeadlineExceeded);
  EXPECT_LT(took, std::chrono::milliseconds{1900});  // did not wait for the lock

  // Time enough: as without a deadline.
  left = std::chrono::minutes{1};
  EXPECT_TRUE(store->Record(std::vector<Sample>{PgAt("a", 0, 1)}).ok());
}

}  // namespace
}  // namespace headcount
