// Tests of LiveState: the latest summaries, offline channels, the last tick.
#include "server/live_state.h"

#include <gtest/gtest.h>

#include <thread>

namespace headcount {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

constexpr WallTime kStart = WallTime{} + hours(24 * 20000);

Summary MakeSummary(const std::string& channel, std::int64_t newest) {
  Summary s;
  s.channel = channel;
  s.at = std::chrono::floor<seconds>(kStart);
  s.counts = {1, 2, 3, 4, newest};
  s.trend = Trend::kRising;
  return s;
}

TickReport MakeReport(std::vector<Summary> summaries) {
  TickReport r;
  r.bucket = std::chrono::floor<seconds>(kStart);
  r.seen = summaries.size();
  r.stored = summaries.size();
  r.published = summaries.size();
  r.duration = std::chrono::milliseconds(12);
  r.summaries = std::move(summaries);
  return r;
}

TEST(LiveStateTest, EmptyBeforeTheFirstTick) {
  FakeClock clock(kStart);
  LiveState state(clock);
  const LiveSnapshot s = state.Snapshot();
  EXPECT_FALSE(s.last_tick.has_value());
  EXPECT_TRUE(s.channels.empty());
  EXPECT_FALSE(state.Knows("demo"));
}

TEST(LiveStateTest, KeepsLatestSummaryAndTickNumbers) {
  FakeClock clock(kStart);
  LiveState state(clock);
  TickReport report = MakeReport({MakeSummary("b", 5), MakeSummary("a", 7)});
  report.skipped.push_back({"c", "publish", "quota"});
  report.failed.push_back({"d", "store", "disk"});
  state.Update(report);

  const LiveSnapshot s = state.Snapshot();
  ASSERT_TRUE(s.last_tick.has_value());
  EXPECT_EQ(s.last_tick->at, kStart);
  EXPECT_EQ(s.last_tick->bucket, report.bucket);
  EXPECT_EQ(s.last_tick->seen, 2u);
  EXPECT_EQ(s.last_tick->skipped, 1u);
  EXPECT_EQ(s.last_tick->failed, 1u);
  EXPECT_EQ(s.last_tick->duration, std::chrono::milliseconds(12));
  EXPECT_FALSE(s.last_tick->ok);
  ASSERT_EQ(s.channels.size(), 2u);
  EXPECT_EQ(s.channels[0].summary.channel, "a");  // sorted by id
  EXPECT_EQ(s.channels[0].summary, MakeSummary("a", 7));
  EXPECT_TRUE(s.channels[0].live);
  EXPECT_EQ(s.channels[0].updated, kStart);
  EXPECT_TRUE(state.Knows("a"));
  EXPECT_TRUE(state.Knows("b"));
  EXPECT_FALSE(state.Knows("c"));
}

TEST(LiveStateTest, ChannelsMissingFromATickStayButGoOffline) {
  FakeClock clock(kStart);
  LiveState state(clock);
  state.Update(MakeReport({MakeSummary("a", 7), MakeSummary("b", 5)}));
  clock.Advance(minutes(1));
  state.Update(MakeReport({MakeSummary("b", 6)}));

  const LiveSnapshot s = state.Snapshot();
  ASSERT_EQ(s.channels.size(), 2u);
  EXPECT_EQ(s.channels[0].summary.channel, "a");
  EXPECT_FALSE(s.channels[0].live);
  EXPECT_EQ(s.channels[0].summary.counts.back(), 7);  // its last summary, unchanged
  EXPECT_EQ(s.channels[0].updated, kStart);
  EXPECT_TRUE(s.channels[1].live);
  EXPECT_EQ(s.channels[1].summary.counts.back(), 6);
  EXPECT_EQ(s.channels[1].updated, kStart + minutes(1));
  EXPECT_EQ(s.last_tick->at, kStart + minutes(1));

  // Back again: live.
  clock.Advance(minutes(1));
  state.Update(MakeReport({MakeSummary("a", 9)}));
  EXPECT_TRUE(state.Snapshot().channels[0].live);
  EXPECT_FALSE(state.Snapshot().channels[1].live);
}

TEST(LiveStateTest, ForgetsChannelsOfflineLongerThanTheRetention) {
  FakeClock clock(kStart);
  LiveState state(clock);
  state.Update(MakeReport({MakeSummary("a", 7)}));
  clock.Advance(LiveState::kOfflineRetention + minutes(1));
  state.Update(MakeReport({}));
  EXPECT_TRUE(state.Snapshot().channels.empty());
  EXPECT_FALSE(state.Knows("a"));
}

TEST(LiveStateTest, ConcurrentUpdatesAndSnapshots) {
  FakeClock clock(kStart);
  LiveState state(clock);
  std::thread writer([&] {
    for (int i = 0; i < 500; ++i) state.Update(MakeReport({MakeSummary("a", i)}));
  });
  for (int i = 0; i < 500; ++i) {
    const LiveSnapshot s = state.Snapshot();
    EXPECT_LE(s.channels.size(), 1u);
  }
  writer.join();
  EXPECT_EQ(state.Snapshot().channels.at(0).summary.counts.back(), 499);
}

}  // namespace
}  // namespace headcount
