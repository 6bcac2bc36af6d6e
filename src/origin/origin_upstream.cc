// The origin's proxy mode (`serve --upstream`): the files of
// <url_prefix>/<channel>/<path> come from the upstream HLS server through the
// UpstreamFetcher, and are answered from its cache at once or from its
// thread once fetched (media as it arrives: origin_upstream_media.cc);
// sessions, playlist rewriting and segment metadata are the origin's own
// (origin.cc).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "hls/playlist.h"
#include "origin/origin.h"

namespace headcount {
namespace {

constexpr std::string_view kUpstreamPlaylistCacheControl = "no-cache";
// A path below a channel holds at most this many '/'-separated names.
constexpr std::size_t kMaxUpstreamPathNames = 8;
// The LL-HLS delivery directive that makes a playlist request block until
// the upstream has that media sequence number (RFC 8216bis §6.2.5.2).
constexpr std::string_view kBlockingReloadParameter = "_HLS_msn";

bool IsDirectoryName(std::string_view name) {
  return !name.empty() && name.size() <= kMaxFileNameBytes && name.front() != '.' &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || c == '.';
         });
}

// Plain names joined by '/', the last a servable file name: nothing that
// could climb out of the channel's directory on the upstream.
bool IsServablePath(std::string_view path) {
  for (std::size_t names = 1; names <= kMaxUpstreamPathNames; ++names) {
    const std::size_t slash = path.find('/');
    if (slash == std::string_view::npos) return IsServableFileName(path);
    if (!IsDirectoryName(path.substr(0, slash))) return false;
    path.remove_prefix(slash + 1);
  }
  return false;
}

// The raw query of `target` without the session and CMCD parameters: what
// goes to the upstream (LL-HLS directives, an upstream's own parameters).
std::string UpstreamQuery(std::string_view target) {
  const std::size_t q = target.find('?');
  if (q == std::string_view::npos) return {};
  std::string_view rest = target.substr(q + 1);
  std::string out;
  while (!rest.empty()) {
    const std::size_t amp = rest.find('&');
    const std::string_view part = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    const std::string_view name = part.substr(0, part.find('='));
    if (part.empty() || name == kSessionParameter || name == kCmcdQueryParameter) continue;
    if (!out.empty()) out += '&';
    out += part;
  }
  return out;
}

HttpResponse UpstreamFailure(const Error& error) {
  spdlog::debug("origin: upstream request failed: {}", error.ToString());
  if (IsTimedOut(error)) return HttpResponse::Error(504, "upstream timed out");
  if (error.code() == ErrorCode::kRejected) {
    return HttpResponse::Error(502, "upstream response too large");
  }
  return HttpResponse::Error(502, "upstream unreachable");
}

HttpResponse PlaylistResponse(std::string body) {
  HttpResponse r;
  r.status = 200;
  r.content_type = std::string(MediaContentType(".m3u8"));
  r.body = std::move(body);
  r.headers.emplace_back("Cache-Control", std::string(kUpstreamPlaylistCacheControl));
  return r;
}

}  // namespace

void Origin::Handle(const HttpRequest& request, HttpResponder respond) {
  if (!fetcher_ || !options_.upstream) return respond.Respond(Handle(request));
  HandleUpstream(request, std::move(respond));
}

void Origin::HandleUpstream(const HttpRequest& request, HttpResponder respond) {
  const std::string_view path = request.path;
  const std::string& prefix = options_.url_prefix;
  if (!path.starts_with(prefix) || path.size() <= prefix.size() + 1 || path[prefix.size()] != '/') {
    return respond.Respond(HttpResponse::Error(404, "not found"));
  }
  if (request.method != "GET" && request.method != "HEAD") {
    HttpResponse r = HttpResponse::Error(405, "method not allowed");
    r.headers.emplace_back("Allow", "GET, HEAD");
    return respond.Respond(std::move(r));
  }
  const std::string_view rest = path.substr(prefix.size() + 1);
  const std::size_t slash = rest.find('/');
  if (slash == std::string_view::npos) {
    return respond.Respond(HttpResponse::Error(404, "not found"));
  }
  const std::string channel(rest.substr(0, slash));
  const std::string file_path(rest.substr(slash + 1));
  if (!upstream_channels_.Serves(channel) || !IsServablePath(file_path)) {
    return respond.Respond(HttpResponse::Error(404, "not found"));
  }

  const Url url = options_.upstream->FileUrl(channel, file_path, UpstreamQuery(request.target));
  UpstreamFetch fetch;
  fetch.kind = file_path.ends_with(".m3u8") ? UpstreamKind::kPlaylist : UpstreamKind::kMedia;
  fetch.url = url.ToString();
  fetch.group = channel;
  if (fetch.kind == UpstreamKind::kMedia) {
    if (std::optional<std::string> range = request.Header("range")) fetch.range = std::move(*range);
  } else {
    fetch.blocking = request.Query(kBlockingReloadParameter).has_value();
  }
  const UpstreamKind kind = fetch.kind;
  auto responder = std::make_shared<HttpResponder>(std::move(respond));
  fetcher_->Fetch(fetch, [this, request, channel, file_path, url, kind,
                          responder](Result<std::shared_ptr<const UpstreamFile>> r) {
    if (!r.ok()) return responder->Respond(UpstreamFailure(r.error()));
    const int status = (*r)->status;
    if (status == 404 || status == 410) {
      return responder->Respond(HttpResponse::Error(404, "not found"));
    }
    const std::string said = "upstream answered HTTP " + std::to_string(status);
    // 401 and 403 come after the fetcher renewed the proxy's own session
    // once: the upstream refuses the proxy, which is not the viewer's doing.
    if (status == 401 || status == 403) return responder->Respond(HttpResponse::Error(502, said));
    if (status >= 400 && status < 500) return responder->Respond(HttpResponse::Error(status, said));
    if (kind == UpstreamKind::kPlaylist && status == 200) {
      return ServeUpstreamPlaylist(request, channel, file_path, url, *r, std::move(*responder));
    }
    if (kind == UpstreamKind::kMedia && (status == 200 || status == 206)) {
      return ServeUpstreamMedia(request, channel, file_path, *r, std::move(*responder));
    }
    responder->Respond(HttpResponse::Error(502, said));
  });
}

void Origin::ServeUpstreamPlaylist(const HttpRequest& request, const std::string& channel,
                                   const std::string& path, const Url& url,
                                   const std::shared_ptr<const UpstreamFile>& file,
                                   HttpResponder respond) {
  const WallTime now = clock_.Now();
  const bool media = IsMediaPlaylist(*file->body);
  if (media) upstream_channels_.OnMediaPlaylist(channel, path, url, file->body, now);
  // Cacheable (--count heartbeats): no session id, the same answer for
  // every viewer.
  const std::string id =
      options_.cacheable ? std::string() : PlaylistSession(request, channel, now);
  // As from hls_root: a media playlist asked for with no session is wrapped,
  // so that the player's reloads carry one.
  if (!request.Query(kSessionParameter) && !id.empty() && media) {
    std::string variant = path.substr(path.rfind('/') + 1) + "?";
    if (url.query && !url.query->empty()) variant += *url.query + "&";
    variant += std::string(kSessionParameter) + "=" + id;
    return respond.Respond(PlaylistResponse(WrapMediaPlaylist(variant, 0)));
  }

  // The fetch id is the version: one rewrite per upstream answer, reused by
  // every session (the cut pieces of RewriteForSession).
  const std::string cache_key = "upstream " + url.ToString();
  const FileVersion version{0, 0, 0, static_cast<std::int64_t>(file->fetch_id)};
  CachedPlaylist cached{version, file->body, 0, nullptr};
  {
    std::lock_guard lock(cache_mu_);
    const auto it = playlists_.find(cache_key);
    if (it != playlists_.end() && it->second.version == version) cached = it->second;
  }
  const std::string session_query =
      id.empty() ? std::string() : std::string(kSessionParameter) + "=" + id;
  const UpstreamTemplate& upstream = *options_.upstream;
  Result<std::string> body =
      RewriteForSession(cached, cache_key, channel, session_query, now, [&](std::string_view uri) {
        return upstream.MapUri(url, channel, options_.url_prefix, uri);
      });
  if (!body.ok()) return respond.Respond(HttpResponse::Error(502, "upstream sent no playlist"));
  HttpResponse r = PlaylistResponse(std::move(*body));
  if (options_.cacheable) {
    r.headers.clear();
    r.headers.emplace_back(
        "Cache-Control",
        CacheablePlaylistControl(*file->body, CacheControlMaxAge(file->cache_control)));
  }
  respond.Respond(std::move(r));
}

Result<std::vector<ChannelReading>> Origin::PollUpstream(WallTime now) {
  const std::map<ChannelId, std::int64_t> active = sessions_.CountActive(now);
  std::vector<ChannelReading> live;
  for (const std::string& channel : upstream_channels_.Live(now)) {
    const auto count = active.find(channel);
    live.push_back({channel, count == active.end() ? 0 : count->second});
  }
  return live;
}

}  // namespace headcount
