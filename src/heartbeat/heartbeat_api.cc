#include "heartbeat/heartbeat_api.h"

#include <nlohmann/json.hpp>

#include "core/samples.h"
#include "core/strings.h"

namespace headcount {
namespace {

constexpr std::string_view kChannelsPrefix = "/api/channels/";
constexpr std::string_view kViewersSuffix = "/viewers";
constexpr std::string_view kHeartbeatSuffix = "/heartbeat";
constexpr std::string_view kCmcdSuffix = "/cmcd";

// The channel of a heartbeat API path, and its route; nullopt for other
// paths.
std::optional<std::pair<std::string_view, HeartbeatApi::Route>> SplitPath(std::string_view path) {
  if (!path.starts_with(kChannelsPrefix)) return std::nullopt;
  path.remove_prefix(kChannelsPrefix.size());
  constexpr std::pair<std::string_view, HeartbeatApi::Route> kRoutes[] = {
      {kViewersSuffix, HeartbeatApi::Route::kViewers},
      {kHeartbeatSuffix, HeartbeatApi::Route::kHeartbeat},
      {kCmcdSuffix, HeartbeatApi::Route::kCmcd}};
  for (const auto& [suffix, route] : kRoutes) {
    if (path.size() > suffix.size() && path.ends_with(suffix)) {
      const std::string_view channel = path.substr(0, path.size() - suffix.size());
      if (channel.find('/') != std::string_view::npos) return std::nullopt;
      return std::pair{channel, route};
    }
  }
  return std::nullopt;
}

// True for JSON and plain text (what sendBeacon sends for a string), and
// for no content type at all.
bool IsAcceptedBodyType(const HttpRequest& request) {
  const std::optional<std::string> type = request.Header("content-type");
  if (!type) return true;
  const std::string media = AsciiLower(Trim(std::string_view(*type).substr(0, type->find(';'))));
  return media == "application/json" || media == "text/plain";
}

}  // namespace

HeartbeatApi::HeartbeatApi(HeartbeatViewers& viewers, const Clock& clock, const CorsPolicy& cors,
                           std::function<bool(std::string_view)> channel_exists,
                           HeartbeatApiOptions options)
    : viewers_(viewers),
      clock_(clock),
      cors_(cors),
      channel_exists_(std::move(channel_exists)),
      token_limit_(options.token_rate, options.token_burst),
      heartbeat_limit_(options.heartbeat_rate, options.heartbeat_burst),
      cmcd_on_(options.cmcd),
      cmcd_(viewers_, heartbeat_limit_) {}

bool HeartbeatApi::Serves(std::string_view path) { return SplitPath(path).has_value(); }

HttpResponse HeartbeatApi::Handle(const HttpRequest& request) {
  const auto split = SplitPath(request.path);
  if (!split) return HttpResponse::Error(404, "not found");
  if (request.method == "OPTIONS") return cors_.Preflight(request, "POST");
  HttpResponse r = Dispatch(request, split->first, split->second);
  cors_.Apply(request, r);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

HttpResponse HeartbeatApi::Dispatch(const HttpRequest& request, std::string_view channel,
                                    Route route) {
  if (route == Route::kCmcd && (request.method == "GET" || request.method == "HEAD")) {
    return DescribeCmcd(request, channel);
  }
  if (request.method != "POST") {
    HttpResponse r = HttpResponse::Error(405, "use POST");
    r.headers.emplace_back("Allow",
                           route == Route::kCmcd ? "GET, HEAD, POST, OPTIONS" : "POST, OPTIONS");
    return r;
  }
  switch (route) {
    case Route::kViewers:
      return NewViewer(request, channel);
    case Route::kHeartbeat:
      return Heartbeat(request, channel);
    case Route::kCmcd:
      return CollectCmcd(request, channel);
  }
  return HttpResponse::Error(404, "not found");
}

HttpResponse HeartbeatApi::DescribeCmcd(const HttpRequest& request, std::string_view channel) {
  if (!IsValidChannelId(channel)) return HttpResponse::Error(404, "no such channel");
  // A channel not (yet) served is not collected for: proxy mode learns its
  // channels from the upstream, so a page asking first falls back to
  // heartbeats rather than see its first reports refused.
  const nlohmann::json body = {{"collecting", cmcd_on_ && channel_exists_(channel)},
                               {"timeout_s", viewers_.cmcd_timeout().count()}};
  HttpResponse r = HttpResponse::Json(200, body.dump());
  if (request.method == "HEAD") r.body.clear();
  return r;
}

HttpResponse HeartbeatApi::CollectCmcd(const HttpRequest& request, std::string_view channel) {
  if (!cmcd_on_) {
    return HttpResponse::Error(404, "the CMCD collector is off here (serve --cmcd off)");
  }
  if (!IsValidChannelId(channel) || !channel_exists_(channel)) {
    return HttpResponse::Error(404, "no such channel");
  }
  return cmcd_.Collect(request, channel, clock_.Now());
}

HttpResponse HeartbeatApi::NewViewer(const HttpRequest& request, std::string_view channel) {
  const WallTime now = clock_.Now();
  if (!token_limit_.TryTake(request.client_address, now)) {
    return HttpResponse::TooManyRequests("too many new viewers from this address",
                                         token_limit_.RetryAfter());
  }
  if (!IsValidChannelId(channel) || !channel_exists_(channel)) {
    return HttpResponse::Error(404, "no such channel");
  }
  Result<std::string> token = viewers_.Mint(channel, now);
  if (!token.ok()) return HttpResponse::Error(500, "cannot make a token");
  const nlohmann::json body = {{"token", *token},
                               {"heartbeat_s", viewers_.interval().count()},
                               {"expires_s", viewers_.expiry().count()}};
  return HttpResponse::Json(201, body.dump());
}

HttpResponse HeartbeatApi::Heartbeat(const HttpRequest& request, std::string_view channel) {
  // The server already bounds every body (HttpServerOptions::max_body_bytes);
  // this route's are tiny, so anything larger is not a heartbeat.
  if (request.body.size() > kMaxHeartbeatBodyBytes) {
    return HttpResponse::Error(
        413, "a heartbeat is at most " + std::to_string(kMaxHeartbeatBodyBytes) + " bytes");
  }
  if (!IsAcceptedBodyType(request)) {
    return HttpResponse::Error(415, "send application/json or text/plain");
  }
  const WallTime now = clock_.Now();
  if (!heartbeat_limit_.TryTake(request.client_address, now)) {
    return HttpResponse::TooManyRequests("too many heartbeats from this address",
                                         heartbeat_limit_.RetryAfter());
  }
  const nlohmann::json body =
      nlohmann::json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (!body.is_object() || !body.contains("token") || !body["token"].is_string() ||
      (body.contains("left") && !body["left"].is_boolean())) {
    return HttpResponse::Error(400, R"(the body is {"token":"...","left":true|false})");
  }
  const bool left = body.value("left", false);
  switch (viewers_.Beat(channel, body["token"].get_ref<const std::string&>(),
                        request.client_address, now, left)) {
    case BeatResult::kAccepted:
    case BeatResult::kTooSoon:
    case BeatResult::kLeft:
      return HttpResponse::Text(204, "");
    case BeatResult::kInvalid:
      return HttpResponse::Error(403, "not a token of this channel");
    case BeatResult::kExpired:
      return HttpResponse::Error(403, "token expired: ask for a new one");
    case BeatResult::kClientAtCap:
      return HttpResponse::Error(429, "this address holds the most viewers it may");
    case BeatResult::kTableFull:
      return HttpResponse::Unavailable("too many viewers", viewers_.expiry());
  }
  return HttpResponse::Error(500, "internal error");
}

}  // namespace headcount
