// Prometheus registry and headcount's metrics (see metrics.h). Thread-safe:
// every family sits under the registry's one mutex.
#include "server/metrics.h"

#include <array>
#include <cassert>
#include <charconv>
#include <cmath>
#include <utility>

namespace headcount {
namespace {

constexpr std::string_view kTicksTotal = "headcount_ticks_total";
constexpr std::string_view kTickDuration = "headcount_tick_duration_seconds";
constexpr std::string_view kTickChannels = "headcount_tick_channels";
constexpr std::string_view kChannelViewers = "headcount_channel_viewers";
constexpr std::string_view kSessionsActive = "headcount_sessions_active";
constexpr std::string_view kHeartbeatViewersActive = "headcount_heartbeat_viewers_active";
constexpr std::string_view kEventStreamsOpen = "headcount_event_streams_open";
constexpr std::string_view kHttpRequests = "headcount_http_requests_total";
constexpr std::string_view kUpstreamFetches = "headcount_upstream_fetches_total";
constexpr std::string_view kUpstreamLookups = "headcount_upstream_lookups_total";
constexpr std::string_view kCmcdReports = "headcount_cmcd_reports_total";
constexpr std::string_view kCmcdBadLines = "headcount_cmcd_bad_lines_total";
constexpr std::string_view kCmcdActiveSids = "headcount_cmcd_active_sids";
constexpr std::string_view kDistinctFlushes = "headcount_distinct_flushes_total";
constexpr std::string_view kDistinctPending = "headcount_distinct_sketches_pending";
constexpr std::string_view kDistinctDropped = "headcount_distinct_sketches_dropped_total";

constexpr HttpRoute kAllRoutes[] = {
    HttpRoute::kHlsPlaylist, HttpRoute::kHlsSegment, HttpRoute::kApi,  HttpRoute::kMetrics,
    HttpRoute::kHealthz,     HttpRoute::kWeb,        HttpRoute::kOther};

// A sample value as Prometheus reads it: shortest round-trip decimal,
// "+Inf", "-Inf" or "NaN".
std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  std::array<char, 64> buf;
  const auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  assert(ec == std::errc());
  return std::string(buf.data(), end);
}

// Label values escape \, " and newline (text format 0.0.4).
std::string EscapeLabelValue(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// HELP text escapes \ and newline.
std::string EscapeHelp(std::string_view s) {
  std::string out;
  for (const char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// `{a="x",b="y"}` (with `extra` appended as the last label), or "" if none.
std::string FormatLabels(const MetricLabels& labels,
                         const std::pair<std::string_view, std::string>* extra = nullptr) {
  if (labels.empty() && extra == nullptr) return "";
  std::string out = "{";
  bool first = true;
  const auto append = [&](std::string_view name, std::string_view value) {
    if (!first) out += ',';
    first = false;
    out += name;
    out += "=\"";
    out += EscapeLabelValue(value);
    out += '"';
  };
  for (const auto& [name, value] : labels) append(name, value);
  if (extra != nullptr) append(extra->first, extra->second);
  out += '}';
  return out;
}

}  // namespace

void MetricsRegistry::DeclareCounter(std::string name, std::string help) {
  std::lock_guard lock(mu_);
  families_.push_back(std::make_unique<Family>(
      Family{std::move(name), std::move(help), Type::kCounter, {}, {}, {}, {}, 0, 0, {}}));
}

void MetricsRegistry::DeclareGauge(std::string name, std::string help) {
  std::lock_guard lock(mu_);
  families_.push_back(std::make_unique<Family>(
      Family{std::move(name), std::move(help), Type::kGauge, {}, {}, {}, {}, 0, 0, {}}));
}

void MetricsRegistry::DeclareHistogram(std::string name, std::string help,
                                       std::vector<double> bounds) {
  std::lock_guard lock(mu_);
  const std::size_t buckets = bounds.size() + 1;
  families_.push_back(std::make_unique<Family>(Family{std::move(name),
                                                      std::move(help),
                                                      Type::kHistogram,
                                                      {},
                                                      {},
                                                      std::move(bounds),
                                                      std::vector<std::uint64_t>(buckets, 0),
                                                      0,
                                                      0,
                                                      {}}));
}

MetricsRegistry::Family* MetricsRegistry::Find(std::string_view name, Type type) {
  for (const auto& family : families_) {
    if (family->name == name) {
      assert(family->type == type && "metric used as the wrong type");
      return family->type == type ? family.get() : nullptr;
    }
  }
  assert(false && "undeclared metric");
  return nullptr;
}

void MetricsRegistry::Add(std::string_view name, const MetricLabels& labels, double delta) {
  std::lock_guard lock(mu_);
  if (Family* f = Find(name, Type::kCounter)) f->values[labels] += delta;
}

void MetricsRegistry::Set(std::string_view name, const MetricLabels& labels, double value) {
  std::lock_guard lock(mu_);
  if (Family* f = Find(name, Type::kGauge)) f->values[labels] = value;
}

void MetricsRegistry::ReplaceAll(std::string_view name,
                                 const std::vector<std::pair<MetricLabels, double>>& series) {
  std::map<MetricLabels, double> values;
  for (const auto& [labels, value] : series) values[labels] = value;
  std::lock_guard lock(mu_);
  if (Family* f = Find(name, Type::kGauge)) f->values = std::move(values);
}

MetricsRegistry::Family* MetricsRegistry::FindScalar(std::string_view name) {
  for (const auto& family : families_) {
    if (family->name == name) {
      assert(family->type != Type::kHistogram && "metric used as the wrong type");
      return family->type != Type::kHistogram ? family.get() : nullptr;
    }
  }
  assert(false && "undeclared metric");
  return nullptr;
}

void MetricsRegistry::SetCallback(std::string_view name, std::function<double()> callback) {
  std::lock_guard lock(mu_);
  if (Family* f = FindScalar(name)) f->callback = std::move(callback);
}

void MetricsRegistry::SetSeriesCallback(std::string_view name, std::function<Series()> callback) {
  std::lock_guard lock(mu_);
  if (Family* f = Find(name, Type::kGauge)) f->series_callback = std::move(callback);
}

void MetricsRegistry::Observe(std::string_view name, double value) {
  std::lock_guard lock(mu_);
  Family* f = Find(name, Type::kHistogram);
  if (f == nullptr) return;
  std::size_t i = 0;
  while (i < f->bounds.size() && value > f->bounds[i]) ++i;  // le: value <= bound
  ++f->bucket_counts[i];
  f->sum += value;
  ++f->count;
}

std::string MetricsRegistry::Render() const {
  // Callbacks run without mu_ held: they take other components' locks.
  std::vector<std::pair<std::string, std::function<double()>>> callbacks;
  std::vector<std::pair<std::string, std::function<Series()>>> series_callbacks;
  {
    std::lock_guard lock(mu_);
    for (const auto& f : families_) {
      if (f->callback) callbacks.emplace_back(f->name, f->callback);
      if (f->series_callback) series_callbacks.emplace_back(f->name, f->series_callback);
    }
  }
  std::map<std::string, double, std::less<>> callback_values;
  for (const auto& [name, callback] : callbacks) callback_values[name] = callback();
  std::map<std::string, std::map<MetricLabels, double>, std::less<>> callback_series;
  for (const auto& [name, callback] : series_callbacks) {
    std::map<MetricLabels, double>& values = callback_series[name];
    for (auto& [labels, value] : callback()) values[std::move(labels)] = value;
  }

  std::string out;
  std::lock_guard lock(mu_);
  for (const auto& f : families_) {
    out += "# HELP " + f->name + " " + EscapeHelp(f->help) + "\n";
    switch (f->type) {
      case Type::kCounter:
      case Type::kGauge: {
        out += "# TYPE " + f->name + (f->type == Type::kCounter ? " counter\n" : " gauge\n");
        const auto it = callback_values.find(f->name);
        if (it != callback_values.end()) {
          out += f->name + " " + FormatValue(it->second) + "\n";
          break;
        }
        const auto series = callback_series.find(f->name);
        for (const auto& [labels, value] :
             series != callback_series.end() ? series->second : f->values) {
          out += f->name + FormatLabels(labels) + " " + FormatValue(value) + "\n";
        }
        break;
      }
      case Type::kHistogram: {
        out += "# TYPE " + f->name + " histogram\n";
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i < f->bucket_counts.size(); ++i) {
          cumulative += f->bucket_counts[i];
          const std::pair<std::string_view, std::string> le{
              "le", i < f->bounds.size() ? FormatValue(f->bounds[i]) : "+Inf"};
          out +=
              f->name + "_bucket" + FormatLabels({}, &le) + " " + std::to_string(cumulative) + "\n";
        }
        out += f->name + "_sum " + FormatValue(f->sum) + "\n";
        out += f->name + "_count " + std::to_string(f->count) + "\n";
        break;
      }
    }
  }
  return out;
}

std::string_view HttpRouteName(HttpRoute route) {
  switch (route) {
    case HttpRoute::kHlsPlaylist:
      return "hls_playlist";
    case HttpRoute::kHlsSegment:
      return "hls_segment";
    case HttpRoute::kApi:
      return "api";
    case HttpRoute::kMetrics:
      return "metrics";
    case HttpRoute::kHealthz:
      return "healthz";
    case HttpRoute::kWeb:
      return "web";
    case HttpRoute::kOther:
      return "other";
  }
  return "other";
}

HttpRoute ClassifyRoute(std::string_view path) {
  const auto ends_with = [&](std::string_view suffix) { return path.ends_with(suffix); };
  if (path.starts_with("/hls/")) {
    return ends_with(".m3u8") ? HttpRoute::kHlsPlaylist : HttpRoute::kHlsSegment;
  }
  if (path == "/api" || path.starts_with("/api/")) return HttpRoute::kApi;
  if (path == "/metrics") return HttpRoute::kMetrics;
  if (path == "/healthz") return HttpRoute::kHealthz;
  if (path == "/" || path.starts_with("/watch") || path.starts_with("/web/") ||
      ends_with(".html") || ends_with(".js") || ends_with(".mjs") || ends_with(".css") ||
      ends_with(".wasm") || ends_with(".ico") || ends_with(".svg") || ends_with(".png") ||
      ends_with(".map")) {
    return HttpRoute::kWeb;
  }
  return HttpRoute::kOther;
}

Metrics::Metrics() {
  registry_.DeclareCounter(std::string(kTicksTotal), "Ticks run, by result.");
  registry_.DeclareHistogram(
      std::string(kTickDuration), "How long a tick took.",
      std::vector<double>(std::begin(kTickDurationBounds), std::end(kTickDurationBounds)));
  registry_.DeclareGauge(std::string(kTickChannels), "Channels of the last tick, by outcome.");
  registry_.DeclareGauge(std::string(kChannelViewers),
                         "Viewers of each live channel in the newest minute of the last tick.");
  registry_.DeclareGauge(std::string(kSessionsActive), "Viewer sessions the origin holds now.");
  registry_.DeclareGauge(std::string(kHeartbeatViewersActive),
                         "Heartbeat viewers counted now (from their second heartbeat on).");
  registry_.DeclareGauge(std::string(kEventStreamsOpen), "/api/events streams open now.");
  registry_.DeclareCounter(std::string(kHttpRequests), "HTTP responses, by route and status code.");
  registry_.DeclareCounter(std::string(kUpstreamFetches),
                           "Proxy mode: requests to the upstream, by kind and outcome.");
  registry_.DeclareCounter(
      std::string(kUpstreamLookups),
      "Proxy mode: requests for upstream files, by kind and result (hit: from the cache, "
      "shared: joined a fetch in flight, miss: fetched).");
  registry_.DeclareCounter(std::string(kCmcdReports),
                           "CMCD v2 event reports received (lines with a valid sid).");
  registry_.DeclareCounter(std::string(kCmcdBadLines),
                           "CMCD v2 event-mode lines skipped: not a report, or no valid sid.");
  registry_.DeclareGauge(std::string(kCmcdActiveSids),
                         "CMCD sids counted now (from their second report, while watching), "
                         "per channel.");
  registry_.DeclareCounter(std::string(kDistinctFlushes),
                           "Distinct-viewer sketches merged into the store after a tick, by "
                           "result (failed: kept for the next flush).");
  registry_.DeclareGauge(std::string(kDistinctPending),
                         "Distinct-viewer sketches waiting for the next flush into the store.");
  registry_.DeclareCounter(std::string(kDistinctDropped),
                           "Distinct-viewer sketches not kept because too many were waiting "
                           "(the store failing for long): those viewers are missing from the "
                           "distinct counts.");
  // Series that exist from the start, so rate() and alerts see a zero.
  registry_.Add(kTicksTotal, {{"result", "ok"}}, 0);
  registry_.Add(kTicksTotal, {{"result", "failed"}}, 0);
}

void Metrics::RecordTick(const TickReport& report) {
  registry_.Add(kTicksTotal, {{"result", report.ok() ? "ok" : "failed"}});
  registry_.Observe(kTickDuration, std::chrono::duration<double>(report.duration).count());
  const std::pair<const char*, std::size_t> kinds[] = {
      {"seen", report.seen},
      {"stored", report.stored},
      {"published", report.published},
      {"skipped", report.skipped.size()},
      {"failed", report.failed.size()},
  };
  for (const auto& [kind, n] : kinds) {
    registry_.Set(kTickChannels, {{"kind", kind}}, static_cast<double>(n));
  }
  std::vector<std::pair<MetricLabels, double>> viewers;
  for (const Summary& summary : report.summaries) {
    const auto& newest = summary.counts.back();
    if (!newest) continue;  // a gap, not a zero
    viewers.push_back({{{"channel", summary.channel}}, static_cast<double>(*newest)});
  }
  registry_.ReplaceAll(kChannelViewers, viewers);
}

void Metrics::CountRequest(HttpRoute route, int status) {
  registry_.Add(kHttpRequests,
                {{"route", std::string(HttpRouteName(route))}, {"code", std::to_string(status)}});
}

void Metrics::CountUpstreamFetch(std::string_view kind, std::string_view outcome) {
  registry_.Add(kUpstreamFetches, {{"kind", std::string(kind)}, {"outcome", std::string(outcome)}});
}

void Metrics::CountUpstreamLookup(std::string_view kind, std::string_view result) {
  registry_.Add(kUpstreamLookups, {{"kind", std::string(kind)}, {"result", std::string(result)}});
}

void Metrics::CountRequest(std::string_view route, int status) {
  for (const HttpRoute r : kAllRoutes) {
    if (HttpRouteName(r) == route) return CountRequest(r, status);
  }
  CountRequest(HttpRoute::kOther, status);
}

void Metrics::SetSessionsCallback(std::function<std::int64_t()> callback) {
  registry_.SetCallback(kSessionsActive, [callback = std::move(callback)] {
    return static_cast<double>(callback());
  });
}

void Metrics::SetHeartbeatViewersCallback(std::function<std::int64_t()> callback) {
  registry_.SetCallback(kHeartbeatViewersActive, [callback = std::move(callback)] {
    return static_cast<double>(callback());
  });
}

void Metrics::SetEventStreamsCallback(std::function<std::int64_t()> callback) {
  registry_.SetCallback(kEventStreamsOpen, [callback = std::move(callback)] {
    return static_cast<double>(callback());
  });
}

void Metrics::SetCmcdCallbacks(
    std::function<std::uint64_t()> reports, std::function<std::uint64_t()> bad_lines,
    std::function<std::map<std::string, std::int64_t>()> sids_by_channel) {
  registry_.SetCallback(kCmcdReports,
                        [reports = std::move(reports)] { return static_cast<double>(reports()); });
  registry_.SetCallback(kCmcdBadLines, [bad_lines = std::move(bad_lines)] {
    return static_cast<double>(bad_lines());
  });
  registry_.SetSeriesCallback(kCmcdActiveSids, [sids = std::move(sids_by_channel)] {
    MetricsRegistry::Series series;
    for (const auto& [channel, n] : sids()) {
      series.push_back({{{"channel", channel}}, static_cast<double>(n)});
    }
    return series;
  });
}

void Metrics::CountDistinctFlush(bool stored) {
  registry_.Add(kDistinctFlushes, {{"result", stored ? "ok" : "failed"}});
}

void Metrics::SetDistinctCallbacks(std::function<std::int64_t()> pending,
                                   std::function<std::uint64_t()> dropped) {
  registry_.SetCallback(kDistinctPending,
                        [pending = std::move(pending)] { return static_cast<double>(pending()); });
  registry_.SetCallback(kDistinctDropped,
                        [dropped = std::move(dropped)] { return static_cast<double>(dropped()); });
}

std::string Metrics::Render() const { return registry_.Render(); }

}  // namespace headcount
