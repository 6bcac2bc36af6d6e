#include "origin/origin.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <optional>
#include <system_error>
#include <utility>

#include "core/payload.h"
#include "core/small_file.h"
#include "hls/m3u8_reader.h"

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

// The real path of <real_root>/<channel>/<name> when it is a regular file
// whose real path (all symlinks resolved) is inside `real_root` (canonical).
std::optional<fs::path> ResolveInsideRoot(const fs::path& real_root, std::string_view channel,
                                          std::string_view name) {
  std::error_code ec;
  const fs::path real = fs::canonical(real_root / fs::path(channel) / fs::path(name), ec);
  if (ec || !IsInside(real_root, real)) return std::nullopt;
  if (!fs::is_regular_file(real, ec) || ec) return std::nullopt;
  return real;
}

// A byte that never occurs in a playlist worth caching: it stands for the
// session query in a cached rewrite.
constexpr char kSessionMarker = '\x01';

// The rewrite cut at every session query (kSessionMarker), or nullopt when
// the source holds the marker byte itself.
std::optional<std::vector<std::string>> SplitAtMarker(std::string_view rewritten,
                                                      std::string_view source) {
  if (source.find(kSessionMarker) != std::string_view::npos) return std::nullopt;
  std::vector<std::string> pieces;
  std::size_t from = 0;
  for (std::size_t at; (at = rewritten.find(kSessionMarker, from)) != std::string_view::npos;
       from = at + 1) {
    pieces.emplace_back(rewritten.substr(from, at - from));
  }
  pieces.emplace_back(rewritten.substr(from));
  return pieces;
}

std::string JoinPieces(const std::vector<std::string>& pieces, std::string_view glue) {
  std::size_t size = glue.size() * (pieces.size() - 1);
  for (const std::string& p : pieces) size += p.size();
  std::string out;
  out.reserve(size);
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    if (i > 0) out += glue;
    out += pieces[i];
  }
  return out;
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

std::string CacheablePlaylistControl(std::string_view playlist,
                                     std::optional<std::chrono::seconds> upstream_max_age) {
  constexpr std::string_view kTag = "#EXT-X-TARGETDURATION:";
  const std::size_t at = playlist.find(kTag);
  if (at == std::string_view::npos) {
    const std::string age = std::to_string(kMultivariantPlaylistMaxAge.count());
    return "public, max-age=" + age + ", stale-while-revalidate=" + age;
  }
  long long target = 0;
  for (std::size_t i = at + kTag.size();
       i < playlist.size() && playlist[i] >= '0' && playlist[i] <= '9' && target < 86400; ++i) {
    target = target * 10 + (playlist[i] - '0');
  }
  long long max_age = target / 2;
  if (upstream_max_age) max_age = std::min<long long>(max_age, upstream_max_age->count());
  const std::string age = std::to_string(std::max(1LL, max_age));
  return "public, max-age=" + age + ", stale-while-revalidate=" + age;
}

std::string CacheableSegmentControl() {
  return "public, max-age=" + std::to_string(kCacheableSegmentMaxAge.count()) + ", immutable";
}

bool IsServableFileName(std::string_view name) {
  return !name.empty() && name.size() <= kMaxFileNameBytes && name.front() != '.' &&
         std::all_of(name.begin(), name.end(), [](char c) { return IsNameChar(c) || c == '.'; }) &&
         MediaTypeOf(name).has_value();
}

std::string_view MediaContentType(std::string_view name) {
  const std::optional<MediaType> type = MediaTypeOf(name);
  return type ? type->content_type : std::string_view("application/octet-stream");
}

Origin::Origin(OriginOptions options, const Clock& clock) : Origin(std::move(options), clock, {}) {}

Origin::Origin(OriginOptions options, const Clock& clock, std::unique_ptr<UpstreamFetcher> fetcher)
    : options_(Normalized(std::move(options))),
      clock_(clock),
      sessions_(SessionOptions{.idle_timeout = options_.session_idle_timeout,
                               .key = options_.session_key,
                               .max_sessions = kMaxSessions,
                               .max_sessions_per_client = options_.max_sessions_per_client,
                               .sink = options_.viewer_sink}),
      upstream_channels_(options_.upstream_channels, options_.live_timeout),
      fetcher_(std::move(fetcher)) {}

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

  std::optional<ServableFile> file = Resolve(channel, name);
  if (!file) return NotFound();
  const MediaType type = *MediaTypeOf(name);
  if (type.extension == ".m3u8") return ServePlaylist(request, std::string(channel), name, *file);
  return ServeSegment(request, std::string(channel), name, *file, type.content_type);
}

std::optional<Origin::ServableFile> Origin::Resolve(std::string_view channel,
                                                    std::string_view name) {
  const auto version_of = [](const struct stat& st) {
    return FileVersion{std::uint64_t(st.st_dev), std::uint64_t(st.st_ino), std::int64_t(st.st_size),
                       std::int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
  };
  // The canonical root is looked up again only when hls_root stops naming
  // the directory it was found for (created, replaced, remounted).
  struct stat st {};
  if (::stat(options_.hls_root.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return std::nullopt;
  const FileVersion root_version{std::uint64_t(st.st_dev), std::uint64_t(st.st_ino), 0, 0};
  fs::path real_root;
  {
    std::lock_guard lock(cache_mu_);
    if (!real_root_.empty() && root_version_ == root_version) real_root = real_root_;
  }
  if (real_root.empty()) {
    std::error_code ec;
    real_root = fs::canonical(options_.hls_root, ec);
    if (ec) return std::nullopt;
    std::lock_guard lock(cache_mu_);
    real_root_ = real_root;
    root_version_ = root_version;
  }
  // Usually neither the channel directory nor the file is a symlink: then,
  // as the names hold no '/' and are not "." or "..", the real path is
  // <real_root>/<channel>/<name>, and two lstat calls prove it.
  fs::path path = real_root / fs::path(channel);
  if (::lstat(path.c_str(), &st) != 0) return std::nullopt;
  if (S_ISDIR(st.st_mode)) {
    path /= fs::path(name);
    if (::lstat(path.c_str(), &st) != 0) return std::nullopt;
    if (S_ISREG(st.st_mode)) return ServableFile{std::move(path), version_of(st)};
    if (!S_ISLNK(st.st_mode)) return std::nullopt;
  } else if (!S_ISLNK(st.st_mode)) {
    return std::nullopt;
  }
  // A symlink on the way: resolve it all and check where it leads.
  std::optional<fs::path> real = ResolveInsideRoot(real_root, channel, name);
  if (!real || ::stat(real->c_str(), &st) != 0) return std::nullopt;
  return ServableFile{std::move(*real), version_of(st)};
}

Result<Origin::CachedPlaylist> Origin::LoadPlaylist(const ServableFile& file) {
  {
    std::lock_guard lock(cache_mu_);
    const auto it = playlists_.find(file.path.native());
    if (it != playlists_.end() && it->second.version == file.version) return it->second;
  }
  Result<std::string> read = ReadSmallFile(file.path, kMaxPlaylistBytes);
  if (!read.ok()) return read.error();
  return CachedPlaylist{file.version, std::make_shared<const std::string>(std::move(*read)), 0,
                        nullptr};
}

std::string Origin::PlaylistSession(const HttpRequest& request, const std::string& channel,
                                    WallTime now) {
  const std::optional<std::string> presented = request.Query(kSessionParameter);
  // Touch verifies the id itself (one HMAC per request, not two); HEAD
  // refreshes nothing, so it only verifies.
  const bool head = request.method == "HEAD";
  const bool valid =
      presented && (head ? sessions_.Verify(channel, *presented)
                         : sessions_.Touch(channel, *presented, now, Activity::kPlaylist,
                                           request.client_address));
  if (valid) return *presented;
  if (presented) {
    // A bad id (a lost or rotated key, another node's or channel's id) stays
    // in the player's URL for as long as it plays: a fresh id on each reload
    // would start a session per reload, many viewers for one. The
    // replacement is derived from it, so every reload gets the same one.
    // (Redirecting once to a URL with a fresh id would also do, but only for
    // players that reload the redirected URL, and at a round trip's cost.)
    return sessions_.Replacement(channel, *presented, request.client_address);
  }
  Result<std::string> minted = sessions_.Mint(channel);
  if (minted.ok()) return std::move(*minted);
  // Never refuse media: serve it uncounted.
  spdlog::warn("origin: serving a playlist without a session: {}", minted.error().ToString());
  return {};
}

HttpResponse Origin::WrappedMediaPlaylist(std::string_view name, const ServableFile& file,
                                          const std::string& source, const std::string& id) {
  const fs::path dir = file.path.parent_path();
  const std::uint64_t bandwidth =
      PeakBitrate(source, [&](std::string_view uri) -> std::optional<std::uint64_t> {
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

Result<std::string> Origin::RewriteForSession(
    CachedPlaylist& cached, const std::string& cache_key, const std::string& channel,
    const std::string& session_query, WallTime now,
    const std::function<std::string(std::string_view)>& map_uri) {
  const std::string& source = *cached.source;
  std::optional<PublishedDateRange> published = LatestDateRange(channel, now);
  const std::uint64_t generation = published ? published->generation : 0;
  PlaylistRewrite rewrite;
  if (published) rewrite.daterange = std::move(published->tag);
  rewrite.map_uri = map_uri;
  if (session_query.empty()) {
    // No session to carry (the random generator failed): URIs stay as they are.
    return RewritePlaylist(source, rewrite);
  }
  if (cached.pieces && cached.daterange_generation == generation) {
    return JoinPieces(*cached.pieces, session_query);
  }
  // Rewritten once with a marker where the session query goes; the cut
  // pieces serve every later request until the file or payload changes.
  rewrite.session_query = std::string(1, kSessionMarker);
  Result<std::string> marked = RewritePlaylist(source, rewrite);
  if (!marked.ok()) {
    // Typically a playlist caught mid-write by a muxer without temp_file.
    spdlog::warn("origin: {} is not a servable playlist: {}", cache_key, marked.error().ToString());
    return marked.error();
  }
  std::string body;
  std::optional<std::vector<std::string>> pieces = SplitAtMarker(*marked, source);
  if (pieces) {
    body = JoinPieces(*pieces, session_query);
    cached.pieces = std::make_shared<const std::vector<std::string>>(std::move(*pieces));
    cached.daterange_generation = generation;
  } else {
    rewrite.session_query = session_query;
    Result<std::string> direct = RewritePlaylist(source, rewrite);
    if (!direct.ok()) return direct.error();
    body = std::move(*direct);
  }
  std::lock_guard lock(cache_mu_);
  if (playlists_.size() >= kMaxCachedPlaylists) playlists_.clear();
  playlists_.insert_or_assign(cache_key, cached);
  return body;
}

HttpResponse Origin::ServePlaylist(const HttpRequest& request, const std::string& channel,
                                   std::string_view name, const ServableFile& file) {
  Result<CachedPlaylist> cached = LoadPlaylist(file);
  if (!cached.ok()) {
    if (cached.error().code() == ErrorCode::kNotFound) return NotFound();
    spdlog::error("origin: cannot serve a playlist: {}", cached.error().ToString());
    return HttpResponse::Error(500, "playlist unavailable");
  }
  const WallTime now = clock_.Now();
  // Cacheable: no session id, so the answer is the same for every viewer.
  const std::string id =
      options_.cacheable ? std::string() : PlaylistSession(request, channel, now);

  // A player that asked for a media playlist with no session would reload
  // that same URL, and get a new id each time: hand it a one-variant
  // multivariant playlist instead, whose variant URI carries its session.
  if (!request.Query(kSessionParameter) && !id.empty() && IsMediaPlaylist(*cached->source)) {
    return WrappedMediaPlaylist(name, file, *cached->source, id);
  }

  const std::string session_query =
      id.empty() ? std::string() : std::string(kSessionParameter) + "=" + id;
  Result<std::string> body =
      RewriteForSession(*cached, file.path.native(), channel, session_query, now);
  if (!body.ok()) return HttpResponse::Error(503, "playlist not ready");
  HttpResponse r;
  r.status = 200;
  r.content_type = std::string(kPlaylistContentType);
  r.body = std::move(*body);
  r.headers.emplace_back("Cache-Control", options_.cacheable
                                              ? CacheablePlaylistControl(*cached->source)
                                              : std::string(kPlaylistCacheControl));
  return r;
}

HttpResponse Origin::ServeSegment(const HttpRequest& request, const std::string& channel,
                                  std::string_view name, const ServableFile& file,
                                  std::string_view content_type) {
  if (request.method != "HEAD") {
    if (const std::optional<std::string> id = request.Query(kSessionParameter)) {
      // The answer does not matter: media is served either way.
      (void)sessions_.Touch(channel, *id, clock_.Now(), Activity::kMedia, request.client_address);
    }
  }
  HttpResponse r;
  r.status = 200;
  r.content_type = std::string(content_type);
  r.headers.emplace_back("Cache-Control", options_.cacheable ? CacheableSegmentControl()
                                                             : std::string(kSegmentCacheControl));
  const bool ts = name.ends_with(".ts");
  if (options_.segment_metadata && (ts || name.ends_with(".m4s"))) {
    const std::optional<SegmentPayload> payload = LatestSegmentPayload(channel, clock_.Now());
    const FileVersion& v = file.version;
    const std::string version_key = file.path.native() + '\n' + std::to_string(v.device) + ':' +
                                    std::to_string(v.inode) + ':' + std::to_string(v.size) + ':' +
                                    std::to_string(v.modified_ns);
    if (std::shared_ptr<const std::string> bytes = segment_metadata_.Rewrite(
            file.path, version_key, ts ? SegmentKind::kTransportStream : SegmentKind::kFmp4,
            payload, [&] { return FindInitSegment(channel, file.path.parent_path(), name); })) {
      r.shared_body = std::move(bytes);
      return r;
    }
  }
  r.file = file.path;
  return r;
}

std::optional<std::string> Origin::FindInitSegment(std::string_view channel, const fs::path& dir,
                                                   std::string_view name) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const std::string playlist_name = it->path().filename().string();
    if (it->path().extension() != ".m3u8" || !IsServableFileName(playlist_name)) continue;
    const std::optional<ServableFile> playlist = Resolve(channel, playlist_name);
    if (!playlist) continue;
    Result<std::string> text = ReadSmallFile(playlist->path, kMaxPlaylistBytes);
    if (!text.ok()) continue;
    const std::optional<std::string> uri = MapUriFor(*text, name);
    // Only a plain name beside the segment: the init is resolved as any
    // request would be, inside the root.
    if (!uri || !IsServableFileName(*uri)) continue;
    const std::optional<ServableFile> init = Resolve(channel, *uri);
    if (!init) continue;
    Result<std::string> bytes = ReadSmallFile(init->path, kMaxInitSegmentBytes);
    if (bytes.ok()) return std::move(*bytes);
  }
  return std::nullopt;
}

std::optional<SegmentPayload> Origin::LatestSegmentPayload(const std::string& channel,
                                                           WallTime now) {
  std::optional<PublishedDateRange> p = LatestDateRange(channel, now);
  if (!p) return std::nullopt;
  return SegmentPayload{std::move(p->payload),
                        static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                                       p->tag.start.time_since_epoch())
                                                       .count()),
                        p->generation};
}

std::optional<Origin::PublishedDateRange> Origin::LatestDateRange(const std::string& channel,
                                                                  WallTime now) {
  std::lock_guard lock(payload_mu_);
  const auto it = latest_.find(channel);
  if (it == latest_.end() || now - it->second.tag.start > kMaxPayloadAge) return std::nullopt;
  return it->second;
}

Result<std::vector<ChannelReading>> Origin::Poll(WallTime now, const Deadline& /*deadline*/) {
  if (fetcher_) return PollUpstream(now);
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
                [&](const auto& kv) { return tag.start - kv.second.tag.start > kMaxPayloadAge; });
  latest_[summary.channel] = PublishedDateRange{std::move(tag), ++publish_generation_, payload};
  return PublishOutcome::Published();
}

std::int64_t Origin::ActiveSessions(WallTime now) { return sessions_.ActiveTotal(now); }

bool Origin::ServesChannel(std::string_view channel) const {
  if (options_.upstream) return upstream_channels_.Known(channel);
  if (!IsValidChannelId(channel)) return false;
  std::error_code ec;
  return fs::is_directory(options_.hls_root / std::string(channel), ec);
}

}  // namespace headcount
