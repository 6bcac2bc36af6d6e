// `headcount serve`: wires a pipeline together and runs it until
// SIGINT/SIGTERM, letting a running tick finish: the Source and Publisher
// (the built-in HLS origin, or Amazon IVS) and the Store (SQLite,
// DynamoDB or PostgreSQL) come from the configuration through MakePipeline, as for
// `headcount tick`; then the minute scheduler and the HTTP server with the
// API and the pages. Single-threaded wiring; the parts say what they allow.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>
#include <variant>

#include "cli/commands.h"
#include "cli/pipeline.h"
#include "cli/serial_ticks.h"
#include "cli/signals.h"
#include "cluster/cluster_node.h"
#include "cluster/cluster_source.h"
#include "cluster/cluster_ticks.h"
#include "cluster/redis_url.h"
#include "core/payload.h"
#include "core/scheduler.h"
#include "core/tick.h"
#include "core/time_text.h"
#include "core/window_cache.h"
#include "heartbeat/combined_source.h"
#include "heartbeat/heartbeat_api.h"
#include "heartbeat/heartbeat_viewers.h"
#include "origin/distinct_viewers.h"
#include "origin/fan_out_sink.h"
#include "origin/origin.h"
#include "origin/session_key.h"
#include "origin/upstream_fetcher.h"
#include "origin/upstream_template.h"
#include "server/api.h"
#include "server/event_feed.h"
#include "server/http_server.h"
#include "server/live_state.h"
#include "server/metrics.h"
#include "server/worker_pool.h"
#include "store/postgres/postgres_url.h"
#include "store/sqlite/pruner.h"
#include "web/web.h"

namespace headcount {
namespace {

// How often old samples are pruned.
constexpr std::chrono::minutes kPruneInterval{10};

// The built-in HLS origin and its heartbeat viewers, signed with one key.
struct OriginParts {
  std::unique_ptr<Origin> origin;
  std::unique_ptr<HeartbeatViewers> heartbeats;
};

// The built-in HLS origin of `config` (hls_root created if missing, or the
// upstream fetcher of proxy mode counting into `metrics`; the session key
// loaded or created, and checked against `cluster`'s if any) and its
// heartbeat viewers, both telling `sink` (if any) of the viewers they count,
// or the exit code to stop with.
std::variant<OriginParts, int> MakeOrigin(const Config& config, const Clock& clock,
                                          Metrics& metrics, ClusterNode* cluster,
                                          ViewerSink* sink) {
  std::error_code ec;
  if (config.upstream.empty()) std::filesystem::create_directories(config.hls_root, ec);
  if (config.upstream.empty() && !std::filesystem::is_directory(config.hls_root, ec)) {
    spdlog::error("origin.hls_root: {} is not a folder and could not be created",
                  config.hls_root.string());
    return kExitUsage;
  }
  auto session_key = LoadOrCreateSessionKey(config.session_key_file);
  if (!session_key.ok()) {
    spdlog::error("origin.session_key_file: {}", session_key.error().message());
    return session_key.error().code() == ErrorCode::kInvalidArgument ? kExitUsage : kExitFailure;
  }
  if (cluster != nullptr) {
    if (Status st = cluster->CheckSessionKey(*session_key); !st.ok()) {
      spdlog::error("cluster.redis: {}", st.error().message());
      return kExitUsage;
    }
  }

  HeartbeatOptions heartbeat_options;
  heartbeat_options.key = *session_key;
  heartbeat_options.max_viewers_per_client = config.max_sessions_per_client;
  heartbeat_options.cmcd_timeout = config.cmcd_timeout;
  heartbeat_options.sink = sink;
  OriginOptions origin_options;
  origin_options.session_key = std::move(*session_key);
  origin_options.hls_root = config.hls_root;
  origin_options.session_idle_timeout = config.session_idle_timeout;
  origin_options.live_timeout = config.live_timeout;
  origin_options.max_sessions_per_client = config.max_sessions_per_client;
  origin_options.segment_metadata = config.segment_metadata;
  origin_options.cacheable = config.count == CountMode::kHeartbeats;
  origin_options.viewer_sink = sink;
  auto heartbeats = std::make_unique<HeartbeatViewers>(std::move(heartbeat_options));
  if (config.upstream.empty()) {
    return OriginParts{std::make_unique<Origin>(origin_options, clock), std::move(heartbeats)};
  }

  Result<UpstreamTemplate> upstream = UpstreamTemplate::Parse(config.upstream);
  if (!upstream.ok()) {  // LoadConfig checked it
    spdlog::error("origin.upstream: {}", upstream.error().message());
    return kExitUsage;
  }
  origin_options.upstream = std::move(*upstream);
  origin_options.upstream_channels = config.channels;
  UpstreamFetcherOptions fetcher_options;
  fetcher_options.timeout = config.upstream_timeout;
  fetcher_options.cache_bytes = config.upstream_cache_bytes;
  fetcher_options.ca_file = config.upstream_ca_file.string();
  fetcher_options.credentials = config.upstream_credentials;
  fetcher_options.on_fetch = [&metrics](UpstreamKind kind, std::string_view outcome) {
    metrics.CountUpstreamFetch(UpstreamKindName(kind), outcome);
  };
  fetcher_options.on_lookup = [&metrics](UpstreamKind kind, std::string_view result) {
    metrics.CountUpstreamLookup(UpstreamKindName(kind), result);
  };
  auto fetcher = UpstreamFetcher::Create(std::move(fetcher_options), clock);
  if (!fetcher.ok()) {
    spdlog::error("origin.upstream: {}", fetcher.error().message());
    return kExitUsage;
  }
  return OriginParts{std::make_unique<Origin>(origin_options, clock, std::move(*fetcher)),
                     std::move(heartbeats)};
}

// What the start-up line says about the source and the store.
std::string Describe(const Config& config) {
  std::string out = config.source == SourceKind::kIvs ? "counting Amazon IVS channels"
                    : config.upstream.empty()
                        ? "HLS root " + config.hls_root.string()
                        : "upstream " + config.upstream;  // no query, no user info
  if (config.source != SourceKind::kIvs) {
    out += ", counting " + std::string(CountModeName(config.count));
    if (CmcdOn(config)) out += " and CMCD reports";
  }
  switch (config.store) {
    case StoreKind::kDynamoDb:
      out += ", DynamoDB table " + config.dynamodb_table;
      return config.redis_url.empty() ? out : out + ", cluster " + RedactRedisUrl(config.redis_url);
    case StoreKind::kPostgres:  // the password redacted
      out += ", PostgreSQL " + RedactPostgresUrl(config.postgres_url);
      return config.redis_url.empty() ? out : out + ", cluster " + RedactRedisUrl(config.redis_url);
    case StoreKind::kSqlite:
      break;
  }
  return out + ", database " + config.database.string();
}

// A cluster's node (cluster.redis), or null when this node counts alone.
// Timeouts as the local tables have them, so a shared count drops a viewer
// when this node's own would.
std::unique_ptr<ClusterNode> StartCluster(const Config& config) {
  if (config.redis_url.empty()) return nullptr;
  Result<RedisEndpoint> endpoint = ParseRedisUrl(config.redis_url);  // LoadConfig checked it
  if (!endpoint.ok()) return nullptr;
  ClusterNodeOptions options;
  options.redis.endpoint = std::move(*endpoint);
  options.redis.ca_file = config.redis_ca_file.string();
  options.viewers.key_prefix = config.cluster_key_prefix;
  options.viewers.session_timeout = config.session_idle_timeout;
  options.viewers.token_timeout = kHeartbeatExpiry;
  options.viewers.sid_timeout = config.cmcd_timeout;
  options.viewers.token_gap = kHeartbeatInterval / 2;
  options.node_name = DefaultNodeName();
  spdlog::info("cluster: node {} sharing its count in Redis {} (keys {}*)", options.node_name,
               RedactRedisUrl(config.redis_url), config.cluster_key_prefix);
  return ClusterNode::Start(options);
}

// The server's routes. Everything answers at once on the I/O thread but
// history queries (the Api sends them to the worker pool) and asked-for ticks
// (which wait for a running tick, then run one). The origin's routes are
// under its prefix; without an origin (IVS), requests under the prefix it
// would have get a 404 that says why.
class ServeRoutes {
 public:
  // `heartbeats` is null when `origin` is.
  ServeRoutes(Origin* origin, HeartbeatApi* heartbeats, const CorsPolicy& cors, Api& api,
              EventFeed& events, WorkerPool& workers, SerialTicks& ticks, const Clock& clock)
      : origin_(origin),
        heartbeats_(heartbeats),
        cors_(cors),
        api_(api),
        events_(events),
        workers_(workers),
        ticks_(ticks),
        clock_(clock),
        hls_routes_((origin ? origin->url_prefix() : OriginOptions{}.url_prefix) + "/") {}

  void Handle(const HttpRequest& req, HttpResponder respond) {
    if (req.path.starts_with(hls_routes_)) {
      // Pages of other origins play the stream with hls.js (fetch/XHR); one
      // that sends request-mode CMCD in headers asks first.
      if (origin_ != nullptr && req.method == "OPTIONS") {
        return respond.Respond(cors_.Preflight(req, "GET, HEAD", kCorsMediaHeaders));
      }
      if (origin_ != nullptr) return origin_->Handle(req, WithCors(req, std::move(respond)));
      return respond.Respond(
          HttpResponse::Error(404,
                              "no HLS here: this server counts Amazon IVS channels (tick.source "
                              "= ivs); play them from their IVS playback URL"));
    }
    if (req.path == "/api/tick") return HandleTick(req, std::move(respond));
    if (HeartbeatApi::Serves(req.path)) {
      if (heartbeats_ != nullptr) return respond.Respond(heartbeats_->Handle(req));
      return respond.Respond(HttpResponse::Error(
          404, "no heartbeats here: this server counts Amazon IVS channels (tick.source = ivs)"));
    }
    if (req.path == kEventsRoute) return respond.Respond(HandleEvents(req));
    if (req.path == kChannelsRoute) {
      // headcount.js reads the counts here when a stream carries none.
      return api_.Handle(req, WithCors(req, std::move(respond)));
    }
    if (Api::Serves(req.path)) return api_.Handle(req, std::move(respond));
    if (req.path.starts_with(kStaticRoutes)) return respond.Respond(HandleStatic(req));
    if (ServesWeb(req.path)) return respond.Respond(HandleWeb(req));  // /, /watch/...
    respond.Respond(HttpResponse::Error(404, "not found"));
  }

 private:
  // `respond`, adding to the answer, whenever it comes, the CORS headers for
  // the page origin of `req` (Vary: Origin on every answer when origins are
  // listed, with or without an Origin header, so a cache keeps them apart).
  // The policy is copied: a late answer may outlive these routes.
  HttpResponder WithCors(const HttpRequest& req, HttpResponder respond) const {
    if (cors_.empty()) return respond;
    // std::function wants a copyable callable: the responder is shared.
    auto inner = std::make_shared<HttpResponder>(std::move(respond));
    return HttpResponder::FromFunction(
        [inner, cors = cors_, page = req.Header("origin")](HttpResponse r) {
          cors.ApplyForOrigin(page, r);
          inner->Respond(std::move(r));
        });
  }

  // POST /api/tick, from this machine only: runs a tick on the worker pool.
  void HandleTick(const HttpRequest& req, HttpResponder respond) {
    if (req.method != "POST") {
      HttpResponse r = HttpResponse::Error(405, "use POST");
      r.headers.emplace_back("Allow", "POST");
      return respond.Respond(std::move(r));
    }
    if (!IsLoopbackAddress(req.client_address)) {
      return respond.Respond(
          HttpResponse::Error(403, "ticks can only be asked for from this machine"));
    }
    workers_.Submit(std::move(respond),
                    [this] { return HttpResponse::Json(200, ticks_.Run(clock_.Now()).ToJson()); });
  }

  // GET /api/events: each tick as a server-sent event (server/event_feed.h),
  // for the dashboard and for headcount.js on other sites' pages, whose
  // reconnection sends Last-Event-ID (not a CORS-safelisted header: it is
  // preflighted).
  HttpResponse HandleEvents(const HttpRequest& req) const {
    if (req.method == "OPTIONS") return cors_.Preflight(req, "GET, HEAD", "Last-Event-ID");
    HttpResponse r;
    if (req.method != "GET" && req.method != "HEAD") {
      r = HttpResponse::Error(405, "method not allowed");
      r.headers.emplace_back("Allow", "GET, HEAD, OPTIONS");
    } else {
      r = events_.Subscribe(req);
    }
    cors_.Apply(req, r);
    return r;
  }

  // /static/<file>: what other sites' pages load (headcount.js and the
  // modules it imports) when server.cors_origins allows them.
  HttpResponse HandleStatic(const HttpRequest& req) const {
    if (req.method == "OPTIONS") return cors_.Preflight(req, "GET, HEAD");
    HttpResponse r = HandleWeb(req);
    cors_.Apply(req, r);
    return r;
  }

  static constexpr std::string_view kStaticRoutes = "/static/";
  static constexpr std::string_view kChannelsRoute = "/api/channels";
  static constexpr std::string_view kEventsRoute = "/api/events";

  Origin* const origin_;            // null when the source is IVS
  HeartbeatApi* const heartbeats_;  // null when the source is IVS
  const CorsPolicy& cors_;
  Api& api_;
  EventFeed& events_;
  WorkerPool& workers_;
  SerialTicks& ticks_;
  const Clock& clock_;
  const std::string hls_routes_;
};

}  // namespace

int RunServe(const Config& config) {
  std::promise<int> stop_signal;
  SignalWatcher signals([&](int signo) { stop_signal.set_value(signo); });

  SystemClock clock;
  const bool ivs = config.source == SourceKind::kIvs;
  // The same parts as `headcount tick`: the store, and IVS when it is the source.
  auto pipeline = MakePipeline(config, clock, /*with_source=*/ivs, /*read_only_store=*/false);
  if (!pipeline.ok()) {
    spdlog::error("{}", pipeline.error().message());
    return pipeline.error().code() == ErrorCode::kInvalidArgument ? kExitUsage : kExitFailure;
  }
  Pipeline& parts = **pipeline;
  Metrics metrics;
  // Before the origin, whose viewer tables tell it what they count.
  const std::unique_ptr<ClusterNode> cluster = StartCluster(config);
  std::unique_ptr<Origin> origin;
  std::unique_ptr<HeartbeatViewers> heartbeats;
  std::unique_ptr<HeartbeatApi> heartbeat_api;
  std::unique_ptr<CombinedSource> combined;
  // The distinct viewers the origin's tables count, for the summaries, when
  // the store keeps them; each node merges its own into the store.
  std::unique_ptr<DistinctViewers> distinct;
  if (!ivs && parts.distinct() != nullptr) distinct = std::make_unique<DistinctViewers>();
  FanOutSink viewer_sink({cluster ? &cluster->viewers() : nullptr, distinct.get()});
  if (!ivs) {
    auto made = MakeOrigin(config, clock, metrics, cluster.get(),
                           cluster || distinct ? &viewer_sink : nullptr);
    if (const int* code = std::get_if<int>(&made)) return *code;
    OriginParts& parts = std::get<OriginParts>(made);
    origin = std::move(parts.origin);
    heartbeats = std::move(parts.heartbeats);
    // A channel is one the origin serves: a folder under the root (with
    // ffmpeg writing into it, or it is not live and counts nothing), or one
    // the upstream serves.
    HeartbeatApiOptions heartbeat_api_options;
    heartbeat_api_options.cmcd = CmcdOn(config);
    heartbeat_api = std::make_unique<HeartbeatApi>(
        *heartbeats, clock, config.cors_origins,
        [&origin = *origin](std::string_view c) { return origin.ServesChannel(c); },
        heartbeat_api_options);
    combined = std::make_unique<CombinedSource>(*origin, *heartbeats);
  }
  auto pruner = StartPruner(config, clock, kPruneInterval);
  if (!pruner.ok()) {
    spdlog::error("cannot start pruning: {}", pruner.error().ToString());
    return kExitFailure;
  }

  LiveState live;
  if (origin) {
    metrics.SetSessionsCallback([&] { return origin->ActiveSessions(clock.Now()); });
    metrics.SetHeartbeatViewersCallback([&] { return heartbeats->ActiveTotal(clock.Now()); });
    metrics.SetCmcdCallbacks([&] { return heartbeat_api->cmcd().reports(); },
                             [&] { return heartbeat_api->cmcd().bad_lines(); },
                             [&] { return heartbeats->CountSids(clock.Now()); });
  }
  if (distinct) {
    metrics.SetDistinctCallbacks([&] { return static_cast<std::int64_t>(distinct->pending()); },
                                 [&] { return distinct->dropped(); });
  }
  ApiOptions api_options;
  api_options.bucket_length = config.tick_interval;
  if (cluster) api_options.degraded = [&cluster] { return cluster->health().degraded(); };
  // Store queries and ticks block: they run here, never on the I/O threads.
  // A thread per history query the Api allows, and one for a POST /api/tick.
  WorkerPoolOptions worker_options;
  worker_options.threads = api_options.max_history_queries + 1;
  WorkerPool workers(worker_options);
  Api api(live, parts.history(), metrics, clock, workers, api_options);
  EventFeedOptions event_options;
  event_options.bucket_length = config.tick_interval;
  event_options.max_streams = config.max_event_streams;
  EventFeed events(event_options);
  metrics.SetEventStreamsCallback(
      [&events] { return static_cast<std::int64_t>(events.open_streams()); });
  std::unique_ptr<ClusterSource> shared_source;
  if (cluster && origin) {
    shared_source =
        std::make_unique<ClusterSource>(*combined, cluster->viewers(), cluster->health());
  }
  Source& source = shared_source ? static_cast<Source&>(*shared_source)
                   : origin      ? static_cast<Source&>(*combined)
                                 : *parts.source();
  Publisher& publisher = origin ? static_cast<Publisher&>(*origin) : *parts.publisher();
  // Ticks read the window back from what this process wrote, once it has
  // written all of it (docs/dynamodb.md); the API reads history from the store.
  WindowCache window(parts.store(), config.tick_interval);
  TickRunner runner(source, window, publisher, clock);
  SystemWaiter waiter;  // the scheduler's, and a cluster's wait for another node's tick
  std::unique_ptr<ClusterTicks> cluster_ticks;
  if (cluster) {
    cluster_ticks = std::make_unique<ClusterTicks>(
        cluster->lease(), cluster->health(), clock, waiter,
        ClusterTicksOptions{.interval = config.tick_interval},
        [&](WallTime now, WallTime deadline) {
          return RunPipelineTick(parts, runner, now, deadline, config.tick_interval);
        },
        // Another node's tick: its payloads into this node's playlists and
        // segments (IVS publishes once, from the lease holder).
        [&origin](const TickReport& report) {
          if (!origin) return;
          for (const Summary& s : report.summaries) (void)origin->Publish(s, EncodePayloadV1(s));
        },
        [&window] { window.Clear(); });
  }
  SerialTicks ticks(parts, runner, live, events, metrics, config.tick_interval,
                    cluster_ticks.get());
  ServeRoutes routes(origin.get(), heartbeat_api.get(), config.cors_origins, api, events, workers,
                     ticks, clock);

  HttpServerOptions server_options;
  server_options.address = config.listen_address;
  server_options.port = config.listen_port;
  if (!config.trusted_proxies.empty()) {
    server_options.client_address = [&proxies = config.trusted_proxies](
                                        const std::string& peer, const HttpRequest& request) {
      return proxies.ClientAddress(peer, request.Header("x-forwarded-for"));
    };
  }
  // An asked-for tick may wait for the running one, then run its own.
  server_options.response_timeout =
      std::max<std::chrono::seconds>(kDefaultResponseTimeout, 2 * config.tick_interval);
  // A blocking LL-HLS reload is held by the upstream, then answered.
  if (!config.upstream.empty()) {
    server_options.response_timeout =
        std::max(server_options.response_timeout,
                 config.upstream_timeout + kMaxBlockingReloadHold + std::chrono::seconds(5));
  }
  HttpServer server(
      server_options,
      [&routes](const HttpRequest& req, HttpResponder respond) {
        routes.Handle(req, std::move(respond));
      },
      [&](const HttpExchange& x) { metrics.CountRequest(ClassifyRoute(x.path), x.status); });
  if (Status st = server.Start(); !st.ok()) {
    spdlog::error("cannot serve HTTP: {}", st.error().ToString());
    return kExitFailure;
  }
  spdlog::info("serving on http://{}:{} — {}, a tick every {}", config.listen_address,
               server.port(), Describe(config), FormatDuration(config.tick_interval));

  // After each tick, this node's new sketches, done by nine tenths of the
  // interval before the next tick (as a tick's own deadline), so a slow
  // store never delays it: what is not stored by then is kept for the next.
  const auto flush_distinct = [&] {
    if (!distinct) return;
    const Seconds next_tick = BucketStart(clock.Now(), config.tick_interval) + config.tick_interval;
    parts.SetDeadline(next_tick - config.tick_interval / 10);
    const Status st = distinct->Flush(*parts.distinct());
    metrics.CountDistinctFlush(st.ok());
    if (!st.ok()) {
      spdlog::warn("distinct viewers: not stored yet ({} kept for the next tick): {}",
                   distinct->pending(), st.error().ToString());
    }
    parts.SetDeadline(std::nullopt);
  };
  Scheduler scheduler(clock, waiter, config.tick_interval);
  std::thread ticker([&] {
    scheduler.Run([&](Seconds) {
      ticks.Run(clock.Now());
      flush_distinct();
    });
  });

  const int signo = stop_signal.get_future().get();
  spdlog::info("{}: stopping; a running tick finishes first",
               signo == SIGINT ? "SIGINT" : "SIGTERM");
  scheduler.Stop();
  ticker.join();
  server.Stop();
  // The viewers seen since the last tick.
  flush_distinct();
  workers.Stop();  // waits for an asked-for tick; answers nobody (the server is stopped)
  if (*pruner) (*pruner)->Stop();
  spdlog::info("stopped");
  return kExitOk;
}

}  // namespace headcount
