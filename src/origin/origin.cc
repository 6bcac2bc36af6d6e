#include "origin/origin.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <optional>
#include <system_error>
#include <utility>

#include "core/payload.h"

namespace headcount {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kPlaylistContentType = "application/vnd.apple.mpegurl";
constexpr std::string_view kPlaylistCacheControl = "no-cache";
// Segments never change once written; a minute covers a live window.
constexpr std::string_view kSegmentCacheControl = "max-age=60";

struct MediaType {
  std::string_view extension;
  std::string_view content_type;
};
constexpr std::array<MediaType, 6> kMediaTypes = {{
    {".m3u8", kPlaylistContentType},
    {".ts", "video/mp2t"},
    {".m4s", "video/iso.segment"},
    {".mp4", "video/mp4"},
    {".aac", "audio/aac"},
    {".vtt", "text/vtt"},
}};

bool IsNameChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

// The media type for `name`'s extension, if it is one the origin serves.
std::optional<MediaType> MediaTypeOf(std::string_view name) {
  const std::size_t dot = name.rfind('.');
  if (dot == std::string_view::npos) return std::nullopt;
  const std::string_view ext = name.substr(dot);
  for (const MediaType& t : kMediaTypes) {
    if (t.extension == ext) return t;
  }
  return std::nullopt;
}

HttpResponse NotFound() { return HttpResponse::Error(404, "not found"); }

// True when `path` is `root` or lies below it; both must be canonical.
bool IsInside(const fs::path& root, const fs::path& path) {
  const auto [root_end, path_it] =
      std::mismatch(root.begin(), root.end(), path.begin(), path.end());
  return root_end == root.end() && path_it != path.end();
}

// The real path of <root>/<channel>/<name> when it is a regular file whose
// real path (all symlinks resolved) is inside the real root.
std::optional<fs::path> ResolveInsideRoot(const fs::path& root, std::string_view channel,
                                          std::string_view name) {
  std::error_code ec;
  const fs::path real_root = fs::canonical(root, ec);
  if (ec) return std::nullopt;
  const fs::path real = fs::canonical(real_root / fs::path(channel) / fs::path(name), ec);
  if (ec || !IsInside(real_root, real)) return std::nullopt;
  if (!fs::is_regular_file(real, ec) || ec) return std::nullopt;
  return real;
}

// Reads a whole file of at most `max_bytes`. NotFound when it vanished (ffmpeg
// deletes old files), InvalidArgument when too large, Io otherwise.
Result<std::string> ReadSmallFile(const fs::path& path, std::size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    if (!fs::exists(path, ec)) return Error::NotFound("file vanished");
    return Error::Io("cannot open " + path.string());
  }
  std::string data(max_bytes + 1, '\0');
  in.read(data.data(), std::streamsize(data.size()));
  if (in.bad()) return Error::Io("cannot read " + path.string());
  data.resize(std::size_t(in.gcount()));
  if (data.size() > max_bytes) {
    return Error::InvalidArgument(path.string() + " is larger than " + std::to_string(max_bytes) +
                                  " bytes");
  }
  return data;
}

// True when `dir` holds a .m3u8 file modified within `live_timeout` of `now`
// (or after it: a clock a little ahead of ours still means live).
bool HasFreshPlaylist(const fs::path& dir, WallTime now, std::chrono::seconds live_timeout) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const fs::path& p = it->path();
    if (p.extension() != ".m3u8" || !it->is_regular_file(ec)) continue;
    const fs::file_time_type mtime = it->last_write_time(ec);
    if (ec) continue;  // deleted under us
    const auto modified = std::chrono::file_clock::to_sys(mtime);
    if (now - modified <= live_timeout) return true;
  }
  return false;
}

std::string NormalizedPrefix(std::string prefix) {
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  return prefix;
}

OriginOptions Normalized(OriginOptions options) {
  options.url_prefix = NormalizedPrefix(std::move(options.url_prefix));
  return options;
}

}  // namespace

bool IsServableFileName(std::string_view name) {
  return !name.empty() && name.size() <= kMaxFileNameBytes && name.front() != '.' &&
         std::all_of(name.begin(), name.end(), [](char c) { return IsNameChar(c) || c == '.'; }) &&
         MediaTypeOf(name).has_value();
}

Origin::Origin(OriginOptions options, const Clock& clock)
    : options_(Normalized(std::move(options))),
      clock_(clock),
      sessions_(SessionOptions{.idle_timeout = options_.session_idle_timeout,
                               .key = options_.session_key,
                               .max_sessions = kMaxSessions,
                               .max_sessions_per_client = options_.max_sessions_per_client}) {}

HttpResponse Origin::Handle(const HttpRequest& request) {
  const std::string_view path = request.path;
  const std::string& prefix = options_.url_prefix;
  if (!path.starts_with(prefix) || path.size() <= prefix.size() + 1 || path[prefix.size()] != '/') {
    return NotFound();
  }
  if (request.method != "GET" && request.method != "HEAD") {
    HttpResponse r = HttpResponse::Error(405, "method not allowed");
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }
  // Exactly <channel>/<file>: names that cannot hold '/', NUL or a leading
  // '.', so nothing here can climb out of the channel directory; symlinks
  // are checked on the real path below.
  const std::string_view rest = path.substr(prefix.size() + 1);
  const std::size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return NotFound();
  const std::string_view channel = rest.substr(0, slash);
  const std::string_view name = rest.substr(slash + 1);
  if (!IsValidChannelId(channel) || !IsServableFileName(name)) return NotFound();

  const std::optional<fs::path> file = ResolveInsideRoot(options_.hls_root, channel, name);
  if (!file) return NotFound();
  const MediaType type = *MediaTypeOf(name);
  if (type.extension == ".m3u8") return ServePlaylist(request, std::string(channel), name, *file);
  return ServeSegment(request, std::string(channel), *file, type.content_type);
}

HttpResponse Origin::ServePlaylist(const HttpRequest& request, const std::string& channel,
                                   std::string_view name, const fs::path& file) {
  const Result<std::string> source = ReadSmallFile(file, kMaxPlaylistBytes);
  if (!source.ok()) {
    if (source.error().code() == ErrorCode::kNotFound) return NotFound();
    spdlog::error("origin: cannot serve a playlist: {}", source.error().ToString());
    return HttpResponse::Error(500, "playlist unavailable");
  }

  const WallTime now = clock_.Now();
  const bool head = request.method == "HEAD";
  const std::optional<std::string> presented = request.Query(kSessionParameter);
  std::string id;
  if (presented && sessions_.Verify(channel, *presented)) {
    id = *presented;
    if (!head) (void)sessions_.Touch(channel, id, now, Activity::kPlaylist, request.client_address);
  } else if (Result<std::string> minted = sessions_.Mint(channel); minted.ok()) {
    id = std::move(*minted);
  } else {
    // Never refuse media: serve it uncounted.
    spdlog::warn("origin: serving a playlist without a session: {}", minted.error().ToString());
  }

  // A player that asked for a media playlist with no session would reload
  // that same URL, and get a new id each time: hand it a one-variant
  // multivariant playlist instead, whose variant URI carries its session.
  if (!presented && !id.empty() && IsMediaPlaylist(*source)) {
    const fs::path dir = file.parent_path();
    const std::uint64_t bandwidth =
        PeakBitrate(*source, [&](std::string_view uri) -> std::optional<std::uint64_t> {
          if (!IsServableFileName(uri)) return std::nullopt;  // only plain names beside it
          std::error_code ec;
          const auto size = fs::file_size(dir / fs::path(uri), ec);
          if (ec) return std::nullopt;
          return size;
        });
    HttpResponse r;
    r.status = 200;
    r.content_type = std::string(kPlaylistContentType);
    r.body = WrapMediaPlaylist(std::string(name) + "?" + std::string(kSessionParameter) + "=" + id,
                               bandwidth);
    r.headers.emplace_back("Cache-Control", std::string(kPlaylistCacheControl));
    return r;
  }

  PlaylistRewrite rewrite;
  if (!id.empty()) rewrite.session_query = std::string(kSessionParameter) + "=" + id;
  rewrite.daterange = LatestDateRange(channel, now);
  Result<std::string> body = RewritePlaylist(*source, rewrite);
  if (!body.ok()) {
    // Typically a playlist caught mid-write by a muxer without temp_file.
    spdlog::warn("origin: {} is not a servable playlist: {}", file.string(),
                 body.error().ToString());
    return HttpResponse::Error(503, "playlist not ready");
  }

  HttpResponse r;
  r.status = 200;
  r.content_type = std::string(kPlaylistContentType);
  r.body = std::move(*body);
  r.headers.emplace_back("Cache-Control", std::string(kPlaylistCacheControl));
  return r;
}

HttpResponse Origin::ServeSegment(const HttpRequest& request, const std::string& channel,
                                  const fs::path& file, std::string_view content_type) {
  if (request.method != "HEAD") {
    if (const std::optional<std::string> id = request.Query(kSessionParameter)) {
      // The answer does not matter: media is served either way.
      (void)sessions_.Touch(channel, *id, clock_.Now(), Activity::kMedia, request.client_address);
    }
  }
  HttpResponse r;
  r.status = 200;
  r.content_type = std::string(content_type);
  r.file = file;
  r.headers.emplace_back("Cache-Control", std::string(kSegmentCacheControl));
  return r;
}

std::optional<DateRangeTag> Origin::LatestDateRange(const std::string& channel, WallTime now) {
  std::lock_guard lock(payload_mu_);
  const auto it = latest_.find(channel);
  if (it == latest_.end() || now - it->second.start > kMaxPayloadAge) return std::nullopt;
  return it->second;
}

Result<std::vector<ChannelReading>> Origin::Poll(WallTime now, const Deadline& /*deadline*/) {
  std::error_code ec;
  fs::directory_iterator it(options_.hls_root, ec);
  if (ec) {
    return Error::Io("cannot list the HLS root " + options_.hls_root.string() + ": " +
                     ec.message());
  }
  const std::map<ChannelId, std::int64_t> active = sessions_.CountActive(now);
  std::vector<ChannelReading> live;
  std::size_t channels = 0;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    // Symlinked channel directories are skipped: what they point at may lie
    // outside the root, where Handle would not serve it.
    std::error_code entry_ec;
    if (!IsValidChannelId(name) || it->is_symlink(entry_ec) || !it->is_directory(entry_ec)) {
      continue;
    }
    if (++channels > kMaxPolledChannels) {
      spdlog::warn("origin: more than {} channel directories under {}; the rest are ignored",
                   kMaxPolledChannels, options_.hls_root.string());
      break;
    }
    if (!HasFreshPlaylist(it->path(), now, options_.live_timeout)) continue;
    const auto count = active.find(name);
    live.push_back({name, count == active.end() ? 0 : count->second});
  }
  if (ec) {
    return Error::Io("cannot list the HLS root " + options_.hls_root.string() + ": " +
                     ec.message());
  }
  std::sort(live.begin(), live.end(),
            [](const ChannelReading& a, const ChannelReading& b) { return a.channel < b.channel; });
  return live;
}

Result<PublishOutcome> Origin::Publish(const Summary& summary, const std::string& payload) {
  if (!IsValidChannelId(summary.channel)) {
    return Error::InvalidArgument("not a channel name of the HLS origin: \"" +
                                  summary.channel.substr(0, kMaxChannelIdBytes) + "\"");
  }
  if (payload.size() > kMaxPayloadBytes) {
    return Error::InvalidArgument("payload of " + std::to_string(payload.size()) +
                                  " bytes is over the limit of " +
                                  std::to_string(kMaxPayloadBytes));
  }
  DateRangeTag tag{DateRangeId(summary.at), WallTime(summary.at), EncodeDateRangePayload(payload)};
  std::lock_guard lock(payload_mu_);
  // Forget channels that stopped publishing, so the map stays bounded.
  std::erase_if(latest_,
                [&](const auto& kv) { return tag.start - kv.second.start > kMaxPayloadAge; });
  latest_[summary.channel] = std::move(tag);
  return PublishOutcome::Published();
}

std::int64_t Origin::ActiveSessions(WallTime now) { return sessions_.ActiveTotal(now); }

}  // namespace headcount
