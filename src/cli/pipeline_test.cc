// Tests of the pipeline shared by `headcount serve`, `tick` and `lambda`:
// a tick bounds the store by its deadline only while it runs, and the
// SQLite pipeline's store and history are one database.
#include "cli/pipeline.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <vector>

#include "core/testing/fakes.h"
#include "core/time_text.h"

namespace headcount {
namespace {

// A Pipeline over the core fakes that records every SetDeadline.
class FakePipeline final : public Pipeline {
 public:
  Source* source() override { return &source_; }
  Publisher* publisher() override { return &publisher_; }
  ChannelDirectory* directory() override { return nullptr; }
  Store& store() override { return store_; }
  HistoryReader& history() override { return store_; }
  DistinctStore* distinct() override { return nullptr; }
  void SetDeadline(std::optional<WallTime> deadline) override { deadlines.push_back(deadline); }

  std::vector<std::optional<WallTime>> deadlines;

 private:
  testing::ScriptedSource source_;
  testing::MemoryStore store_;
  testing::RecordingPublisher publisher_;
};

// A Source that remembers the store's deadline while the tick polls it.
class DeadlineProbe final : public Source {
 public:
  explicit DeadlineProbe(const FakePipeline& pipeline) : pipeline_(pipeline) {}
  Result<std::vector<ChannelReading>> Poll(WallTime /*now*/, const Deadline& deadline) override {
    tick_deadline = deadline.at();
    store_deadline_during_poll =
        pipeline_.deadlines.empty() ? std::nullopt : pipeline_.deadlines.back();
    return std::vector<ChannelReading>{{"demo", 5}};
  }

  std::optional<WallTime> tick_deadline;
  std::optional<WallTime> store_deadline_during_poll;

 private:
  const FakePipeline& pipeline_;
};

TEST(RunPipelineTick, BoundsTheStoreByTheDeadlineOnlyWhileTheTickRuns) {
  const WallTime now = *ParseRfc3339("2026-11-25T12:03:00Z");
  const WallTime deadline = now + std::chrono::seconds{54};
  FakeClock clock(now);
  FakePipeline pipeline;
  DeadlineProbe source(pipeline);
  TickRunner runner(source, pipeline.store(), *pipeline.publisher(), clock);

  const TickReport report =
      RunPipelineTick(pipeline, runner, now, deadline, std::chrono::seconds{60});
  EXPECT_TRUE(report.ok());
  EXPECT_EQ(report.stored, 1u);
  EXPECT_EQ(source.tick_deadline, deadline);
  EXPECT_EQ(source.store_deadline_during_poll, deadline);
  // Lifted afterwards: a history read between ticks must not inherit a
  // deadline that has passed.
  ASSERT_EQ(pipeline.deadlines.size(), 2u);
  EXPECT_EQ(pipeline.deadlines.back(), std::nullopt);
}

TEST(MakePipeline, SqliteStoreAndHistoryAreOneDatabase) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("headcount_pipeline_test_" +
                    std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
  std::filesystem::create_directories(dir);
  Config config;
  config.store = StoreKind::kSqlite;
  config.database = dir / "headcount.db";
  FakeClock clock(*ParseRfc3339("2026-11-25T12:03:00Z"));
  {
    auto pipeline = MakePipeline(config, clock, /*with_source=*/true, /*read_only_store=*/false);
    ASSERT_TRUE(pipeline.ok()) << pipeline.error().ToString();
    // tick.source = origin: the origin is built by serve, not here.
    EXPECT_EQ((*pipeline)->source(), nullptr);
    EXPECT_EQ((*pipeline)->publisher(), nullptr);
    const Seconds bucket = std::chrono::floor<std::chrono::seconds>(clock.Now());
    const std::vector<Sample> samples = {{"arn:aws:ivs:us-west-2:1:channel/abc", bucket, 7}};
    auto stored = (*pipeline)->store().Record(samples);
    ASSERT_TRUE(stored.ok());
    auto read = (*pipeline)->history().History(samples[0].channel, bucket, bucket);
    ASSERT_TRUE(read.ok());
    EXPECT_EQ(*read, samples);
  }
  std::filesystem::remove_all(dir);
}

TEST(MakePipeline, AnUnopenableDatabaseNamesTheSetting) {
  Config config;
  config.store = StoreKind::kSqlite;
  config.database = "/nonexistent-headcount-dir/sub/headcount.db";
  FakeClock clock(*ParseRfc3339("2026-11-25T12:03:00Z"));
  auto pipeline = MakePipeline(config, clock, /*with_source=*/false, /*read_only_store=*/false);
  ASSERT_FALSE(pipeline.ok());
  EXPECT_EQ(pipeline.error().message().rfind("store.database: ", 0), 0u)
      << pipeline.error().message();
}

}  // namespace
}  // namespace headcount
