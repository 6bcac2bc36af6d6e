// The built-in HLS origin: serves <hls_root>/<channel>/ as ffmpeg's HLS muxer
// writes it, counts viewer sessions passively (the embedded Source) and puts
// the latest payload into media playlists as EXT-X-DATERANGE and into media
// segments as ID3 timed metadata (the embedded Publisher). Thread-safe: Handle, Poll and Publish
// may run concurrently.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "core/samples.h"
#include "core/tick.h"
#include "hls/playlist.h"
#include "origin/segment_metadata.h"
#include "origin/sessions.h"
#include "origin/upstream_channels.h"
#include "origin/upstream_fetcher.h"
#include "origin/upstream_template.h"
#include "server/http.h"

namespace headcount {

// A playlist larger than this is not served (500): ffmpeg's are a few KiB.
inline constexpr std::size_t kMaxPlaylistBytes = 1 << 20;
inline constexpr std::size_t kMaxFileNameBytes = 128;
// Poll looks at no more channel directories than this (logged when cut).
inline constexpr std::size_t kMaxPolledChannels = 10'000;
// A published payload older than this is no longer injected: when ticks
// stop, viewers see no number rather than a stale one.
inline constexpr std::chrono::minutes kMaxPayloadAge{10};
// Playlists whose last read (and rewrite) the origin keeps; past it the
// cache starts over. Far more than ffmpeg writes per channel times the
// channels of one machine.
inline constexpr std::size_t kMaxCachedPlaylists = 4096;
// The query parameter that carries the session id.
inline constexpr std::string_view kSessionParameter = "hcs";
// The query parameter of request-mode CMCD (CTA-5004), which players add to
// every request when configured: media is served as without it, and proxy
// mode does not pass it upstream (it differs per request, so it would make
// every fetch a miss, and it is the viewer's data, not the upstream's).
inline constexpr std::string_view kCmcdQueryParameter = "CMCD";
// Default of OriginOptions::live_timeout: ffmpeg rewrites a live playlist
// every segment (a few seconds), so 30 s without a change is a stopped stream.
inline constexpr std::chrono::seconds kDefaultLiveTimeout{30};

struct OriginOptions {
  // Where ffmpeg writes, one directory per channel: <hls_root>/<channel>/*.m3u8.
  std::filesystem::path hls_root;
  // A viewer not heard from for this long is no longer counted.
  std::chrono::seconds session_idle_timeout = kDefaultSessionIdleTimeout;
  // A channel is live while one of its .m3u8 files was modified within this.
  std::chrono::seconds live_timeout = kDefaultLiveTimeout;
  // Sessions one client address may hold at once (0 = no limit).
  std::size_t max_sessions_per_client = kDefaultMaxSessionsPerClient;
  // Key that signs session ids; empty = random per process.
  std::string session_key;
  // Told of every counted session (a cluster's shared count); null = none.
  ViewerSink* viewer_sink = nullptr;
  // Requests are <url_prefix>/<channel>/<file>. No trailing '/'.
  std::string url_prefix = "/hls";
  // Put the latest payload into the media segments served (.ts: ID3 in a
  // timed-metadata stream; .m4s: an ID3 emsg box), see segment_metadata.h.
  bool segment_metadata = true;
  // --count heartbeats: playlists carry no session ids and every answer is
  // the same for every viewer, so a CDN can cache it: Cache-Control public,
  // max-age half the target duration for media playlists
  // (kMultivariantPlaylistMaxAge for multivariant ones), and segments
  // immutable for kCacheableSegmentMaxAge. Sessions are then never handed
  // out; the count comes from player heartbeats.
  bool cacheable = false;
  // Proxy mode (origin_upstream.cc): files come from this upstream HLS
  // server instead of hls_root, through the fetcher given to the Origin.
  std::optional<UpstreamTemplate> upstream;
  // Proxy mode: the channels served; empty = those the upstream answers for.
  std::vector<std::string> upstream_channels;
};

// Cache lifetimes with OriginOptions::cacheable. A multivariant playlist
// changes only when the encoder's ladder does; a segment never changes once
// written (the encoder must not reuse segment names within this long:
// README "Behind a CDN").
inline constexpr std::chrono::seconds kMultivariantPlaylistMaxAge{30};
inline constexpr std::chrono::seconds kCacheableSegmentMaxAge = std::chrono::hours{24};

// Cache-Control of a playlist with OriginOptions::cacheable: a media
// playlist (one with EXT-X-TARGETDURATION) changes about once per target
// duration, so a cache keeps it half of that (at least 1 s), or
// `upstream_max_age` when shorter (proxy mode: the upstream's own
// max-age); a multivariant one kMultivariantPlaylistMaxAge. Either may be
// served stale while a cache refetches it, for as long again and no
// longer (stale-while-revalidate): a CDN told to serve stale while
// updating with no bound (nginx's proxy_cache_use_stale updating) hands
// the first viewer after a quiet spell a playlist from before it, whose
// segments the encoder may have deleted.
std::string CacheablePlaylistControl(
    std::string_view playlist, std::optional<std::chrono::seconds> upstream_max_age = std::nullopt);
// Cache-Control of a segment, part or init section with cacheable.
std::string CacheableSegmentControl();

// [A-Za-z0-9._-]{1,128}, not starting with '.', ending in .m3u8, .ts, .m4s,
// .mp4, .aac or .vtt.
bool IsServableFileName(std::string_view name);
// The Content-Type the origin serves a servable file name with.
std::string_view MediaContentType(std::string_view name);

class Origin final : public Source, public Publisher {
 public:
  // `clock` must outlive the origin. Nothing is read from disk until used:
  // hls_root may appear later (ffmpeg creates it).
  Origin(OriginOptions options, const Clock& clock);
  // Proxy mode: options.upstream is set and `fetcher` fetches from it.
  Origin(OriginOptions options, const Clock& clock, std::unique_ptr<UpstreamFetcher> fetcher);

  // Serves GET and HEAD of <url_prefix>/<channel>/<file> from hls_root:
  //  - .m3u8 with options.cacheable: the playlist with the DATERANGE, no
  //    session id, and a public Cache-Control (see OriginOptions::cacheable);
  //  - .m3u8: the playlist rewritten for the caller's session (a valid `hcs`
  //    is refreshed and kept; a bad one is replaced by
  //    ViewerSessions::Replacement, the same id on every reload)
  //    with, in media playlists, the channel's latest payload as DATERANGE;
  //    200 application/vnd.apple.mpegurl. A media playlist asked for with no
  //    `hcs` at all is answered with WrapMediaPlaylist(<same name>?hcs=<new
  //    id>), so the player's reloads carry its session;
  //  - segments: 200 with HttpResponse::file set to the resolved path, for the
  //    server to stream; with options.segment_metadata, .ts and .m4s media
  //    segments are served from memory instead, carrying the channel's
  //    latest payload (SegmentMetadata; as they are when that fails). A
  //    valid `hcs` starts or refreshes the session (a viewer is a session
  //    that fetched media), media is never refused.
  // 404 for other paths, names or extensions, missing files and anything
  // whose real path leaves hls_root; 405 (with Allow) for other methods; 500
  // for unreadable or oversized playlists; 503 for a file that is not (yet)
  // a playlist, e.g. caught mid-write. Error bodies never name paths.
  // HEAD returns the GET response (body included, for Content-Length; the
  // server must not send it) and refreshes no session.
  HttpResponse Handle(const HttpRequest& request);

  // The same, answering through `respond`: at once from hls_root; in proxy
  // mode at once from the fetcher's cache, else later from the fetcher's
  // thread (never waiting on this one), where
  // <url_prefix>/<channel>/<path> is fetched from the upstream template
  // (origin_upstream.cc):
  //  - channels as UpstreamChannels::Serves says, paths of plain names
  //    (IsServableFileName) with '/' between them; the viewer's query but
  //    `hcs` goes to the upstream (LL-HLS _HLS_msn/_HLS_part/_HLS_skip
  //    too, held as long as the upstream holds them), and its Range header;
  //  - 200 playlists are answered as from hls_root, their URIs to the
  //    upstream first mapped onto this origin (UpstreamTemplate::MapUri);
  //    200 and 206 media as the upstream sent them, streamed
  //    (HttpResponse::stream) as it arrives when it is not cached yet (200
  //    .ts and .m4s with the segment metadata, as from hls_root: a .ts once
  //    it is whole, an fMP4 segment once its first moof came); a body that
  //    breaks off after the head went out breaks the response off;
  //  - the upstream session is the fetcher's (upstream_session.h): no
  //    upstream session parameter, cookie or credential reaches the viewer;
  //  - an upstream 404 (or 410) is a 404, 401 and 403 (after one session
  //    renewal) are 502, another 4xx keeps its status; the upstream
  //    refused, unreachable, redirecting elsewhere, answering 5xx or too
  //    large: 502; timed out: 504; all with a JSON error naming the
  //    upstream's status when it answered.
  void Handle(const HttpRequest& request, HttpResponder respond);

  // Source: every channel directory with a valid name holding a .m3u8
  // modified within live_timeout of `now`, with its active sessions (0 when
  // none), sorted by channel. Fails (Io) when hls_root cannot be listed.
  // Reads only local state: the deadline does not apply.
  Result<std::vector<ChannelReading>> Poll(WallTime now, const Deadline& deadline) override;

  // Publisher: keeps `payload` as the channel's DATERANGE (ID
  // DateRangeId(summary.at), START-DATE summary.at) and segment metadata,
  // served from the next playlist or segment request on. InvalidArgument for an invalid channel
  // name or a payload over kMaxPayloadBytes.
  Result<PublishOutcome> Publish(const Summary& summary, const std::string& payload) override;

  // Active sessions over all channels at `now`, for metrics.
  std::int64_t ActiveSessions(WallTime now);

  // Whether `channel` is one this origin serves now: a folder under
  // hls_root, or in proxy mode a configured channel or (with none configured)
  // one the upstream has answered for. The heartbeat API's test.
  bool ServesChannel(std::string_view channel) const;

  const std::string& url_prefix() const { return options_.url_prefix; }

 private:
  // Identifies one version of a file: a rename (ffmpeg's temp_file) changes
  // the inode, a rewrite in place the size or modification time. File times
  // tick with the kernel's coarse clock (a few ms): a rewrite in place to the
  // same size within that tick is seen at the file's next change (ffmpeg
  // writes a playlist once per segment).
  struct FileVersion {
    std::uint64_t device = 0;
    std::uint64_t inode = 0;
    std::int64_t size = 0;
    std::int64_t modified_ns = 0;
    friend bool operator==(const FileVersion&, const FileVersion&) = default;
  };
  struct ServableFile {
    std::filesystem::path path;  // real path, inside the real hls_root
    FileVersion version;
  };
  // A playlist as last read, and its rewrite for one DATERANGE, cut where
  // each session query goes (empty when not built yet).
  struct CachedPlaylist {
    FileVersion version;
    std::shared_ptr<const std::string> source;
    std::uint64_t daterange_generation = 0;  // of `pieces`; 0 = no DATERANGE
    std::shared_ptr<const std::vector<std::string>> pieces;
  };
  // The latest payload of a channel; generation counts Publish calls.
  struct PublishedDateRange {
    DateRangeTag tag;
    std::uint64_t generation = 0;
    std::string payload;  // as published (tag holds it in base64)
  };

  // <hls_root>/<channel>/<name> when it is a regular file whose real path
  // (symlinks resolved) lies inside the real hls_root.
  std::optional<ServableFile> Resolve(std::string_view channel, std::string_view name);
  HttpResponse ServePlaylist(const HttpRequest& request, const std::string& channel,
                             std::string_view name, const ServableFile& file);
  // The cached read of `file` if it has not changed since, else a fresh read.
  Result<CachedPlaylist> LoadPlaylist(const ServableFile& file);
  // The session id a playlist answer carries: the presented one when valid
  // (touched, unless HEAD), a stable replacement for a bad one, a new one
  // when none was presented; empty when none could be minted.
  std::string PlaylistSession(const HttpRequest& request, const std::string& channel, WallTime now);
  // A one-variant multivariant playlist whose variant URI carries `id`.
  HttpResponse WrappedMediaPlaylist(std::string_view name, const ServableFile& file,
                                    const std::string& source, const std::string& id);
  // `cached` rewritten for one session (`session_query` may be empty), with
  // the channel's latest DATERANGE; keeps the marker-cut pieces in `cached`
  // and the playlist cache. Fails when the source is not a servable playlist.
  // `cache_key` names the playlist in the cache and the log; `map_uri` as
  // PlaylistRewrite's.
  Result<std::string> RewriteForSession(
      CachedPlaylist& cached, const std::string& cache_key, const std::string& channel,
      const std::string& session_query, WallTime now,
      const std::function<std::string(std::string_view)>& map_uri = nullptr);
  HttpResponse ServeSegment(const HttpRequest& request, const std::string& channel,
                            std::string_view name, const ServableFile& file,
                            std::string_view content_type);
  // The bytes of the init segment (EXT-X-MAP) of fMP4 segment `name`, from
  // the first playlist in `dir` (the segment's real directory) that lists
  // it; nullopt when none does.
  std::optional<std::string> FindInitSegment(std::string_view channel,
                                             const std::filesystem::path& dir,
                                             std::string_view name);
  // Proxy mode (origin_upstream.cc).
  void HandleUpstream(const HttpRequest& request, HttpResponder respond);
  void ServeUpstreamPlaylist(const HttpRequest& request, const std::string& channel,
                             const std::string& path, const Url& url,
                             const std::shared_ptr<const UpstreamFile>& file,
                             HttpResponder respond);
  void ServeUpstreamMedia(const HttpRequest& request, const std::string& channel,
                          const std::string& path, const std::shared_ptr<const UpstreamFile>& file,
                          HttpResponder respond);
  Result<std::vector<ChannelReading>> PollUpstream(WallTime now);
  // The segment payload of `channel` at `now`, if a fresh one exists.
  std::optional<SegmentPayload> LatestSegmentPayload(const std::string& channel, WallTime now);
  // The DATERANGE to inject for `channel` at `now`, if a fresh one exists.
  std::optional<PublishedDateRange> LatestDateRange(const std::string& channel, WallTime now);

  const OriginOptions options_;
  const Clock& clock_;
  ViewerSessions sessions_;
  SegmentMetadata segment_metadata_;
  UpstreamChannels upstream_channels_;  // proxy mode only

  // Guarded by payload_mu_.
  std::mutex payload_mu_;
  std::map<ChannelId, PublishedDateRange> latest_;
  std::uint64_t publish_generation_ = 0;

  // Guarded by cache_mu_: what saves a playlist request its file reads and
  // most of its rewrite, and a request its walk up the root's path.
  std::mutex cache_mu_;
  std::filesystem::path real_root_;  // canonical hls_root; empty = unknown
  FileVersion root_version_;         // of hls_root when real_root_ was found
  std::unordered_map<std::string, CachedPlaylist> playlists_;  // by real path

  // Proxy mode only (null otherwise). Last, so that it goes first: its
  // thread runs callbacks that use the members above.
  const std::unique_ptr<UpstreamFetcher> fetcher_;
};

}  // namespace headcount
