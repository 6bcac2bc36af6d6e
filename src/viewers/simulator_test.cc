// Integration tests for ViewerSimulator against a small in-process HLS origin
// (viewers/testing/hls_origin.h). The players and the origin share a
// FakeClock moved by FakeAlarms, so every instant asserted is exact: what
// happens between two waits (network I/O included) takes no fake time.
#include "viewers/simulator.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/time_text.h"
#include "heartbeat/cmcd_report.h"
#include "heartbeat/heartbeat_viewers.h"
#include "viewers/testing/fake_alarms.h"
#include "viewers/testing/hls_origin.h"

namespace headcount {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using std::chrono::milliseconds;
using std::chrono::seconds;
using SteadyTime = std::chrono::steady_clock::time_point;
using testing::kSegmentBytes;
using testing::Seen;
using testing::SegmentNumber;
using testing::TestOrigin;

// The requests of each session id, in arrival order.
std::map<std::string, std::vector<Seen>> BySession(const std::vector<Seen>& requests) {
  std::map<std::string, std::vector<Seen>> out;
  for (const Seen& r : requests) {
    if (!r.hcs.empty()) out[r.hcs].push_back(r);
  }
  return out;
}

// Entry requests without a session id: one per player start.
std::vector<Seen> Arrivals(const std::vector<Seen>& requests) {
  std::vector<Seen> out;
  for (const Seen& r : requests) {
    if (r.path == "/live/master.m3u8" && r.hcs.empty()) out.push_back(r);
  }
  return out;
}

// A run on a fake clock that starts at t0 and moves only with the players.
class SimulatorTest : public ::testing::Test {
 protected:
  // Milliseconds from t0 to `at`.
  std::int64_t Ms(WallTime at) const {
    return std::chrono::duration_cast<milliseconds>(at - t0_).count();
  }
  // The instants of `requests`, as Ms.
  std::vector<std::int64_t> Times(const std::vector<Seen>& requests) const {
    std::vector<std::int64_t> out;
    for (const Seen& r : requests) out.push_back(Ms(r.at));
    return out;
  }
  // The media playlist loads of `session`, as Ms.
  std::vector<std::int64_t> Reloads(const std::vector<Seen>& session) const {
    std::vector<Seen> media;
    for (const Seen& r : session) {
      if (r.path == "/live/low/index.m3u8") media.push_back(r);
    }
    return Times(media);
  }
  // The segments fetched in `session`, in order: {sequence number, Ms}.
  std::vector<std::pair<std::int64_t, std::int64_t>> Segments(
      const std::vector<Seen>& session) const {
    std::vector<std::pair<std::int64_t, std::int64_t>> out;
    for (const Seen& r : session) {
      if (SegmentNumber(r.path) >= 0) out.emplace_back(SegmentNumber(r.path), Ms(r.at));
    }
    return out;
  }

  const WallTime t0_ = *ParseRfc3339("2026-12-01T10:00:00Z");
  FakeClock clock_{t0_};
  testing::FakeAlarms alarms_{clock_};
};

using Timeline = std::vector<std::pair<std::int64_t, std::int64_t>>;
using Instants = std::vector<std::int64_t>;

TEST_F(SimulatorTest, NPlayersAreNSessionsThatFollowTheLiveEdge) {
  TestOrigin origin(TestOrigin::Mode::kLive, clock_);
  ViewerSimulator simulator({.url = origin.Url(), .count = 3, .duration = milliseconds(4500)},
                            alarms_);
  const Status status = simulator.Run();
  ASSERT_TRUE(status.ok()) << status.error().ToString();
  EXPECT_EQ(Ms(clock_.Now()), 4500) << "the duration ends Run";

  const std::vector<Seen> requests = origin.Requests();
  EXPECT_EQ(Times(Arrivals(requests)), (Instants{0, 0, 0}));
  const auto sessions = BySession(requests);
  ASSERT_EQ(sessions.size(), 3U) << "every follow-up request must carry its player's id";
  EXPECT_EQ(requests.size(),
            3U + sessions.at("s1").size() + sessions.at("s2").size() + sessions.at("s3").size());
  EXPECT_EQ(origin.Connections(), 3) << "one keep-alive connection per player";

  for (const auto& [id, seen] : sessions) {
    for (const Seen& r : seen) {
      EXPECT_NE(r.path, "/live/high/index.m3u8") << id << ": players take the first variant";
    }
    // One reload per target duration (1 s), from when the previous one began.
    EXPECT_EQ(Reloads(seen), (Instants{0, 1000, 2000, 3000, 4000})) << id;
    // Joins 3 segments from the live edge (the first playlist ends at 10),
    // then each new segment once, in order, as soon as a reload lists it.
    EXPECT_EQ(Segments(seen),
              (Timeline{{8, 0}, {9, 0}, {10, 0}, {11, 1000}, {12, 2000}, {13, 3000}, {14, 4000}}))
        << id;
  }

  const SimulatorStats stats = simulator.stats();
  EXPECT_EQ(stats.players_started, 3);
  EXPECT_EQ(stats.players_active, 0);  // Run has returned
  EXPECT_EQ(stats.errors, 0);
  constexpr std::int64_t kSegments = std::int64_t{3} * 7;  // 7 segments for each of 3 players
  EXPECT_EQ(stats.segment_requests, kSegments);
  EXPECT_EQ(stats.playlist_requests + stats.segment_requests,
            static_cast<std::int64_t>(requests.size()));
  EXPECT_GE(stats.bytes, kSegments * static_cast<std::int64_t>(kSegmentBytes));
}

// --heartbeat: each player also asks for a token and heartbeats at the
// pace the token's answer sets, on a connection of its own, media included.
TEST_F(SimulatorTest, HeartbeatPlayersReportAtTheirPaceAndStillFetchMedia) {
  TestOrigin origin(TestOrigin::Mode::kLive, clock_);
  ViewerSimulator simulator({.url = origin.Url(),
                             .count = 2,
                             .duration = milliseconds(4500),
                             .heartbeat = true,
                             .channel = "live"},
                            alarms_);
  const Status status = simulator.Run();
  ASSERT_TRUE(status.ok()) << status.error().ToString();
  std::map<std::string, std::vector<std::int64_t>> beats;  // by token
  int tokens = 0;
  for (const Seen& r : origin.Requests()) {
    if (r.path == "/api/channels/live/viewers") ++tokens;
    if (r.path == "/api/channels/live/heartbeat") beats[r.body].push_back(Ms(r.at));
  }
  EXPECT_EQ(tokens, 2);
  EXPECT_EQ(beats,
            (std::map<std::string, std::vector<std::int64_t>>{
                {R"({"token":"t1"})", {0, 2000, 4000}}, {R"({"token":"t2"})", {0, 2000, 4000}}}));
  EXPECT_EQ(origin.Connections(), 4) << "a media and a heartbeat connection per player";
  const SimulatorStats stats = simulator.stats();
  EXPECT_EQ(stats.heartbeats, 6);
  EXPECT_EQ(stats.api_requests, 8);
  EXPECT_EQ(stats.segment_requests, 2 * 7);
  EXPECT_EQ(stats.errors, 0);
}

// --cmcd: each player reports CMCD v2 events as hls.js does: starting and
// playing at once, then e=t every 10 s, with a sid of its own, parsed back
// with the collector's parser.
TEST_F(SimulatorTest, CmcdPlayersReportPlayingThenEveryTenSeconds) {
  TestOrigin origin(TestOrigin::Mode::kLive, clock_);
  ViewerSimulator simulator({.url = origin.Url(),
                             .count = 2,
                             .duration = milliseconds(21'000),
                             .cmcd = true,
                             .channel = "live"},
                            alarms_);
  const Status status = simulator.Run();
  ASSERT_TRUE(status.ok()) << status.error().ToString();
  // sid -> (ms, e, sta, sn) of each report.
  std::map<std::string,
           std::vector<std::tuple<std::int64_t, std::string, std::string, std::int64_t>>>
      reports;
  for (const Seen& r : origin.Requests()) {
    if (r.path != "/api/channels/live/cmcd") continue;
    const CmcdBody body = ParseCmcdBody(r.body);
    ASSERT_EQ(body.reports.size(), 1U) << r.body;
    EXPECT_EQ(body.bad_lines, 0U) << r.body;
    const CmcdReport& report = body.reports[0];
    EXPECT_EQ(report.String("cid"), "live");
    EXPECT_EQ(report.Integer("v"), 2);
    reports[std::string(report.String("sid").value_or(""))].emplace_back(
        Ms(r.at), std::string(report.TokenOrString("e").value_or("")),
        std::string(report.TokenOrString("sta").value_or("")), report.Integer("sn").value_or(-1));
  }
  ASSERT_EQ(reports.size(), 2U);
  for (const auto& [sid, seen] : reports) {
    EXPECT_FALSE(sid.empty());
    EXPECT_LE(sid.size(), kMaxCmcdSidChars);
    EXPECT_EQ(
        seen,
        (std::vector<std::tuple<std::int64_t, std::string, std::string, std::int64_t>>{
            {0, "ps", "s", 0}, {0, "ps", "p", 1}, {10'000, "t", "p", 2}, {20'000, "t", "p", 3}}))
        << sid;
  }
  const SimulatorStats stats = simulator.stats();
  EXPECT_EQ(stats.heartbeats, 8);
  EXPECT_EQ(stats.errors, 0);
  EXPECT_GT(stats.segment_requests, 0);
}

TEST_F(SimulatorTest, ManyPlayersOnTwoThreadsAreExactlyThatManySessions) {
  constexpr int kPlayers = 200;
  TestOrigin origin(TestOrigin::Mode::kLive, clock_);
  ViewerSimulator simulator(
      {.url = origin.Url(), .count = kPlayers, .duration = milliseconds(2500), .threads = 2},
      alarms_);
  ASSERT_TRUE(simulator.Run().ok());
  const std::vector<Seen> requests = origin.Requests();
  EXPECT_EQ(Arrivals(requests).size(), static_cast<std::size_t>(kPlayers));
  const auto sessions = BySession(requests);
  EXPECT_EQ(sessions.size(), static_cast<std::size_t>(kPlayers));
  for (const auto& [id, seen] : sessions) {
    EXPECT_EQ(Segments(seen), (Timeline{{8, 0}, {9, 0}, {10, 0}, {11, 1000}, {12, 2000}})) << id;
  }
  EXPECT_EQ(simulator.stats().errors, 0);
  EXPECT_EQ(origin.Connections(), kPlayers);
}

TEST_F(SimulatorTest, ReconnectsQuietlyWhenTheOriginDropsIdleConnections) {
  TestOrigin origin(TestOrigin::Mode::kLive, clock_, /*drop_connections=*/true);
  ViewerSimulator simulator({.url = origin.Url(), .count = 2, .duration = milliseconds(2500)},
                            alarms_);
  ASSERT_TRUE(simulator.Run().ok());
  const std::vector<Seen> requests = origin.Requests();
  const auto sessions = BySession(requests);
  ASSERT_EQ(sessions.size(), 2U);
  for (const auto& [id, seen] : sessions) {
    EXPECT_EQ(Segments(seen), (Timeline{{8, 0}, {9, 0}, {10, 0}, {11, 1000}, {12, 2000}})) << id;
  }
  EXPECT_EQ(origin.Connections(), static_cast<int>(requests.size()))
      << "every request after the first on a connection is sent again on a new one";
  EXPECT_EQ(simulator.stats().errors, 0) << "a closed idle connection is not an error";
}

TEST_F(SimulatorTest, RampSpreadsPlayerStarts) {
  TestOrigin origin(TestOrigin::Mode::kLive, clock_);
  ViewerSimulator simulator({.url = origin.Url(),
                             .count = 4,
                             .ramp = seconds(2),
                             .duration = milliseconds(2500),
                             .threads = 2},
                            alarms_);
  ASSERT_TRUE(simulator.Run().ok());
  // Player i starts at ramp * i / count.
  EXPECT_EQ(Times(Arrivals(origin.Requests())), (Instants{0, 500, 1000, 1500}));
  EXPECT_EQ(BySession(origin.Requests()).size(), 4U);
  EXPECT_EQ(simulator.stats().players_started, 4);
}

TEST_F(SimulatorTest, ReloadsAtHalfTheTargetDurationWhileThePlaylistDoesNotChange) {
  TestOrigin origin(TestOrigin::Mode::kStalled, clock_);
  ViewerSimulator simulator({.url = origin.Url(), .count = 1, .duration = milliseconds(3200)},
                            alarms_);
  ASSERT_TRUE(simulator.Run().ok());
  const auto sessions = BySession(origin.Requests());
  ASSERT_EQ(sessions.size(), 1U);
  const std::vector<Seen>& seen = sessions.begin()->second;
  // A full target duration after the first load, half of it after each load
  // that brought nothing new (RFC 8216 §6.3.4).
  EXPECT_EQ(Reloads(seen), (Instants{0, 1000, 1500, 2000, 2500, 3000}));
  EXPECT_EQ(Segments(seen), (Timeline{{8, 0}, {9, 0}, {10, 0}}));
}

TEST_F(SimulatorTest, StopEndsRunPromptly) {
  TestOrigin origin(TestOrigin::Mode::kLive, clock_);
  ViewerSimulator simulator({.url = origin.Url(), .count = 2}, alarms_);  // no duration
  Status status = Error::Internal("not run");
  std::thread runner([&] { status = simulator.Run(); });
  const SteadyTime give_up = std::chrono::steady_clock::now() + seconds(5);
  while (simulator.stats().segment_requests < 2 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_EQ(simulator.stats().players_active, 2);
  const SteadyTime stop_at = std::chrono::steady_clock::now();
  simulator.Stop();
  runner.join();
  // A generous bound: Run must not wait for anything once stopped.
  EXPECT_LT(std::chrono::steady_clock::now() - stop_at, seconds(2));
  EXPECT_TRUE(status.ok()) << status.error().ToString();
  EXPECT_EQ(simulator.stats().players_active, 0);
  EXPECT_GE(simulator.stats().segment_requests, 2);
}

TEST_F(SimulatorTest, StopBeforeRunMakesRunReturnAtOnce) {
  TestOrigin origin(TestOrigin::Mode::kLive, clock_);
  ViewerSimulator simulator({.url = origin.Url(), .count = 2}, alarms_);
  simulator.Stop();
  ASSERT_TRUE(simulator.Run().ok());
  EXPECT_TRUE(origin.Requests().empty());
  EXPECT_EQ(simulator.stats().players_started, 0);
}

TEST_F(SimulatorTest, EndedStreamIsPlayedToItsEndThenRunReturns) {
  TestOrigin origin(TestOrigin::Mode::kEnded, clock_);
  ViewerSimulator simulator({.url = origin.Url(), .count = 2}, alarms_);  // no duration
  Status status = Error::Internal("not run");
  std::atomic<bool> done{false};
  std::thread runner([&] {
    status = simulator.Run();
    done = true;
  });
  // Watchdog: Run must end by itself well before this.
  const SteadyTime give_up = std::chrono::steady_clock::now() + seconds(8);
  while (!done && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  if (!done) {
    ADD_FAILURE() << "Run did not return after every player reached #EXT-X-ENDLIST";
    simulator.Stop();
  }
  runner.join();
  ASSERT_TRUE(status.ok()) << status.error().ToString();

  const auto sessions = BySession(origin.Requests());
  ASSERT_EQ(sessions.size(), 2U);
  for (const auto& [id, seen] : sessions) {
    EXPECT_EQ(Reloads(seen), (Instants{0})) << id << ": an ended playlist is not reloaded";
    // 3 segments ahead at once, then one per target duration (playback pace).
    EXPECT_EQ(Segments(seen), (Timeline{{0, 0}, {1, 0}, {2, 0}, {3, 1000}, {4, 2000}})) << id;
  }
  EXPECT_EQ(simulator.stats().players_active, 0);
}

TEST_F(SimulatorTest, HttpErrorsAreCountedAndRetriedWithoutSpinning) {
  TestOrigin origin(TestOrigin::Mode::kNotFound, clock_);
  ViewerSimulator simulator({.url = origin.Url(), .count = 2, .duration = milliseconds(4500)},
                            alarms_);
  ASSERT_TRUE(simulator.Run().ok());
  // Each player, on its keep-alive connection: the entry playlist, then again
  // after the default retry delay (2 s) while the backoff is shorter.
  std::map<int, Instants> by_connection;
  for (const Seen& r : origin.Requests()) by_connection[r.connection].push_back(Ms(r.at));
  EXPECT_EQ(by_connection, (std::map<int, Instants>{{0, {0, 2000, 4000}}, {1, {0, 2000, 4000}}}));
  const SimulatorStats stats = simulator.stats();
  EXPECT_EQ(stats.errors, 6);
  EXPECT_EQ(stats.playlist_requests, 6);
  EXPECT_EQ(stats.segment_requests, 0);
}

TEST_F(SimulatorTest, NetworkErrorsBackOffExponentiallyWithJitter) {
  TestOrigin origin(TestOrigin::Mode::kHangUp, clock_);
  ViewerSimulator simulator({.url = origin.Url(), .count = 1, .duration = seconds(10)}, alarms_);
  ASSERT_TRUE(simulator.Run().ok());
  const Instants attempts = Times(origin.Requests());
  // 0.5 s, 1 s, 2 s, 4 s, ... each +-25%: 5 attempts fit in 10 s, not 6.
  ASSERT_EQ(attempts.size(), 5U);
  EXPECT_EQ(attempts[0], 0);
  for (std::size_t i = 1; i < attempts.size(); ++i) {
    const std::int64_t backoff = std::int64_t{500} << (i - 1);
    EXPECT_GE(attempts[i] - attempts[i - 1], backoff * 3 / 4) << "attempt " << i;
    EXPECT_LE(attempts[i] - attempts[i - 1], backoff * 5 / 4) << "attempt " << i;
  }
  EXPECT_EQ(simulator.stats().errors, 5);
  EXPECT_EQ(simulator.stats().playlist_requests, 5);
}

TEST_F(SimulatorTest, UnreachableOriginBacksOff) {
  unsigned short closed_port = 0;
  {
    net::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    closed_port = acceptor.local_endpoint().port();
  }  // closed: connections are refused
  ViewerSimulator simulator({.url = "http://127.0.0.1:" + std::to_string(closed_port) + "/a.m3u8",
                             .count = 1,
                             .duration = seconds(10)},
                            alarms_);
  ASSERT_TRUE(simulator.Run().ok());
  const SimulatorStats stats = simulator.stats();
  EXPECT_EQ(stats.errors, 5) << "reconnects back off: 5 attempts in 10 s";
  EXPECT_EQ(stats.playlist_requests, 5);
}

TEST_F(SimulatorTest, RejectsBadOptions) {
  const SimulatorOptions bad[] = {
      {.url = "http://127.0.0.1:1/a.m3u8", .count = 0},
      {.url = "http://127.0.0.1:1/a.m3u8", .count = kMaxPlayers + 1},
      {.url = "http://127.0.0.1:1/a.m3u8", .count = 1, .ramp = milliseconds(-1)},
      {.url = "http://127.0.0.1:1/a.m3u8", .count = 1, .threads = 0},
      {.url = "https://127.0.0.1:1/a.m3u8", .count = 1},
      {.url = "127.0.0.1:1/a.m3u8", .count = 1},
  };
  for (const SimulatorOptions& options : bad) {
    ViewerSimulator simulator(options, alarms_);
    const Status status = simulator.Run();
    ASSERT_FALSE(status.ok()) << options.url << " count " << options.count;
    EXPECT_EQ(status.error().code(), ErrorCode::kInvalidArgument);
  }
  ViewerSimulator https({.url = "https://example.com/a.m3u8"}, alarms_);
  const Status status = https.Run();
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message().find("https"), std::string::npos);
}

TEST_F(SimulatorTest, RunIsOneShot) {
  TestOrigin origin(TestOrigin::Mode::kLive, clock_);
  ViewerSimulator simulator({.url = origin.Url(), .count = 1, .duration = milliseconds(100)},
                            alarms_);
  ASSERT_TRUE(simulator.Run().ok());
  EXPECT_FALSE(simulator.Run().ok());
}

// The real clock still drives the real thing: a short run on SystemAlarms
// lasts its duration.
TEST(ViewerSimulatorOnTheSystemClock, RunsForItsDuration) {
  SystemClock clock;
  TestOrigin origin(TestOrigin::Mode::kLive, clock);
  ViewerSimulator simulator({.url = origin.Url(), .count = 2, .duration = milliseconds(300)},
                            SystemAlarms());
  const SteadyTime t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(simulator.Run().ok());
  EXPECT_GE(std::chrono::steady_clock::now() - t0, milliseconds(300));
  EXPECT_EQ(simulator.stats().players_started, 2);
}

}  // namespace
}  // namespace headcount
