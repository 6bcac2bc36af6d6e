#include "heartbeat/heartbeat_viewers.h"

#include <gtest/gtest.h>

#include <vector>

#include "core/time_text.h"

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

}  // namespace
}  // namespace headcount
