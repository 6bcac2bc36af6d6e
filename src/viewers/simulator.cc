// ViewerSimulator (see simulator.h): checks the options, starts the players
// (viewers/player.h) on one io_context, logs the counters and ends the run.
// Every player is an async state machine on its own strand and is touched
// only from it; what players share (viewers/run_context.h) is atomic or
// read-only.
#include "viewers/simulator.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>
#include <cstdio>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "core/samples.h"
#include "core/time_text.h"
#include "net/url.h"
#include "viewers/heartbeater.h"
#include "viewers/player.h"
#include "viewers/run_context.h"

namespace headcount {

namespace {

namespace beast = boost::beast;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using viewers::Heartbeater;
using viewers::Player;
using viewers::RunContext;

constexpr auto kStatsLogInterval = std::chrono::seconds(5);
// File descriptors a process needs besides one per player.
constexpr int kSpareFileDescriptors = 64;

// Logs the counters every kStatsLogInterval, with rates since the last line.
class StatsReporter {
 public:
  StatsReporter(net::io_context& io, const SimulatorCounters& counters, Alarms& alarms)
      : clock_(alarms.clock()),
        alarm_(alarms.NewAlarm(io.get_executor())),
        counters_(counters),
        last_(Snapshot(counters)),
        last_at_(clock_.Now()) {}

  void Start() {
    alarm_->WakeAt(clock_.Now() + kStatsLogInterval, [this] {
      Log("");
      Start();
    });
  }

  // `prefix` marks special lines, e.g. "final: ".
  void Log(std::string_view prefix) {
    const SimulatorStats now = Snapshot(counters_);
    const WallTime at = clock_.Now();
    const double seconds = std::max(std::chrono::duration<double>(at - last_at_).count(), 1e-3);
    const auto rate = [seconds](std::int64_t d) { return static_cast<double>(d) / seconds; };
    spdlog::info(
        "viewers: {}{}/{} players active/started, {:.1f} requests/s ({:.1f} playlists/s, {:.1f} "
        "segments/s), {:.2f} MB/s, {} heartbeats, {} errors ({} new)",
        prefix, now.players_active, now.players_started,
        rate(now.playlist_requests + now.segment_requests - last_.playlist_requests -
             last_.segment_requests),
        rate(now.playlist_requests - last_.playlist_requests),
        rate(now.segment_requests - last_.segment_requests), rate(now.bytes - last_.bytes) / 1e6,
        now.heartbeats, now.errors, now.errors - last_.errors);
    last_ = now;
    last_at_ = at;
  }

 private:
  const Clock& clock_;
  const std::unique_ptr<Alarm> alarm_;
  const SimulatorCounters& counters_;
  SimulatorStats last_;
  WallTime last_at_;
};

void WarnIfFewFileDescriptors(int players) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return;
  const auto needed = static_cast<rlim_t>(players) + kSpareFileDescriptors;
  if (limit.rlim_cur < needed) {
    spdlog::warn(
        "viewers: {} players need about {} file descriptors but the limit is {}; raise it "
        "(ulimit -n) or connections will fail",
        players, needed, limit.rlim_cur);
  }
}

// The first part of a run's CMCD sids, random, so that two runs against one
// server are different viewers: 16 hex digits.
std::string CmcdSidPrefix() {
  std::random_device random;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%08x%08x", random(), random());
  return hex;
}

// Player `index`'s sid in a run: "<prefix>-<index>", at most 28 characters.
std::string CmcdSid(const std::string& prefix, int index) {
  return prefix + "-" + std::to_string(index);
}

// The channel of an origin URL path, /hls/<channel>/...; empty when the path
// is not one.
std::string ChannelOfPath(std::string_view path) {
  constexpr std::string_view kPrefix = "/hls/";
  if (!path.starts_with(kPrefix)) return "";
  path.remove_prefix(kPrefix.size());
  const std::size_t slash = path.find('/');
  return slash == std::string_view::npos ? "" : std::string(path.substr(0, slash));
}

Status CheckOptions(const SimulatorOptions& o) {
  if (o.count < 1 || o.count > kMaxPlayers) {
    return Error::InvalidArgument("count must be between 1 and " + std::to_string(kMaxPlayers));
  }
  if (o.threads < 1 || o.threads > kMaxSimulatorThreads) {
    return Error::InvalidArgument("threads must be between 1 and " +
                                  std::to_string(kMaxSimulatorThreads));
  }
  if (o.ramp.count() < 0) return Error::InvalidArgument("ramp must not be negative");
  if (o.duration.count() < 0) return Error::InvalidArgument("duration must not be negative");
  return Status();
}

// Runs the players of `options` on `io` (`threads` threads, this one
// included) until it stops: at the end of the duration, on Stop() (which
// stops `io`), or once every player reached the end of an ended stream. Then
// stops and joins every thread, calls `stopped`, and logs the final counters.
// Returns false if a thread stopped on an unexpected exception.
bool RunPlayers(const SimulatorOptions& options, RunContext& ctx, net::io_context& io,
                const std::function<void()>& stopped) {
  std::vector<std::thread> workers;
  std::atomic<bool> failed{false};
  // Stops and joins everything; runs before `io` and the players go away.
  const auto finish = [&] {
    io.stop();
    for (std::thread& w : workers) {
      if (w.joinable()) w.join();
    }
    stopped();
  };
  const WallTime start = ctx.alarms.clock().Now();
  const std::string sid_prefix = options.cmcd ? CmcdSidPrefix() : std::string();
  std::vector<std::shared_ptr<Player>> players;
  std::vector<std::shared_ptr<Heartbeater>> heartbeaters;
  std::optional<StatsReporter> reporter;
  std::unique_ptr<Alarm> end;
  try {
    players.reserve(static_cast<std::size_t>(options.count));
    for (int i = 0; i < options.count; ++i) {
      const WallTime at = start + options.ramp * i / options.count;
      players.push_back(std::make_shared<Player>(io, i, ctx));
      players.back()->Start(at);
      if (options.heartbeat) {
        heartbeaters.push_back(std::make_shared<Heartbeater>(io, i, ctx));
        heartbeaters.back()->Start(at);
      }
      if (options.cmcd) {
        heartbeaters.push_back(std::make_shared<Heartbeater>(
            io, i, ctx, Heartbeater::Protocol::kCmcd, CmcdSid(sid_prefix, i)));
        heartbeaters.back()->Start(at);
      }
    }
    reporter.emplace(io, ctx.counters, ctx.alarms);
    reporter->Start();
    if (options.duration.count() > 0) {
      end = ctx.alarms.NewAlarm(io.get_executor());
      end->WakeAt(start + options.duration, [&io] { io.stop(); });
    }
    const auto run = [&io, &failed] {
      try {
        io.run();
      } catch (const std::exception& e) {
        spdlog::error("viewers: stopping after an unexpected error: {}", e.what());
        failed = true;
        io.stop();
      }
    };
    for (int t = 1; t < options.threads; ++t) workers.emplace_back(run);
    run();
  } catch (...) {
    finish();
    throw;
  }
  finish();
  reporter->Log("final: ");
  // Players with pending handlers are destroyed with `io`, closing their
  // connections; players_active drops to 0.
  return !failed;
}

}  // namespace

ViewerSimulator::ViewerSimulator(SimulatorOptions options, Alarms& alarms)
    : options_(std::move(options)),
      alarms_(alarms),
      counters_(std::make_unique<SimulatorCounters>()) {}

ViewerSimulator::~ViewerSimulator() = default;

SimulatorStats ViewerSimulator::stats() const { return Snapshot(*counters_); }

void ViewerSimulator::Stop() {
  const std::lock_guard<std::mutex> lock(mu_);
  stop_requested_ = true;
  if (stop_running_) stop_running_();
}

Status ViewerSimulator::Run() {
  {
    const std::lock_guard<std::mutex> lock(mu_);
    if (run_called_) return Error::InvalidArgument("ViewerSimulator::Run may be called only once");
    run_called_ = true;
  }
  if (Status s = CheckOptions(options_); !s.ok()) return s;
  Result<Url> entry = ParseHttpUrl(options_.url);
  if (!entry.ok()) return Error::InvalidArgument("url: " + entry.error().message());
  std::string channel = options_.channel.empty() ? ChannelOfPath(entry->path) : options_.channel;
  if ((options_.heartbeat || options_.cmcd) && !IsValidChannelId(channel)) {
    return Error::InvalidArgument(
        "heartbeat, cmcd: no channel (the url's path is not /hls/<channel>/...; give one)");
  }
  WarnIfFewFileDescriptors(options_.count);

  try {
    // Declared before the io_context: players destroyed with it still use it.
    RunContext ctx(*entry, *counters_, alarms_, options_.count);
    ctx.api_prefix = "/api/channels/" + channel + "/";
    ctx.channel = channel;
    net::io_context io(options_.threads);

    // Every player connects to the same origin: resolve it once.
    tcp::resolver resolver(io);
    beast::error_code ec;
    ctx.endpoints = resolver.resolve(entry->host, std::to_string(entry->port), ec);
    if (ec) return Error::Unavailable("cannot resolve the stream's host: " + ec.message());
    ctx.stop_io = [&io] { io.stop(); };
    {
      const std::lock_guard<std::mutex> lock(mu_);
      if (stop_requested_) return Status();
      stop_running_ = [&io] { io.stop(); };
    }
    spdlog::info("viewers: {} players on {}{} (ramp {}, {})", options_.count, entry->HostHeader(),
                 entry->path, FormatDuration(options_.ramp),
                 options_.duration.count() > 0 ? "for " + FormatDuration(options_.duration)
                                               : std::string("until stopped"));
    const bool ok = RunPlayers(options_, ctx, io, [this] {
      const std::lock_guard<std::mutex> lock(mu_);
      stop_running_ = nullptr;
    });
    if (!ok) return Error::Internal("viewer simulator stopped after an unexpected error");
    return Status();
  } catch (const std::exception& e) {
    return Error::Internal(std::string("viewer simulator failed: ") + e.what());
  }
}

}  // namespace headcount
