#include "viewers/run_context.h"

#include <spdlog/spdlog.h>

#include <chrono>

namespace headcount {
namespace {

// At most one warning line per interval across all players.
constexpr auto kWarnLogInterval = std::chrono::seconds(1);

}  // namespace

SimulatorStats Snapshot(const SimulatorCounters& c) {
  SimulatorStats s;
  s.players_started = c.players_started.load();
  s.players_active = c.players_active.load();
  s.playlist_requests = c.playlist_requests.load();
  s.segment_requests = c.segment_requests.load();
  s.api_requests = c.api_requests.load();
  s.heartbeats = c.heartbeats_sent.load();
  s.bytes = c.bytes.load();
  s.errors = c.errors.load();
  return s;
}

namespace viewers {

void RunContext::Warn(int player, std::string_view path, std::string_view why) {
  using std::chrono::nanoseconds;
  const std::int64_t now =
      std::chrono::duration_cast<nanoseconds>(alarms.clock().Now().time_since_epoch()).count();
  std::int64_t next = next_warn_ns.load();
  const std::int64_t interval = std::chrono::duration_cast<nanoseconds>(kWarnLogInterval).count();
  if (now < next || !next_warn_ns.compare_exchange_strong(next, now + interval)) {
    ++suppressed_warnings;
    return;
  }
  const std::int64_t suppressed = suppressed_warnings.exchange(0);
  if (suppressed > 0) {
    spdlog::warn("viewers: player {}: {}: {} ({} similar warnings suppressed)", player, path, why,
                 suppressed);
  } else {
    spdlog::warn("viewers: player {}: {}: {}", player, path, why);
  }
}

}  // namespace viewers
}  // namespace headcount
