#include "origin/session_table.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "core/time_text.h"

namespace headcount {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Key = SessionTable::Key;
using StartResult = SessionTable::StartResult;

const WallTime kTableT0 = *ParseRfc3339("2026-11-25T12:00:00Z");

Key KeyOf(unsigned n) {
  Key key{};
  for (std::size_t i = 0; i < sizeof n; ++i) key[i] = static_cast<unsigned char>(n >> (8 * i));
  return key;
}

SessionTable::Limits Limits(std::size_t max_sessions = 1000, std::size_t per_client = 0) {
  return {.idle_timeout = seconds(30),
          .max_sessions = max_sessions,
          .max_sessions_per_client = per_client};
}

// The table against the rule it keeps, checked by brute force: at any `now`,
// after Expire(now), the table holds exactly the sessions last seen after
// now - idle_timeout, per channel, and a client is refused only while it
// holds its cap of them. Random starts, refreshes and counts over a few
// minutes, times moving forward by random steps (sometimes none).
TEST(SessionTableTest, CountsMatchABruteForceModel) {
  constexpr unsigned kKeys = 300;
  constexpr std::size_t kPerClient = 7;
  const std::vector<std::string> channels = {"a", "b", "c"};
  const std::vector<std::string> clients = {"", "198.51.100.1", "198.51.100.2", "2001:db8::1"};
  struct Model {
    bool tracked = false;
    std::string channel, client;
    WallTime last_seen;
  };
  std::vector<Model> model(kKeys);
  SessionTable table(Limits(kKeys, kPerClient));
  std::mt19937 random(14);
  WallTime now = kTableT0;
  const auto active = [&](const Model& m) { return m.tracked && m.last_seen > now - seconds(30); };
  // The table drops the idle sessions, the model forgets them.
  const auto expire = [&] {
    table.Expire(now);
    for (Model& m : model) m.tracked = active(m);
  };

  for (int step = 0; step < 20'000; ++step) {
    now += milliseconds(random() % 3 == 0 ? 0 : random() % 200);
    const unsigned k = random() % kKeys;
    Model& m = model[k];
    const std::string& channel = channels[random() % channels.size()];
    const std::string& client = clients[random() % clients.size()];
    if (random() % 2 == 0) {
      // Idle but not yet expired sessions are still there to refresh.
      const bool refreshed = table.Refresh(KeyOf(k), channel, now);
      ASSERT_EQ(refreshed, m.tracked && m.channel == channel) << "step " << step;
      if (refreshed) m.last_seen = now;
    } else {
      expire();
      std::size_t held = 0;
      for (const Model& other : model) held += other.tracked && other.client == client ? 1 : 0;
      const StartResult result = table.Start(KeyOf(k), channel, client, now);
      if (m.tracked) {
        ASSERT_EQ(result, StartResult::kAlreadyTracked) << "step " << step;
        if (m.channel == channel) m.last_seen = now;
      } else if (!client.empty() && held >= kPerClient) {
        ASSERT_EQ(result, StartResult::kClientAtCap) << "step " << step;
      } else {
        ASSERT_EQ(result, StartResult::kStarted) << "step " << step;
        m = Model{true, channel, client, now};
      }
    }
    if (step % 50 == 0) {
      expire();
      std::map<ChannelId, std::int64_t> expected;
      std::size_t total = 0;
      for (const Model& other : model) {
        if (!other.tracked) continue;
        ++expected[other.channel];
        ++total;
      }
      ASSERT_EQ(table.CountByChannel(), expected) << "step " << step;
      ASSERT_EQ(table.size(), total) << "step " << step;
    }
  }
}

TEST(SessionTableTest, ExpiresTheOldestFirstWithinALimit) {
  SessionTable table(Limits());
  for (unsigned k = 0; k < 5; ++k) {
    ASSERT_EQ(table.Start(KeyOf(k), "demo", "", kTableT0 + seconds(k)), StartResult::kStarted);
  }
  ASSERT_TRUE(table.Refresh(KeyOf(0), "demo", kTableT0 + seconds(10)));  // now the newest
  // At +33 s, sessions 1, 2 and 3 are idle (seen at +1, +2, +3).
  EXPECT_EQ(table.Expire(kTableT0 + seconds(33), 2), 2u);
  EXPECT_FALSE(table.Refresh(KeyOf(1), "demo", kTableT0 + seconds(33)));
  EXPECT_FALSE(table.Refresh(KeyOf(2), "demo", kTableT0 + seconds(33)));
  EXPECT_EQ(table.Expire(kTableT0 + seconds(33)), 1u);
  EXPECT_EQ(table.size(), 2u);
  EXPECT_EQ(table.CountByChannel(), (std::map<ChannelId, std::int64_t>{{"demo", 2}}));
  EXPECT_EQ(table.Expire(kTableT0 + seconds(40)), 2u);  // 4 (+4) and 0 (+10)
  EXPECT_TRUE(table.CountByChannel().empty());
}

TEST(SessionTableTest, RefreshIsForItsOwnChannelOnly) {
  SessionTable table(Limits());
  ASSERT_EQ(table.Start(KeyOf(1), "demo", "", kTableT0), StartResult::kStarted);
  EXPECT_FALSE(table.Refresh(KeyOf(1), "other", kTableT0 + seconds(20)));
  EXPECT_FALSE(table.Refresh(KeyOf(2), "demo", kTableT0 + seconds(20)));
  table.Expire(kTableT0 + seconds(30));
  EXPECT_EQ(table.size(), 0u) << "the other channel's refresh did not keep it";
}

TEST(SessionTableTest, AnEarlierTimeCountsAsTheNewest) {
  // Two threads read the clock, then lock in the other order: the later
  // lock carries the earlier time. It must not be dropped before a session
  // seen after it, nor break the order of expiry.
  SessionTable table(Limits());
  ASSERT_EQ(table.Start(KeyOf(1), "demo", "", kTableT0), StartResult::kStarted);
  ASSERT_EQ(table.Start(KeyOf(2), "demo", "", kTableT0 + seconds(10)), StartResult::kStarted);
  ASSERT_TRUE(table.Refresh(KeyOf(1), "demo", kTableT0 + seconds(9)));  // as if at +10
  table.Expire(kTableT0 + seconds(39));
  EXPECT_EQ(table.size(), 2u);
  table.Expire(kTableT0 + seconds(40));
  EXPECT_EQ(table.size(), 0u);
}

TEST(SessionTableTest, RefusalsFirstDropIdleSessions) {
  SessionTable table(Limits(/*max_sessions=*/2, /*per_client=*/1));
  ASSERT_EQ(table.Start(KeyOf(1), "demo", "198.51.100.1", kTableT0), StartResult::kStarted);
  ASSERT_EQ(table.Start(KeyOf(2), "demo", "198.51.100.2", kTableT0), StartResult::kStarted);
  EXPECT_EQ(table.Start(KeyOf(3), "demo", "198.51.100.3", kTableT0 + seconds(1)),
            StartResult::kTableFull);
  // Once the first two are idle, room is made without a count in between.
  EXPECT_EQ(table.Start(KeyOf(3), "demo", "198.51.100.3", kTableT0 + seconds(30)),
            StartResult::kStarted);
  EXPECT_EQ(table.Start(KeyOf(4), "demo", "198.51.100.3", kTableT0 + seconds(31)),
            StartResult::kClientAtCap);
  EXPECT_EQ(table.Start(KeyOf(4), "demo", "198.51.100.3", kTableT0 + seconds(60)),
            StartResult::kStarted);
  EXPECT_EQ(table.Start(KeyOf(4), "demo", "198.51.100.3", kTableT0 + seconds(61)),
            StartResult::kAlreadyTracked);
  EXPECT_EQ(table.size(), 1u);
}

// A session started uncounted holds its client's share and expires, but is
// in its channel's count only once Count() is called; Remove ends it at once.
TEST(SessionTableTest, UncountedSessionsHoldTheCapButNotTheCount) {
  SessionTable table(Limits(1000, /*per_client=*/2));
  ASSERT_EQ(table.Start(KeyOf(1), "a", "10.0.0.1", kTableT0, /*counted=*/false),
            StartResult::kStarted);
  EXPECT_TRUE(table.CountByChannel().empty());
  EXPECT_EQ(table.counted(), 0U);
  ASSERT_TRUE(table.Find(KeyOf(1), "a").has_value());
  EXPECT_FALSE(table.Find(KeyOf(1), "a")->counted);
  EXPECT_FALSE(table.Find(KeyOf(1), "b").has_value());

  ASSERT_EQ(table.Start(KeyOf(2), "a", "10.0.0.1", kTableT0, false), StartResult::kStarted);
  EXPECT_EQ(table.Start(KeyOf(3), "a", "10.0.0.1", kTableT0, false), StartResult::kClientAtCap);

  EXPECT_FALSE(table.Count(KeyOf(1), "b"));
  EXPECT_TRUE(table.Count(KeyOf(1), "a"));
  EXPECT_TRUE(table.Count(KeyOf(1), "a"));  // once only
  EXPECT_EQ(table.CountByChannel(), (std::map<ChannelId, std::int64_t>{{"a", 1}}));
  EXPECT_EQ(table.counted(), 1U);

  EXPECT_FALSE(table.Remove(KeyOf(1), "b"));
  EXPECT_TRUE(table.Remove(KeyOf(1), "a"));
  EXPECT_TRUE(table.CountByChannel().empty());
  EXPECT_EQ(table.counted(), 0U);
  EXPECT_EQ(table.size(), 1U);
  EXPECT_EQ(table.Start(KeyOf(3), "a", "10.0.0.1", kTableT0, false), StartResult::kStarted);

  EXPECT_EQ(table.Expire(kTableT0 + seconds(30)), 2U);
  EXPECT_EQ(table.size(), 0U);
}

// Two lanes: each expires at its own timeout, in order within itself, while
// the client's cap, the channel's counts and Uncount see both.
TEST(SessionTableTest, LanesExpireAtTheirOwnTimeoutsAndShareTheCap) {
  SessionTable table({.idle_timeout = seconds(30),
                      .second_lane_idle_timeout = seconds(75),
                      .max_sessions = 100,
                      .max_sessions_per_client = 3});
  using Counts = std::map<ChannelId, std::int64_t>;
  ASSERT_EQ(table.Start(KeyOf(1), "a", "10.0.0.1", kTableT0), StartResult::kStarted);
  ASSERT_EQ(table.Start(KeyOf(2), "a", "10.0.0.1", kTableT0, true, /*lane=*/1),
            StartResult::kStarted);
  ASSERT_EQ(table.Start(KeyOf(3), "a", "10.0.0.1", kTableT0 + seconds(1), true, 1),
            StartResult::kStarted);
  // The cap counts both lanes.
  EXPECT_EQ(table.Start(KeyOf(4), "a", "10.0.0.1", kTableT0 + seconds(1), true, 1),
            StartResult::kClientAtCap);
  EXPECT_EQ(table.CountByChannel(), (Counts{{"a", 3}}));
  EXPECT_EQ(table.CountByChannel(0), (Counts{{"a", 1}}));
  EXPECT_EQ(table.CountByChannel(1), (Counts{{"a", 2}}));

  EXPECT_TRUE(table.Uncount(KeyOf(3), "a"));
  EXPECT_TRUE(table.Uncount(KeyOf(3), "a"));  // once only
  EXPECT_FALSE(table.Uncount(KeyOf(3), "b"));
  EXPECT_EQ(table.CountByChannel(1), (Counts{{"a", 1}}));
  EXPECT_EQ(table.counted(), 2U);
  EXPECT_EQ(table.size(), 3U);

  // Lane 0 goes at 30 s, lane 1 at 75 s, though lane 1's sessions are older.
  EXPECT_EQ(table.Expire(kTableT0 + seconds(30)), 1U);
  EXPECT_EQ(table.CountByChannel(), (Counts{{"a", 1}}));
  EXPECT_EQ(table.Start(KeyOf(5), "a", "10.0.0.1", kTableT0 + seconds(30)), StartResult::kStarted);
  EXPECT_TRUE(table.Refresh(KeyOf(2), "a", kTableT0 + seconds(70)));
  // Key 5 (lane 0, 30 s + 30 s) and key 3 (lane 1, 1 s + 75 s); key 2 was refreshed.
  EXPECT_EQ(table.Expire(kTableT0 + seconds(76)), 2U);
  EXPECT_EQ(table.CountByChannel(), (Counts{{"a", 1}}));
  EXPECT_EQ(table.Expire(kTableT0 + seconds(145)), 1U);
  EXPECT_EQ(table.size(), 0U);
  EXPECT_EQ(table.counted(), 0U);
}

}  // namespace
}  // namespace headcount
