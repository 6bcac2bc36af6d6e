// Api (see api.h). Its only state is the count of history queries in
// flight (atomic); thread-safety is otherwise that of its LiveState (safe),
// Metrics (safe), WorkerPool (safe) and HistoryReader.
#include "server/api.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>

#include "core/strings.h"
#include "core/time_text.h"
#include "core/trend.h"

namespace headcount {
namespace {

using nlohmann::json;

constexpr std::string_view kChannelsPath = "/api/channels";
constexpr std::string_view kChannelPrefix = "/api/channels/";
constexpr std::string_view kHistorySuffix = "/history";
constexpr std::string_view kSummarySuffix = "/summary";
constexpr std::string_view kCsvContentType = "text/csv; charset=utf-8";
constexpr std::string_view kAllowedMethods = "GET, HEAD";

// Live data: a cache must not serve it stale.
HttpResponse NoStore(HttpResponse response) {
  response.headers.emplace_back("Cache-Control", "no-store");
  return response;
}

json CountJson(const std::optional<std::int64_t>& count) {
  return count ? json(*count) : json(nullptr);
}

// The q-value of the most specific range in `accept` (lower-case) that matches
// type/subtype; 0 if none matches.
double Quality(std::string_view accept, std::string_view type, std::string_view subtype) {
  int best_specificity = 0;
  double best_q = 0;
  while (!accept.empty()) {
    const std::size_t comma = accept.find(',');
    std::string_view element = accept.substr(0, comma);
    accept = comma == std::string_view::npos ? std::string_view() : accept.substr(comma + 1);
    const std::size_t semi = element.find(';');
    const std::string_view range = Trim(element.substr(0, semi));
    double q = 1;
    for (std::string_view params = semi == std::string_view::npos ? "" : element.substr(semi + 1);
         !params.empty();) {
      const std::size_t next = params.find(';');
      const std::string_view param = Trim(params.substr(0, next));
      params = next == std::string_view::npos ? std::string_view() : params.substr(next + 1);
      if (param.starts_with("q=")) {
        const std::string value(param.substr(2));
        char* end = nullptr;
        const double parsed = std::strtod(value.c_str(), &end);
        q = (end != value.c_str() && parsed >= 0 && parsed <= 1) ? parsed : 0;
      }
    }
    const std::size_t slash = range.find('/');
    if (slash == std::string_view::npos) continue;
    const std::string_view range_type = range.substr(0, slash);
    const std::string_view range_subtype = range.substr(slash + 1);
    int specificity = 0;
    if (range_type == type && range_subtype == subtype) {
      specificity = 3;
    } else if (range_type == type && range_subtype == "*") {
      specificity = 2;
    } else if (range_type == "*" && range_subtype == "*") {
      specificity = 1;
    }
    if (specificity > best_specificity) {
      best_specificity = specificity;
      best_q = q;
    }
  }
  return best_q;
}

// The channel segment of a history (or summary) request, still
// percent-encoded: the one segment of the raw path between /api/channels/
// and `suffix`. It is cut
// from the raw target, before decoding, so that an id holding '/' (an IVS
// channel ARN, sent as %2F) stays one segment. nullopt for another path;
// the caller refuses a "segment" that holds a raw '/' (an unencoded ARN).
std::optional<std::string_view> RawChannelSegment(const HttpRequest& request,
                                                  std::string_view suffix) {
  std::string_view raw =
      request.target.empty() ? std::string_view(request.path) : std::string_view(request.target);
  raw = raw.substr(0, raw.find('?'));
  if (!raw.starts_with(kChannelPrefix) || !raw.ends_with(suffix) ||
      raw.size() <= kChannelPrefix.size() + suffix.size()) {
    return std::nullopt;
  }
  return raw.substr(kChannelPrefix.size(), raw.size() - kChannelPrefix.size() - suffix.size());
}

HttpResponse MethodNotAllowed() {
  HttpResponse response = HttpResponse::Error(405, "method not allowed");
  response.headers.emplace_back("Allow", std::string(kAllowedMethods));
  return response;
}

}  // namespace

bool AcceptPrefersCsv(std::string_view accept) {
  const std::string lower = AsciiLower(accept);
  return Quality(lower, "text", "csv") > Quality(lower, "application", "json");
}

Api::Api(LiveState& live, HistoryReader& history, Metrics& metrics, const Clock& clock,
         WorkerPool& pool, ApiOptions options)
    : live_(live),
      history_(history),
      metrics_(metrics),
      clock_(clock),
      pool_(pool),
      options_(std::move(options)),
      history_queries_(options_.max_history_queries) {}

bool Api::Serves(std::string_view path) {
  return path == "/api" || path.starts_with("/api/") || path == "/healthz" || path == "/metrics";
}

void Api::Handle(const HttpRequest& request, HttpResponder respond) {
  const std::string_view path = request.path;
  const std::optional<std::string_view> summary_channel =
      RawChannelSegment(request, kSummarySuffix);
  const std::optional<std::string_view> history_channel =
      summary_channel ? summary_channel : RawChannelSegment(request, kHistorySuffix);
  const bool known = path == kChannelsPath || path == "/healthz" || path == "/metrics" ||
                     history_channel.has_value();
  if (!known) return respond.Respond(NoStore(HttpResponse::Error(404, "not found")));
  if (history_channel && history_channel->find('/') != std::string_view::npos) {
    return respond.Respond(NoStore(HttpResponse::Error(
        400, "the channel id is one path segment: percent-encode it (an ARN's '/' as %2F)")));
  }
  if (request.method != "GET" && request.method != "HEAD") {
    return respond.Respond(MethodNotAllowed());
  }

  if (path == "/healthz") return respond.Respond(Health());
  if (path == "/metrics") {
    HttpResponse response;
    response.content_type = std::string(Metrics::kContentType);
    response.body = metrics_.Render();
    return respond.Respond(NoStore(std::move(response)));
  }
  if (path == kChannelsPath) return respond.Respond(Channels());
  History(*history_channel, summary_channel.has_value(), request, std::move(respond));
}

HttpResponse Api::Health() const {
  const LiveSnapshot snapshot = live_.Snapshot();
  json body = {{"status", "ok"}, {"last_tick", nullptr}};
  if (options_.degraded) {
    if (std::optional<std::string> why = options_.degraded()) {
      body["status"] = "degraded";
      body["degraded"] = std::move(*why);
    }
  }
  if (snapshot.last_tick) {
    body["last_tick"] =
        FormatRfc3339(std::chrono::floor<std::chrono::seconds>(snapshot.last_tick->at));
  }
  return NoStore(
      HttpResponse::Json(200, body.dump(-1, ' ', false, json::error_handler_t::replace)));
}

HttpResponse Api::Channels() const {
  return NoStore(HttpResponse::Json(200, ChannelsJson(live_.Snapshot(), options_.bucket_length)));
}

std::string ChannelsJson(const LiveSnapshot& snapshot, std::chrono::seconds bucket_length,
                         const std::optional<ChannelId>& only) {
  json channels = json::array();
  for (const LiveChannel& channel : snapshot.channels) {
    const Summary& s = channel.summary;
    if (only && s.channel != *only) continue;
    json buckets = json::array();
    for (int i = 0; i < kWindowBuckets; ++i) {
      const Seconds start = s.at - (kWindowBuckets - 1 - i) * s.bucket_length;
      buckets.push_back({{"start", FormatRfc3339(start)}, {"viewers", CountJson(s.counts[i])}});
    }
    channels.push_back({
        {"id", s.channel},
        {"live", channel.live},
        {"viewers", CountJson(s.counts.back())},
        {"at", FormatRfc3339(s.at)},
        {"buckets", std::move(buckets)},
        {"trend", std::string(TrendName(s.trend))},
    });
    if (channel.details && !channel.details->name.empty()) {
      channels.back()["name"] = channel.details->name;
    }
    if (channel.details && !channel.details->playback_url.empty()) {
      channels.back()["playbackUrl"] = channel.details->playback_url;
    }
  }
  json body = {{"bucket_seconds", bucket_length.count()},
               {"updated", nullptr},
               {"channels", std::move(channels)}};
  if (snapshot.last_tick) {
    body["updated"] =
        FormatRfc3339(std::chrono::floor<std::chrono::seconds>(snapshot.last_tick->at));
  }
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

void Api::History(std::string_view raw_channel, bool summary, const HttpRequest& request,
                  HttpResponder respond) {
  auto decoded = PercentDecode(raw_channel);
  if (!decoded.ok() || !IsChannelIdOrArn(*decoded)) {
    return respond.Respond(NoStore(HttpResponse::Error(
        400,
        "invalid channel id: use 1-64 of A-Z a-z 0-9 _ -, or an IVS channel ARN "
        "(arn:aws:ivs:<region>:<account>:channel/<id>) percent-encoded as one path segment")));
  }
  HistoryQuery query;
  query.channel = std::move(*decoded);

  query.since = summary ? std::chrono::milliseconds(kDefaultSummarySpan)
                        : std::chrono::milliseconds(kDefaultHistorySpan);
  if (summary) {
    query.summary = AudiencePeriod::kHour;
    if (const auto by = request.Query("by")) {
      query.summary = ParseAudiencePeriod(*by);
      if (!query.summary) {
        return respond.Respond(
            NoStore(HttpResponse::Error(400, "invalid parameter by: must be hour or day")));
      }
    }
  }
  if (const auto text = request.Query("since")) {
    auto parsed = ParseDuration(*text);
    if (!parsed.ok()) {
      return respond.Respond(NoStore(
          HttpResponse::Error(400, "invalid parameter since: " + parsed.error().message())));
    }
    query.since = *parsed;
  }
  if (query.since <= std::chrono::milliseconds::zero() || query.since > kMaxHistorySpan) {
    return respond.Respond(
        NoStore(HttpResponse::Error(400, "invalid parameter since: must be > 0 and <= 366d")));
  }

  const std::optional<std::string> format = request.Query("format");
  if (format && summary && *format != "json") {
    return respond.Respond(
        NoStore(HttpResponse::Error(400, "invalid parameter format: a summary is json")));
  }
  if (format && !summary) {
    if (*format != "csv" && *format != "json") {
      return respond.Respond(
          NoStore(HttpResponse::Error(400, "invalid parameter format: must be csv or json")));
    }
    query.csv = *format == "csv";
  } else if (const auto accept = request.Header("accept"); accept && !summary) {
    query.csv = AcceptPrefersCsv(*accept);
  }

  // The store may take seconds: a worker asks it, at most
  // max_history_queries at once, and answers from there.
  ConcurrencyLimit::Permit permit = history_queries_.TryAcquire();
  if (!permit) {
    spdlog::debug("api: {} history queries in flight, answering 503", history_queries_.in_use());
    return respond.Respond(NoStore(HttpResponse::Unavailable(
        "too many history queries at once, try again later", kBusyRetryAfter)));
  }
  pool_.Submit(std::move(respond), [this, query = std::move(query), permit = std::move(permit)] {
    return QueryHistory(query);
  });
}

HttpResponse Api::QueryHistory(const HistoryQuery& query) {
  const ChannelId& channel = query.channel;
  if (!live_.Knows(channel)) {
    auto has = history_.HasChannel(channel);
    if (!has.ok()) {
      spdlog::warn("api: history of {} unavailable: {}", channel, has.error().ToString());
      return NoStore(HttpResponse::Error(503, "history unavailable"));
    }
    if (!*has) return NoStore(HttpResponse::Error(404, "unknown channel"));
  }

  const WallTime now = clock_.Now();
  const Seconds to = BucketStart(now, options_.bucket_length);
  const Seconds from = BucketStart(now - query.since, options_.bucket_length);
  if (query.summary) {
    auto periods = history_.Audience(channel, from, to, *query.summary);
    if (!periods.ok()) {
      spdlog::warn("api: summary of {} unavailable: {}", channel, periods.error().ToString());
      return NoStore(HttpResponse::Error(503, "summary unavailable"));
    }
    return NoStore(HttpResponse::Json(
        200, AudienceJson(channel, from, to, *query.summary, options_.bucket_length, *periods)));
  }
  auto samples = history_.History(channel, from, to);
  if (!samples.ok()) {
    spdlog::warn("api: history of {} unavailable: {}", channel, samples.error().ToString());
    return NoStore(HttpResponse::Error(503, "history unavailable"));
  }

  HttpResponse response;
  if (query.csv) {
    response.content_type = std::string(kCsvContentType);
    response.body = HistoryCsv(*samples);
  } else {
    response =
        HttpResponse::Json(200, HistoryJson(channel, from, to, options_.bucket_length, *samples));
  }
  // The representation depends on Accept.
  response.headers.emplace_back("Vary", "Accept");
  return NoStore(std::move(response));
}

std::string AudienceJson(const ChannelId& channel, Seconds from, Seconds to, AudiencePeriod by,
                         std::chrono::seconds bucket_length,
                         const std::vector<AudienceSummary>& periods) {
  const auto numbers = [&](const AudienceSummary& a) {
    json out = {{"peak", a.peak},
                {"peak_at", a.buckets > 0 ? json(FormatRfc3339(a.peak_at)) : json(nullptr)},
                {"average", a.Average()},
                {"viewer_minutes", a.ViewerMinutes(bucket_length)},
                {"live_minutes", a.LiveMinutes(bucket_length)}};
    const std::optional<std::int64_t> distinct = a.DistinctViewers();
    out["distinct_viewers"] = distinct ? json(*distinct) : json(nullptr);
    return out;
  };
  json list = json::array();
  for (const AudienceSummary& a : periods) {
    json p = numbers(a);
    p["start"] = FormatRfc3339(a.start);
    list.push_back(std::move(p));
  }
  const json body = {{"channel", channel},
                     {"from", FormatRfc3339(from)},
                     {"to", FormatRfc3339(to)},
                     {"by", std::string(AudiencePeriodName(by))},
                     {"bucket_seconds", bucket_length.count()},
                     {"periods", std::move(list)},
                     {"total", numbers(CombineAudience(periods))}};
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string HistoryCsv(const std::vector<Sample>& samples) {
  std::string out = "start,viewers\n";
  for (const Sample& sample : samples) {
    out += FormatRfc3339(sample.bucket) + "," + std::to_string(sample.viewers) + "\n";
  }
  return out;
}

std::string HistoryJson(const ChannelId& channel, Seconds from, Seconds to,
                        std::chrono::seconds bucket_length, const std::vector<Sample>& samples) {
  json points = json::array();
  for (const Sample& sample : samples) {
    points.push_back({{"start", FormatRfc3339(sample.bucket)}, {"viewers", sample.viewers}});
  }
  const json body = {{"channel", channel},
                     {"from", FormatRfc3339(from)},
                     {"to", FormatRfc3339(to)},
                     {"bucket_seconds", bucket_length.count()},
                     {"points", std::move(points)}};
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace headcount
