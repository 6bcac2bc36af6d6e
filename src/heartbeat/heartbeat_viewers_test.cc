#include "heartbeat/heartbeat_viewers.h"

#include <gtest/gtest.h>

#include <vector>

#include "core/time_text.h"
#include "origin/testing/recording_sink.h"

namespace headcount {
namespace {

using std::chrono::seconds;

const WallTime kHeartbeatT0 = *ParseRfc3339("2026-12-07T12:00:00Z");

HeartbeatOptions HeartbeatTestOptions(std::size_t per_client = 0) {
  HeartbeatOptions o;
  o.key = std::string(32, 'k');
  o.max_viewers_per_client = per_client;
  return o;
}

std::map<ChannelId, std::int64_t> HeartbeatCounts(
    std::initializer_list<std::pair<const ChannelId, std::int64_t>> c) {
  return c;
}

TEST(HeartbeatViewersTest, CountsFromTheSecondHeartbeatUntilExpiry) {
  HeartbeatViewers v(HeartbeatTestOptions());
  const std::string token = *v.Mint("live", kHeartbeatT0);
  EXPECT_EQ(token.size(), kTokenChars);
  EXPECT_EQ(v.Beat("live", token, "10.0.0.1", kHeartbeatT0), BeatResult::kAccepted);
  EXPECT_TRUE(v.CountActive(kHeartbeatT0).empty());  // a one-shot probe never counts
  EXPECT_EQ(v.Beat("live", token, "10.0.0.1", kHeartbeatT0 + seconds(10)), BeatResult::kAccepted);
  EXPECT_EQ(v.CountActive(kHeartbeatT0 + seconds(10)), HeartbeatCounts({{"live", 1}}));
  EXPECT_EQ(v.ActiveTotal(kHeartbeatT0 + seconds(10)), 1);
  // Counted until expires_s without a heartbeat, then gone.
  EXPECT_EQ(v.CountActive(kHeartbeatT0 + seconds(39)), HeartbeatCounts({{"live", 1}}));
  EXPECT_TRUE(v.CountActive(kHeartbeatT0 + seconds(40)).empty());
  // Its record is gone and the token is older than expires_s: refused.
  EXPECT_EQ(v.Beat("live", token, "10.0.0.1", kHeartbeatT0 + seconds(41)), BeatResult::kExpired);
}

TEST(HeartbeatViewersTest, HeartbeatsFasterThanHalfTheIntervalAreIgnored) {
  HeartbeatViewers v(HeartbeatTestOptions());
  const std::string token = *v.Mint("live", kHeartbeatT0);
  ASSERT_EQ(v.Beat("live", token, "a", kHeartbeatT0), BeatResult::kAccepted);
  // A burst right after the first does not make it a viewer.
  for (int i = 1; i < 5; ++i) {
    EXPECT_EQ(v.Beat("live", token, "a", kHeartbeatT0 + seconds(i)), BeatResult::kTooSoon);
  }
  EXPECT_TRUE(v.CountActive(kHeartbeatT0 + seconds(4)).empty());
  EXPECT_EQ(v.Beat("live", token, "a", kHeartbeatT0 + seconds(5)), BeatResult::kAccepted);
  EXPECT_EQ(v.CountActive(kHeartbeatT0 + seconds(5)), HeartbeatCounts({{"live", 1}}));
  // Ignored beats do not refresh it either: 30 s after the last taken, gone.
  EXPECT_EQ(v.Beat("live", token, "a", kHeartbeatT0 + seconds(9)), BeatResult::kTooSoon);
  EXPECT_TRUE(v.CountActive(kHeartbeatT0 + seconds(35)).empty());
}

TEST(HeartbeatViewersTest, ForgedAndOtherChannelsTokensCountNothing) {
  HeartbeatViewers v(HeartbeatTestOptions());
  HeartbeatOptions other_key = HeartbeatTestOptions();
  other_key.key = std::string(32, 'x');
  HeartbeatViewers other(other_key);
  const std::string token = *v.Mint("live", kHeartbeatT0);
  EXPECT_EQ(v.Beat("other", token, "a", kHeartbeatT0), BeatResult::kInvalid);
  EXPECT_EQ(v.Beat("live", *other.Mint("live", kHeartbeatT0), "a", kHeartbeatT0),
            BeatResult::kInvalid);
  std::string flipped = token;
  flipped[20] = flipped[20] == 'A' ? 'B' : 'A';
  EXPECT_EQ(v.Beat("live", flipped, "a", kHeartbeatT0), BeatResult::kInvalid);
  EXPECT_EQ(v.Beat("live", "", "a", kHeartbeatT0), BeatResult::kInvalid);
  EXPECT_EQ(v.Beat("live", std::string(kTokenChars, '!'), "a", kHeartbeatT0), BeatResult::kInvalid);
  // A token made by another process with the same key is valid (restarts).
  HeartbeatViewers same_key(HeartbeatTestOptions());
  EXPECT_EQ(same_key.Beat("live", token, "a", kHeartbeatT0), BeatResult::kAccepted);
}

TEST(HeartbeatViewersTest, LeftRemovesAtOnce) {
  HeartbeatViewers v(HeartbeatTestOptions());
  const std::string token = *v.Mint("live", kHeartbeatT0);
  ASSERT_EQ(v.Beat("live", token, "a", kHeartbeatT0), BeatResult::kAccepted);
  ASSERT_EQ(v.Beat("live", token, "a", kHeartbeatT0 + seconds(10)), BeatResult::kAccepted);
  ASSERT_EQ(v.CountActive(kHeartbeatT0 + seconds(10)), HeartbeatCounts({{"live", 1}}));
  EXPECT_EQ(v.Beat("live", token, "a", kHeartbeatT0 + seconds(11), /*left=*/true),
            BeatResult::kLeft);
  EXPECT_TRUE(v.CountActive(kHeartbeatT0 + seconds(11)).empty());
}

TEST(HeartbeatViewersTest, OneAddressStopsAtItsCap) {
  HeartbeatViewers v(HeartbeatTestOptions(/*per_client=*/3));
  std::vector<std::string> tokens;
  for (int i = 0; i < 5; ++i) tokens.push_back(*v.Mint("live", kHeartbeatT0));
  for (int second = 0; second <= 10; second += 10) {
    for (int i = 0; i < 5; ++i) {
      const BeatResult r = v.Beat("live", tokens[i], "10.0.0.1", kHeartbeatT0 + seconds(second));
      EXPECT_EQ(r, i < 3 ? BeatResult::kAccepted : BeatResult::kClientAtCap) << i;
    }
  }
  EXPECT_EQ(v.CountActive(kHeartbeatT0 + seconds(10)), HeartbeatCounts({{"live", 3}}));
  // Another address is not held to this one's cap.
  const std::string token = *v.Mint("live", kHeartbeatT0);
  EXPECT_EQ(v.Beat("live", token, "10.0.0.2", kHeartbeatT0), BeatResult::kAccepted);
}

// CMCD sids (issue #22): the counting rule, with the server's clock.
TEST(HeartbeatViewersCmcdTest, ASidCountsFromItsSecondReportWhileWatching) {
  HeartbeatViewers v(HeartbeatTestOptions());
  constexpr auto kPlaying = CmcdPlayState::kWatching;
  EXPECT_EQ(v.Report("live", "sid-1", "a", kHeartbeatT0, kPlaying), ReportResult::kAccepted);
  EXPECT_TRUE(v.CountActive(kHeartbeatT0).empty());  // one report never counts
  EXPECT_EQ(v.Report("live", "sid-1", "a", kHeartbeatT0 + seconds(1), kPlaying),
            ReportResult::kAccepted);
  EXPECT_EQ(v.CountActive(kHeartbeatT0 + seconds(1)), HeartbeatCounts({{"live", 1}}));
  EXPECT_EQ(v.CountSids(kHeartbeatT0 + seconds(1)), HeartbeatCounts({{"live", 1}}));
  EXPECT_EQ(v.ActiveTotal(kHeartbeatT0 + seconds(1)), 1);
  // A report without sta (hls.js's first e=t) keeps the state as it was.
  EXPECT_EQ(v.Report("live", "sid-1", "a", kHeartbeatT0 + seconds(2), CmcdPlayState::kUnsaid),
            ReportResult::kAccepted);
  EXPECT_EQ(v.CountActive(kHeartbeatT0 + seconds(2)), HeartbeatCounts({{"live", 1}}));
  // The same sid on another channel is another viewer.
  EXPECT_EQ(v.Report("other", "sid-1", "a", kHeartbeatT0 + seconds(2), kPlaying),
            ReportResult::kAccepted);
  EXPECT_EQ(v.CountActive(kHeartbeatT0 + seconds(2)), HeartbeatCounts({{"live", 1}}));
}

// What a cluster shares: tokens and sids while counted, and their leaving.
TEST(HeartbeatViewersTest, TheSinkHearsOfCountedViewersAndOfThoseWhoLeave) {
  testing::RecordingSink sink;
  HeartbeatOptions options = HeartbeatTestOptions();
  options.sink = &sink;
  HeartbeatViewers v(options);
  const std::string token = *v.Mint("live", kHeartbeatT0);
  v.Beat("live", token, "a", kHeartbeatT0);  // a probe: not counted, not told
  EXPECT_TRUE(sink.calls().empty());
  v.Beat("live", token, "a", kHeartbeatT0 + seconds(10));
  v.Beat("live", token, "a", kHeartbeatT0 + seconds(11));  // too soon: nothing
  v.Beat("live", token, "a", kHeartbeatT0 + seconds(20), /*left=*/true);
  auto calls = sink.calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_TRUE(calls[0].seen);
  EXPECT_EQ(calls[0].kind, ViewerSink::Kind::kToken);
  EXPECT_EQ(calls[0].at, kHeartbeatT0 + seconds(10));
  EXPECT_FALSE(calls[1].seen);
  EXPECT_EQ(calls[1].key, calls[0].key);

  sink.clear();
  v.Report("live", "sid", "a", kHeartbeatT0, CmcdPlayState::kWatching);  // first: not counted
  v.Report("live", "sid", "a", kHeartbeatT0 + seconds(1), CmcdPlayState::kWatching);
  v.Report("live", "sid", "a", kHeartbeatT0 + seconds(2), CmcdPlayState::kNotWatching);
  v.Report("live", "sid", "a", kHeartbeatT0 + seconds(3), CmcdPlayState::kUnsaid);  // still paused
  calls = sink.calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_TRUE(calls[0].seen);
  EXPECT_EQ(calls[0].kind, ViewerSink::Kind::kSid);
  EXPECT_FALSE(calls[1].seen);
  EXPECT_EQ(calls[1].kind, ViewerSink::Kind::kSid);
}

TEST(HeartbeatViewersCmcdTest, PausedLeavesAtOnceAndPlayingComesBack) {
  HeartbeatViewers v(HeartbeatTestOptions());
  // hls.js: e=t without sta, preloading, starting, playing, paused.
  v.Report("live", "s", "a", kHeartbeatT0, CmcdPlayState::kUnsaid);
  v.Report("live", "s", "a", kHeartbeatT0, CmcdPlayStateOf("d"));
  EXPECT_TRUE(v.CountActive(kHeartbeatT0).empty());
  v.Report("live", "s", "a", kHeartbeatT0, CmcdPlayStateOf("s"));
  EXPECT_EQ(v.CountActive(kHeartbeatT0), HeartbeatCounts({{"live", 1}}));
  v.Report("live", "s", "a", kHeartbeatT0 + seconds(5), CmcdPlayStateOf("a"));
  EXPECT_TRUE(v.CountActive(kHeartbeatT0 + seconds(5)).empty());
  v.Report("live", "s", "a", kHeartbeatT0 + seconds(9), CmcdPlayStateOf("p"));
  EXPECT_EQ(v.CountActive(kHeartbeatT0 + seconds(9)), HeartbeatCounts({{"live", 1}}));
  for (const std::string_view leaving : {"a", "e", "f", "q", "d"}) {
    v.Report("live", "s", "a", kHeartbeatT0 + seconds(10), CmcdPlayStateOf(leaving));
    EXPECT_TRUE(v.CountActive(kHeartbeatT0 + seconds(10)).empty()) << leaving;
    v.Report("live", "s", "a", kHeartbeatT0 + seconds(10), CmcdPlayStateOf("r"));
    EXPECT_EQ(v.CountActive(kHeartbeatT0 + seconds(10)), HeartbeatCounts({{"live", 1}}));
  }
  for (const std::string_view watching : {"s", "p", "k", "r", "w"}) {
    EXPECT_EQ(CmcdPlayStateOf(watching), CmcdPlayState::kWatching) << watching;
  }
  EXPECT_EQ(CmcdPlayStateOf("x"), CmcdPlayState::kNotWatching);
  EXPECT_EQ(CmcdPlayStateOf(std::nullopt), CmcdPlayState::kUnsaid);
}

// Shaka Player 5.2 sends time-interval reports (e=t) only, without sta,
// playing or paused: such a sid counts from its second report while they
// come. One that has stated a state keeps it through reports without one.
TEST(HeartbeatViewersCmcdTest, ASidThatNeverStatesAStateCountsWhileItsReportsCome) {
  HeartbeatViewers v(HeartbeatTestOptions());
  v.Report("live", "shaka", "a", kHeartbeatT0, CmcdPlayState::kUnsaid);
  EXPECT_TRUE(v.CountActive(kHeartbeatT0).empty());  // one report never counts
  v.Report("live", "shaka", "a", kHeartbeatT0 + seconds(3), CmcdPlayState::kUnsaid);
  EXPECT_EQ(v.CountActive(kHeartbeatT0 + seconds(3)), HeartbeatCounts({{"live", 1}}));

  // hls.js paused: sta=a, then e=t without sta: still not watching.
  v.Report("live", "hlsjs", "a", kHeartbeatT0, CmcdPlayStateOf("p"));
  v.Report("live", "hlsjs", "a", kHeartbeatT0 + seconds(1), CmcdPlayStateOf("p"));
  v.Report("live", "hlsjs", "a", kHeartbeatT0 + seconds(2), CmcdPlayStateOf("a"));
  v.Report("live", "hlsjs", "a", kHeartbeatT0 + seconds(5), CmcdPlayState::kUnsaid);
  EXPECT_EQ(v.CountSids(kHeartbeatT0 + seconds(5)), HeartbeatCounts({{"live", 1}}))
      << "the Shaka sid only";
  // A first report that states "preloading", then one without: not watching.
  v.Report("live", "late", "a", kHeartbeatT0 + seconds(5), CmcdPlayStateOf("d"));
  v.Report("live", "late", "a", kHeartbeatT0 + seconds(6), CmcdPlayState::kUnsaid);
  EXPECT_EQ(v.CountSids(kHeartbeatT0 + seconds(6)), HeartbeatCounts({{"live", 1}}));
  // Its reports stop (the page closed): it leaves at the timeout.
  EXPECT_TRUE(v.CountSids(kHeartbeatT0 + seconds(3) + HeartbeatTestOptions().cmcd_timeout).empty());
}

TEST(HeartbeatViewersCmcdTest, ASidExpiresAtTheCmcdTimeoutNotTheHeartbeats) {
  HeartbeatOptions options = HeartbeatTestOptions();
  options.cmcd_timeout = seconds(75);
  HeartbeatViewers v(options);
  v.Report("live", "s", "a", kHeartbeatT0, CmcdPlayState::kWatching);
  v.Report("live", "s", "a", kHeartbeatT0 + seconds(30), CmcdPlayState::kWatching);
  EXPECT_EQ(v.CountActive(kHeartbeatT0 + seconds(104)), HeartbeatCounts({{"live", 1}}));
  EXPECT_TRUE(v.CountActive(kHeartbeatT0 + seconds(105)).empty());
  // Gone: its next report starts over, uncounted.
  v.Report("live", "s", "a", kHeartbeatT0 + seconds(106), CmcdPlayState::kWatching);
  EXPECT_TRUE(v.CountActive(kHeartbeatT0 + seconds(106)).empty());
}

TEST(HeartbeatViewersCmcdTest, SidsShareTheCapWithTokensAndCountOnceBesideThem) {
  HeartbeatViewers v(HeartbeatTestOptions(/*per_client=*/3));
  const std::string token = *v.Mint("live", kHeartbeatT0);
  ASSERT_EQ(v.Beat("live", token, "10.0.0.1", kHeartbeatT0), BeatResult::kAccepted);
  ASSERT_EQ(v.Beat("live", token, "10.0.0.1", kHeartbeatT0 + seconds(10)), BeatResult::kAccepted);
  // The page also runs a player reporting CMCD: one viewer, counted once.
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(v.Report("live", "page-1", "10.0.0.1", kHeartbeatT0 + seconds(10),
                       CmcdPlayState::kWatching),
              ReportResult::kAccepted);
  }
  EXPECT_EQ(v.CountActive(kHeartbeatT0 + seconds(10)), HeartbeatCounts({{"live", 1}}));
  EXPECT_EQ(
      v.Report("live", "page-2", "10.0.0.1", kHeartbeatT0 + seconds(10), CmcdPlayState::kWatching),
      ReportResult::kAccepted);
  EXPECT_EQ(
      v.Report("live", "page-3", "10.0.0.1", kHeartbeatT0 + seconds(10), CmcdPlayState::kWatching),
      ReportResult::kClientAtCap);  // a token and two sids: the cap of 3
  EXPECT_EQ(v.Report("live", "", "10.0.0.1", kHeartbeatT0, CmcdPlayState::kWatching),
            ReportResult::kInvalidSid);
  EXPECT_EQ(v.Report("live", std::string(kMaxCmcdSidChars + 1, 's'), "10.0.0.2", kHeartbeatT0,
                     CmcdPlayState::kWatching),
            ReportResult::kInvalidSid);
  EXPECT_EQ(v.Report("live", std::string(kMaxCmcdSidChars, 's'), "10.0.0.2", kHeartbeatT0,
                     CmcdPlayState::kWatching),
            ReportResult::kAccepted);
}

}  // namespace
}  // namespace headcount
