#include "heartbeat/combined_source.h"

#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "core/testing/fakes.h"
#include "core/time_text.h"

namespace headcount {
namespace {

using std::chrono::seconds;

const WallTime kCombinedT0 = *ParseRfc3339("2026-12-07T13:00:00Z");

// Makes counted heartbeat viewers: for each channel, that many tokens
// heartbeat twice, 10 s apart.
void AddBeatingViewers(HeartbeatViewers& v, const std::map<std::string, int>& viewers) {
  std::vector<std::pair<std::string, std::string>> tokens;  // channel, token
  for (const auto& [channel, n] : viewers) {
    for (int i = 0; i < n; ++i) tokens.emplace_back(channel, *v.Mint(channel, kCombinedT0));
  }
  for (const seconds at : {seconds(0), seconds(10)}) {
    for (const auto& [channel, token] : tokens) {
      ASSERT_EQ(v.Beat(channel, token, "", kCombinedT0 + at), BeatResult::kAccepted);
    }
  }
}

TEST(CombinedSourceTest, EachLiveChannelCountsTheLargerOfSessionsAndHeartbeats) {
  testing::ScriptedSource origin;
  origin.readings = {{"a", 5}, {"b", 1}, {"c", 0}};
  HeartbeatViewers heartbeats(HeartbeatOptions{.key = "k"});
  // "offline" is not live: its viewers count nothing.
  AddBeatingViewers(heartbeats, {{"a", 2}, {"b", 4}, {"offline", 3}});
  CombinedSource source(origin, heartbeats);
  const FakeClock clock(kCombinedT0);
  auto readings = source.Poll(kCombinedT0 + seconds(10), Deadline(clock, std::nullopt));
  ASSERT_TRUE(readings.ok());
  ASSERT_EQ(readings->size(), 3U);
  EXPECT_EQ((*readings)[0].viewers, 5);  // the same viewers, seen twice: not 7
  EXPECT_EQ((*readings)[1].viewers, 4);
  EXPECT_EQ((*readings)[2].viewers, 0);
}

TEST(CombinedSourceTest, AnOriginErrorIsTheTicksError) {
  testing::ScriptedSource origin;
  origin.error = Error::Io("cannot list");
  HeartbeatViewers heartbeats;
  CombinedSource source(origin, heartbeats);
  const FakeClock clock(kCombinedT0);
  EXPECT_FALSE(source.Poll(kCombinedT0, Deadline(clock, std::nullopt)).ok());
}

}  // namespace
}  // namespace headcount
