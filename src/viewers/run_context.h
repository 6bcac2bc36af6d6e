// What all players of one ViewerSimulator::Run share: the counters behind
// SimulatorStats, the origin, the alarms and a warning limiter. Internal to
// src/viewers. Thread-safe: what changes during a run is atomic.
#pragma once

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <functional>
#include <string_view>
#include <utility>

#include "net/url.h"
#include "viewers/alarm.h"
#include "viewers/simulator.h"

namespace headcount {

// The counters behind SimulatorStats.
struct SimulatorCounters {
  std::atomic<std::int64_t> players_started{0};
  std::atomic<std::int64_t> players_active{0};
  std::atomic<std::int64_t> playlist_requests{0};
  std::atomic<std::int64_t> segment_requests{0};
  std::atomic<std::int64_t> api_requests{0};
  std::atomic<std::int64_t> heartbeats_sent{0};
  std::atomic<std::int64_t> bytes{0};
  std::atomic<std::int64_t> errors{0};
};

SimulatorStats Snapshot(const SimulatorCounters& c);

namespace viewers {

// Lives longer than the run's io_context.
struct RunContext {
  RunContext(Url entry_url, SimulatorCounters& c, Alarms& a, int players)
      : entry(std::move(entry_url)), counters(c), alarms(a), unfinished(players) {}

  // Logs one warning unless one was logged less than kWarnLogInterval ago (on
  // the alarms' clock); suppressed ones are counted in the next line. `path`
  // must hold no query.
  void Warn(int player, std::string_view path, std::string_view why);

  const Url entry;
  // With heartbeats or CMCD: "/api/channels/<channel>/" on the entry's
  // server, and the channel.
  std::string api_prefix;
  std::string channel;
  boost::asio::ip::tcp::resolver::results_type endpoints;  // set before players start
  SimulatorCounters& counters;
  Alarms& alarms;
  std::function<void()> stop_io;  // set before players start, then read-only
  std::atomic<int> unfinished;    // players that have not reached an #EXT-X-ENDLIST end
  std::atomic<std::int64_t> next_warn_ns{0};
  std::atomic<std::int64_t> suppressed_warnings{0};
};

}  // namespace viewers
}  // namespace headcount
