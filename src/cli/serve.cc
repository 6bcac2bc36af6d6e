// `headcount serve`: wires the embedded pipeline together (origin as Source
// and Publisher, SQLite as Store, the minute scheduler, the HTTP server with
// the API) and runs it until SIGINT/SIGTERM, letting a running tick finish.
#include <spdlog/spdlog.h>

#include <filesystem>
#include <future>
#include <mutex>
#include <thread>

#include "cli/commands.h"
#include "cli/signals.h"
#include "core/scheduler.h"
#include "core/tick.h"
#include "core/time_text.h"
#include "origin/origin.h"
#include "origin/session_key.h"
#include "server/api.h"
#include "server/http_server.h"
#include "server/live_state.h"
#include "server/metrics.h"
#include "store/sqlite/pruner.h"
#include "store/sqlite/sqlite_store.h"
#include "web/web.h"

namespace headcount {
namespace {

// How many per-channel problems one tick logs before summarising the rest.
constexpr std::size_t kMaxLoggedNotes = 10;
// How often old samples are pruned.
constexpr std::chrono::minutes kPruneInterval{10};

void LogTick(const TickReport& r) {
  const auto level = r.ok() ? spdlog::level::info : spdlog::level::warn;
  std::int64_t viewers = 0;
  for (const auto& s : r.summaries) viewers += s.counts.back().value_or(0);
  spdlog::log(level,
              "tick {}: {} viewers on {} live channel{}; {} stored, {} published, {} skipped, {} "
              "failed in {:.1f} ms",
              FormatRfc3339(r.bucket), viewers, r.seen, r.seen == 1 ? "" : "s", r.stored,
              r.published, r.skipped.size(), r.failed.size(),
              std::chrono::duration<double, std::milli>(r.duration).count());
  std::size_t logged = 0;
  for (const auto& n : r.failed) {
    if (logged++ == kMaxLoggedNotes) break;
    spdlog::warn("tick {}: channel \"{}\" failed at {}: {}", FormatRfc3339(r.bucket), n.channel,
                 n.stage, n.reason);
  }
  if (r.failed.size() > kMaxLoggedNotes) {
    spdlog::warn("tick {}: and {} more failures", FormatRfc3339(r.bucket),
                 r.failed.size() - kMaxLoggedNotes);
  }
  for (const auto& n : r.skipped) {
    spdlog::debug("tick {}: channel \"{}\" skipped at {}: {}", FormatRfc3339(r.bucket), n.channel,
                  n.stage, n.reason);
  }
}

}  // namespace

int RunServe(const Config& config) {
  std::promise<int> stop_signal;
  SignalWatcher signals([&](int signo) { stop_signal.set_value(signo); });

  SystemClock clock;
  std::error_code ec;
  std::filesystem::create_directories(config.hls_root, ec);
  if (!std::filesystem::is_directory(config.hls_root, ec)) {
    spdlog::error("origin.hls_root: {} is not a folder and could not be created",
                  config.hls_root.string());
    return kExitUsage;
  }

  auto store = SqliteStore::Open(config.database);
  if (!store.ok()) {
    spdlog::error("cannot open the database {}: {}", config.database.string(),
                  store.error().ToString());
    return kExitFailure;
  }
  PrunerOptions prune_options;
  prune_options.retention = config.retention;
  prune_options.interval = kPruneInterval;
  auto pruner = Pruner::Start(config.database, clock, prune_options);
  if (!pruner.ok()) {
    spdlog::error("cannot start pruning {}: {}", config.database.string(),
                  pruner.error().ToString());
    return kExitFailure;
  }

  const std::filesystem::path key_file =
      config.session_key_file.empty()
          ? std::filesystem::path(config.database.string() + ".session-key")
          : config.session_key_file;
  auto session_key = LoadOrCreateSessionKey(key_file);
  if (!session_key.ok()) {
    spdlog::error("origin.session_key_file: {}", session_key.error().message());
    return session_key.error().code() == ErrorCode::kInvalidArgument ? kExitUsage : kExitFailure;
  }

  OriginOptions origin_options;
  origin_options.session_key = std::move(*session_key);
  origin_options.hls_root = config.hls_root;
  origin_options.session_idle_timeout = config.session_idle_timeout;
  origin_options.live_timeout = config.live_timeout;
  origin_options.max_sessions_per_client = config.max_sessions_per_client;
  Origin origin(origin_options, clock);

  LiveState live;
  Metrics metrics;
  metrics.SetSessionsCallback([&] { return origin.ActiveSessions(clock.Now()); });
  ApiOptions api_options;
  api_options.bucket_length = config.tick_interval;
  Api api(live, **store, metrics, clock, api_options);
  TickRunner runner(origin, **store, origin, clock);

  std::mutex tick_mu;  // one tick at a time: scheduled or asked for
  auto run_tick = [&](WallTime now) {
    std::lock_guard lock(tick_mu);
    TickOptions options;
    options.bucket_length = config.tick_interval;
    // Leave a tenth of the interval so a slow tick never runs into the next.
    options.deadline = WallTime{BucketStart(now, config.tick_interval)} + config.tick_interval -
                       config.tick_interval / 10;
    TickReport report = runner.Run(now, options);
    live.Update(report);
    metrics.RecordTick(report);
    LogTick(report);
    return report;
  };

  HttpHandler handler = [&](const HttpRequest& req) -> HttpResponse {
    if (req.path.rfind("/hls/", 0) == 0) return origin.Handle(req);
    if (req.path == "/api/tick") {
      if (req.method != "POST") {
        HttpResponse r = HttpResponse::Error(405, "use POST");
        r.headers.emplace_back("Allow", "POST");
        return r;
      }
      if (!IsLoopbackAddress(req.client_address)) {
        return HttpResponse::Error(403, "ticks can only be asked for from this machine");
      }
      const TickReport report = run_tick(clock.Now());
      return HttpResponse::Json(200, report.ToJson());
    }
    if (req.path.rfind("/api/", 0) == 0 || req.path == "/healthz" || req.path == "/metrics") {
      return api.Handle(req);
    }
    if (ServesWeb(req.path)) return HandleWeb(req);  // /, /watch/..., /static/...
    return HttpResponse::Error(404, "not found");
  };

  HttpServerOptions server_options;
  server_options.address = config.listen_address;
  server_options.port = config.listen_port;
  HttpServer server(server_options, handler, [&](const HttpExchange& x) {
    metrics.CountRequest(ClassifyRoute(x.path), x.status);
  });
  if (Status st = server.Start(); !st.ok()) {
    spdlog::error("cannot serve HTTP: {}", st.error().ToString());
    return kExitFailure;
  }
  spdlog::info("serving on http://{}:{} — HLS root {}, database {}, a tick every {}",
               config.listen_address, server.port(), config.hls_root.string(),
               config.database.string(), FormatDuration(config.tick_interval));

  SystemWaiter waiter;
  Scheduler scheduler(clock, waiter, config.tick_interval);
  std::thread ticker([&] { scheduler.Run([&](Seconds) { run_tick(clock.Now()); }); });

  const int signo = stop_signal.get_future().get();
  spdlog::info("{}: stopping; a running tick finishes first",
               signo == SIGINT ? "SIGINT" : "SIGTERM");
  scheduler.Stop();
  ticker.join();
  server.Stop();
  (*pruner)->Stop();
  spdlog::info("stopped");
  return kExitOk;
}

}  // namespace headcount
