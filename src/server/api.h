// Api: headcount's HTTP API as a handler (no sockets): the live channels,
// a channel's stored history (JSON or CSV), /healthz and /metrics.
// Thread-safe if the HistoryReader is: Handle may run on several threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/history.h"
#include "server/http.h"
#include "server/live_state.h"
#include "server/metrics.h"
#include "server/worker_pool.h"

namespace headcount {

// History requests answered at once at most, by default: each is one or two
// store queries, which may take seconds on DynamoDB (its call budget is
// 20 s). More than a browser's 6 connections per host, so one dashboard
// never meets the limit.
inline constexpr std::size_t kDefaultMaxHistoryQueries = 16;

struct ApiOptions {
  // The store's bucket length (headcount's is one minute).
  std::chrono::seconds bucket_length{60};
  // History requests in flight at once; past it, 503 with Retry-After.
  std::size_t max_history_queries = kDefaultMaxHistoryQueries;
  // Why this node is degraded now (a cluster node that cannot reach Redis,
  // cluster/cluster_health.h), or nullopt when it is not; null = never.
  // Called on the I/O thread for each /healthz: quick and thread-safe.
  std::function<std::optional<std::string>()> degraded = nullptr;
};

// Routes (GET and HEAD only; another method on a known route -> 405 + Allow):
//   GET /api/channels
//     {"bucket_seconds":60,"updated":"<RFC 3339 of the last tick>"|null,
//      "channels":[{"id":"demo","live":true,"viewers":12|null,"at":"<newest bucket>",
//                   "buckets":[{"start":"...","viewers":12|null} x5, oldest first],
//                   "trend":"rising"}]}            sorted by id; `viewers` is the
//     newest bucket of the channel's latest summary (also for offline channels).
//   GET /api/channels/{id}/history?since=1h[&format=csv|json]
//     {"channel":"demo","from":"...","to":"...","bucket_seconds":60,
//      "points":[{"start":"...","viewers":n}]}    stored buckets only (a gap has no point);
//     or CSV "start,viewers" when format=csv or Accept prefers text/csv.
//     since: a duration (core ParseDuration), 0 < since <= kMaxHistorySpan;
//     id: one path segment of the raw target, percent-decoded, that is an
//     origin id (core IsValidChannelId, [A-Za-z0-9_-]{1,64}) or an IVS channel
//     ARN (core IsIvsChannelArn), e.g. /api/channels/arn%3Aaws%3Aivs%3Aus-west-2
//     %3A123456789012%3Achannel%2FabcdEFGH1234/history (what encodeURIComponent
//     makes). 400 for a bad id or parameter (named), 404 for an unknown
//     channel, 503 when the store fails, and 503 with Retry-After when
//     max_history_queries are in flight already or the pool is busy.
//   GET /api/channels/{id}/summary?since=24h&by=hour|day
//     AudienceJson below: per UTC hour (default) or day of the range, the
//     peak and when, the average, viewer-minutes and live minutes, and the
//     total; since as for history (default 24h), the same 400/404/503s.
//   GET /healthz   {"status":"ok","last_tick":"..."|null}; a degraded node
//     (ApiOptions::degraded) answers {"status":"degraded","degraded":"<why>",
//     "last_tick":...}, still 200: it serves media and counts its own viewers.
//   GET /metrics   Prometheus text format 0.0.4
// Anything else -> 404. Every error body is {"error":"..."}.
class Api {
 public:
  static constexpr std::chrono::days kMaxHistorySpan{366};
  static constexpr std::chrono::hours kDefaultHistorySpan{1};
  static constexpr std::chrono::hours kDefaultSummarySpan{24};

  // Every reference must outlive the Api; `pool` runs the store queries,
  // and must be stopped before the Api goes away.
  Api(LiveState& live, HistoryReader& history, Metrics& metrics, const Clock& clock,
      WorkerPool& pool, ApiOptions options = {});
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  // Answers `request` through `respond` (an AsyncHttpHandler). The history
  // route checks its parameters here and queries the store on the pool,
  // answering from there; every other route (and every 4xx) answers before
  // returning, without blocking. Never throws for bad input.
  void Handle(const HttpRequest& request, HttpResponder respond);

  // True for the paths Handle answers (/api, /api/..., /healthz, /metrics),
  // so a router in front can send the rest elsewhere.
  static bool Serves(std::string_view path);

 private:
  // A history request whose parameters are valid.
  struct HistoryQuery {
    ChannelId channel;
    std::chrono::milliseconds since{};
    bool csv = false;
    std::optional<AudiencePeriod> summary;  // the summary route, by this period
  };

  HttpResponse Channels() const;
  // Answers the history request for `raw_channel` (the still
  // percent-encoded id segment of the target).
  // (`summary`: the summary route of that channel.)
  void History(std::string_view raw_channel, bool summary, const HttpRequest& request,
               HttpResponder respond);
  // The stored history `query` asks for; blocks on the store (a worker runs it).
  HttpResponse QueryHistory(const HistoryQuery& query);
  HttpResponse Health() const;

  LiveState& live_;
  HistoryReader& history_;
  Metrics& metrics_;
  const Clock& clock_;
  WorkerPool& pool_;
  const ApiOptions options_;
  ConcurrencyLimit history_queries_;
};

// The /api/channels document of `snapshot` (see Api), with only the entry of
// `only` when set (none when that channel is unknown).
std::string ChannelsJson(const LiveSnapshot& snapshot, std::chrono::seconds bucket_length,
                         const std::optional<ChannelId>& only = std::nullopt);

// A channel's audience summaries (core/audience.h) as the summary API gives
// them: {"channel","from","to","by","bucket_seconds","periods":[{"start",
// "peak","peak_at","average","viewer_minutes","live_minutes",
// "distinct_viewers"}],"total":{...}}; distinct_viewers is null where no
// sketch is stored (AudienceSummary::DistinctViewers).
std::string AudienceJson(const ChannelId& channel, Seconds from, Seconds to, AudiencePeriod by,
                         std::chrono::seconds bucket_length,
                         const std::vector<AudienceSummary>& periods);

// A channel's samples (oldest first) as the history API and `headcount
// history` print them: CSV with a "start,viewers" header and RFC 3339 times,
// or JSON {"channel","from","to","bucket_seconds","points":[{"start","viewers"}]}.
std::string HistoryCsv(const std::vector<Sample>& samples);
std::string HistoryJson(const ChannelId& channel, Seconds from, Seconds to,
                        std::chrono::seconds bucket_length, const std::vector<Sample>& samples);

// True if the Accept header value prefers text/csv over application/json
// (by q-values, the most specific matching range deciding each).
bool AcceptPrefersCsv(std::string_view accept);

}  // namespace headcount
