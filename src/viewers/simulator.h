// ViewerSimulator: N virtual HLS players watching one live stream, each
// behaving like hls.js closely enough that a session-counting origin counts
// exactly N. Run() blocks; Stop() and stats() are thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "core/result.h"
#include "viewers/alarm.h"

namespace headcount {

inline constexpr int kMaxPlayers = 100000;
inline constexpr int kMaxSimulatorThreads = 64;

struct SimulatorOptions {
  // The stream: "http://host:port/path.m3u8", a multivariant or media
  // playlist. https:// is rejected (plain HTTP only).
  std::string url;
  // Number of players, 1..kMaxPlayers. Each holds one TCP connection: the
  // process needs about `count` + 64 file descriptors (see `ulimit -n`).
  int count = 1;
  // Player i (0-based) starts at ramp * i / count after Run() begins.
  std::chrono::milliseconds ramp{0};
  // How long Run() lasts; 0 = until Stop() (or until every player has
  // reached the end of a stream that ended).
  std::chrono::milliseconds duration{0};
  // Threads running the players, 1..kMaxSimulatorThreads.
  int threads = 1;
  // Each player also reports itself through the heartbeat API of `serve`
  // on the stream's server (a CDN passes it on): a token from
  // POST /api/channels/<channel>/viewers, then a heartbeat every
  // heartbeat_s (a new token after a 403), on a connection of its own.
  bool heartbeat = false;
  // Each player also reports CMCD v2 events (CTA-5004-B) to the collector
  // of `serve`, POST /api/channels/<channel>/cmcd, as hls.js 1.7 does with
  // an event target there: playing, then a report every 10 s, on a
  // connection of its own; its sid is random. With `heartbeat` too, a
  // player does both (a page running headcount.js beside such a player).
  bool cmcd = false;
  // The channel of the heartbeats and CMCD reports; empty = the folder
  // after /hls/ in `url`.
  std::string channel{};
};

// A snapshot of the counters. Requests count attempts, including failed ones.
struct SimulatorStats {
  std::int64_t players_started = 0;  // players that sent their first request
  std::int64_t players_active = 0;   // started and not yet finished or stopped
  std::int64_t playlist_requests = 0;
  std::int64_t segment_requests = 0;
  std::int64_t api_requests = 0;  // token requests, heartbeats, CMCD reports (attempts)
  std::int64_t heartbeats = 0;    // heartbeats and CMCD reports answered 204
  std::int64_t bytes = 0;         // response body bytes received (playlists and segments)
  std::int64_t errors = 0;        // failed connections/requests, HTTP 4xx/5xx, bad playlists
};

struct SimulatorCounters;  // atomics shared with the players (run_context.h)

class ViewerSimulator {
 public:
  // The players wait on `alarms` (and read its clock): SystemAlarms() for the
  // real thing, a testing::FakeAlarms in tests. `alarms` must outlive Run().
  ViewerSimulator(SimulatorOptions options, Alarms& alarms);
  ~ViewerSimulator();
  ViewerSimulator(const ViewerSimulator&) = delete;
  ViewerSimulator& operator=(const ViewerSimulator&) = delete;

  // Runs the players until the duration elapses, Stop() is called, or every
  // player has played an ended (#EXT-X-ENDLIST) stream to its end; then closes
  // all connections and returns OK. Player failures (network, HTTP status,
  // bad playlists) are counted in stats().errors and retried, never returned.
  // Fails without starting anything: kInvalidArgument for bad options (count,
  // threads, ramp, duration, URL), kUnavailable when the host cannot be
  // resolved. May be called once; a second call fails (kInvalidArgument).
  // If Stop() came first, returns OK at once.
  Status Run();

  // Makes Run() return promptly (from any thread, e.g. one waiting for
  // SIGINT; it takes a mutex, so not from inside an async signal handler).
  void Stop();

  // The counters now; safe to call during Run() from any thread.
  SimulatorStats stats() const;  // NOLINT(readability-identifier-naming): accessor

 private:
  const SimulatorOptions options_;
  Alarms& alarms_;
  const std::unique_ptr<SimulatorCounters> counters_;

  // Guarded by mu_: Run()/Stop() handshake.
  std::mutex mu_;
  std::function<void()> stop_running_;  // set while Run() runs players
  bool stop_requested_ = false;
  bool run_called_ = false;
};

}  // namespace headcount
