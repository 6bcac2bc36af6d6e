// Prometheus metrics: a small registry (counters, gauges, fixed-bucket
// histograms, with labels) rendered in text format 0.0.4, and headcount's own
// metrics on top of it. Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/tick.h"

namespace headcount {

// Label name -> value. Sorted, so one set of labels has one spelling.
using MetricLabels = std::map<std::string, std::string>;

// A set of metric families, rendered in the order they were declared. Names
// and label names must be valid Prometheus names (the caller's constants);
// label values may be anything (they are escaped). Using an undeclared name,
// or a name as the wrong type, is a bug: it is ignored (and asserts in debug).
class MetricsRegistry {
 public:
  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  void DeclareCounter(std::string name, std::string help);
  void DeclareGauge(std::string name, std::string help);
  // `bounds`: the upper bounds of the buckets, ascending; +Inf is implied.
  void DeclareHistogram(std::string name, std::string help, std::vector<double> bounds);

  // Counter: adds `delta` (>= 0) to the series `labels`, created at 0.
  void Add(std::string_view name, const MetricLabels& labels, double delta = 1);
  // Gauge: sets the series `labels`.
  void Set(std::string_view name, const MetricLabels& labels, double value);
  // Gauge: replaces every series of the family with `series`.
  void ReplaceAll(std::string_view name,
                  const std::vector<std::pair<MetricLabels, double>>& series);
  // Gauge or counter: the unlabelled value is `callback()`, asked at render
  // time (without the registry's lock held, so the callback may take its
  // own locks). A counter's callback must never go down.
  void SetCallback(std::string_view name, std::function<double()> callback);
  // Gauge: every series of the family is `callback()`'s, asked at render
  // time as SetCallback's.
  using Series = std::vector<std::pair<MetricLabels, double>>;
  void SetSeriesCallback(std::string_view name, std::function<Series()> callback);
  // Histogram: records one observation.
  void Observe(std::string_view name, double value);

  // Every family in text format 0.0.4: "# HELP", "# TYPE", then its series
  // sorted by labels. A family with no series renders its HELP/TYPE only.
  std::string Render() const;

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Family {
    std::string name;
    std::string help;
    Type type;
    std::map<MetricLabels, double> values;     // counter and gauge series
    std::function<double()> callback;          // gauge and counter, optional
    std::vector<double> bounds;                // histogram only
    std::vector<std::uint64_t> bucket_counts;  // per bound, not cumulative; last = +Inf
    double sum = 0;
    std::uint64_t count = 0;
    std::function<Series()> series_callback;  // gauge only, optional
  };
  Family* Find(std::string_view name, Type type);  // requires mu_
  // A counter or gauge family of `name`; requires mu_.
  Family* FindScalar(std::string_view name);

  // Guarded by mu_.
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Family>> families_;  // declaration order
};

// The routes of headcount_http_requests_total: a fixed set, never a raw path
// (a label per path would let clients create unbounded series).
enum class HttpRoute { kHlsPlaylist, kHlsSegment, kApi, kMetrics, kHealthz, kWeb, kOther };
// "hls_playlist", "hls_segment", "api", "metrics", "healthz", "web", "other".
std::string_view HttpRouteName(HttpRoute route);
// The route of a decoded request path: /hls/...*.m3u8 -> playlist, other
// /hls/... -> segment, /api/... -> api, /metrics, /healthz, "/" and files of
// the page (/watch..., /web/..., *.html, *.js, *.css, *.wasm, *.ico, ...) ->
// web, the rest -> other.
HttpRoute ClassifyRoute(std::string_view path);

// headcount's metrics:
//   headcount_ticks_total{result="ok"|"failed"}               counter
//   headcount_tick_duration_seconds                           histogram
//   headcount_tick_channels{kind="seen"|"stored"|"published"|"skipped"|"failed"}  gauge, last tick
//   headcount_channel_viewers{channel}                         gauge, last tick's live channels
//   headcount_sessions_active                                 gauge, callback
//   headcount_http_requests_total{route,code}                 counter
//   headcount_upstream_fetches_total{kind,outcome}            counter, proxy mode
//   headcount_upstream_lookups_total{kind,result}             counter, proxy mode
//   headcount_cmcd_reports_total                              counter, callback
//   headcount_cmcd_bad_lines_total                            counter, callback
//   headcount_cmcd_active_sids{channel}                       gauge, callback
//   headcount_distinct_flushes_total{result="ok"|"failed"}    counter
//   headcount_distinct_sketches_pending                       gauge, callback
//   headcount_distinct_sketches_dropped_total                 counter, callback
class Metrics {
 public:
  // Buckets of headcount_tick_duration_seconds.
  static constexpr double kTickDurationBounds[] = {
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

  Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Counts the tick, observes its duration, sets the tick_channels gauges and
  // replaces channel_viewers with the newest count of each summary (a channel
  // whose newest minute has no count is left out: a gap, not a zero).
  void RecordTick(const TickReport& report);
  // Counts one HTTP response.
  void CountRequest(HttpRoute route, int status);
  // The same by route name; a name outside the fixed set counts as "other".
  void CountRequest(std::string_view route, int status);
  // Proxy mode: one request to the upstream (kind "playlist" or "media";
  // outcome a status class "2xx".."5xx", "unreachable", "timeout" or
  // "too_large"), and one request for an upstream file (result "hit",
  // "shared" or "miss"). Fixed label sets, from the proxy's constants.
  void CountUpstreamFetch(std::string_view kind, std::string_view outcome);
  void CountUpstreamLookup(std::string_view kind, std::string_view result);
  // Where headcount_sessions_active comes from (e.g. the origin's session
  // table), called at render time. Without one the gauge has no value.
  void SetSessionsCallback(std::function<std::int64_t()> callback);
  // The same for headcount_heartbeat_viewers_active (src/heartbeat).
  void SetHeartbeatViewersCallback(std::function<std::int64_t()> callback);
  // The same for headcount_event_streams_open (server/event_feed.h).
  void SetEventStreamsCallback(std::function<std::int64_t()> callback);
  // The CMCD collector (src/heartbeat): reports taken and lines that were
  // not reports since start, and counted sids per channel, each asked at
  // render time. Without them the families have no value.
  void SetCmcdCallbacks(std::function<std::uint64_t()> reports,
                        std::function<std::uint64_t()> bad_lines,
                        std::function<std::map<std::string, std::int64_t>()> sids_by_channel);

  // The distinct viewers' sketches (origin/distinct_viewers.h): one flush
  // into the store after a tick, stored or not (kept for the next); and,
  // asked at render time, the sketches waiting for the next flush and those
  // not kept since start because too many were waiting.
  void CountDistinctFlush(bool stored);
  void SetDistinctCallbacks(std::function<std::int64_t()> pending,
                            std::function<std::uint64_t()> dropped);

  // The text exposition (Content-Type kContentType).
  std::string Render() const;
  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

 private:
  MetricsRegistry registry_;
};

}  // namespace headcount
