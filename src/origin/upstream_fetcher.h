// The upstream proxy's fetching: requests to the upstream HLS server through
// the pooled asynchronous HTTP client (http_client/client.h), on a thread of
// its own, with
//  - single flight: identical concurrent requests (same URL, query and
//    Range) share one upstream request;
//  - playlist reuse: a 200 playlist answers identical requests for at most
//    half its target duration or the upstream's Cache-Control max-age,
//    whichever is shorter;
//  - media streamed: a segment, part or init section (200 or 206) is
//    answered as soon as the upstream's head arrived, its body following
//    as it arrives (UpstreamFile::live, upstream_body.h); a request for it
//    while it arrives joins it and gets the bytes so far, then the rest;
//  - a media cache: 200 segments, parts and init sections (without Range)
//    kept in memory once complete, LRU, bounded in bytes (one larger than
//    the whole cache is streamed through and not kept), so N viewers of a
//    segment cost one upstream request;
//  - the proxy's own upstream session (upstream_session.h): same-origin
//    redirects and self-referencing wrappers followed (kMaxUpstreamRedirects),
//    cookies kept, the upstream's session parameters learned from its
//    playlists (and taken off them) and sent with every request of the
//    channel (the fetch's group), the configured credentials on every
//    request. A 401 or 403 renews the channel's session once (one renewal
//    in flight per channel: its entry playlist fetched afresh) and the
//    request is sent again; a second rejection is the answer.
// Playlists are buffered whole (they are rewritten whole), up to
// kMaxUpstreamPlaylistBytes; a media body is kept while it arrives (for
// the viewers who join it and the cache) up to kMaxUpstreamMediaBytes, and
// broken off past it: no request can make it hold more.
// No caller ever waits: Fetch answers a cache hit at once and anything else
// later, on the fetcher's thread. Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "origin/upstream_body.h"
#include "origin/upstream_session.h"

namespace headcount {

namespace http_client {
class Client;
struct HttpRequest;
struct HttpResponse;
}  // namespace http_client

// Defaults and bounds of the upstream proxy.
inline constexpr std::chrono::milliseconds kDefaultUpstreamTimeout{10'000};
inline constexpr std::size_t kDefaultUpstreamCacheBytes = std::size_t{256} << 20;
inline constexpr std::size_t kDefaultUpstreamConnections = 64;
// The largest response the proxy takes: ffmpeg's segments are a few MB,
// parts and init sections far less; a playlist of hours is a few hundred KB.
// A media response announcing more is refused (502); one that grows past
// it is broken off (its viewers see a truncated transfer).
inline constexpr std::size_t kMaxUpstreamMediaBytes = std::size_t{64} << 20;
inline constexpr std::size_t kMaxUpstreamPlaylistBytes = std::size_t{4} << 20;
// A multivariant playlist (no target duration) is reused for this long at
// most: it rarely changes, and a stale one only delays a new rendition.
inline constexpr std::chrono::seconds kMultivariantReuse{2};
// A blocking playlist reload (LL-HLS _HLS_msn) is held by the upstream for
// up to 3 target durations; this many of the playlist's last target
// duration are added to the timeout (kUnknownTargetDuration before one is known).
inline constexpr int kBlockingReloadTargetDurations = 3;
inline constexpr std::chrono::seconds kUnknownTargetDuration{4};
// The most a blocking reload adds to the timeout, whatever the target duration.
inline constexpr std::chrono::seconds kMaxBlockingReloadHold{60};
// Reused playlists and known target durations kept; past it they start over.
inline constexpr std::size_t kMaxReusedPlaylists = 4096;
// Requests waiting on one in-flight fetch, and fetches in flight at once:
// past them a request fails at once (kUnavailable) instead of queueing.
inline constexpr std::size_t kMaxWaitersPerFetch = 100'000;
inline constexpr std::size_t kMaxFetchesInFlight = 4096;

enum class UpstreamKind { kPlaylist, kMedia };
// "playlist", "media".
std::string_view UpstreamKindName(UpstreamKind kind);

struct UpstreamFetcherOptions {
  // Connect, read and total timeout of one upstream request (blocking
  // reloads get kBlockingReloadTargetDurations target durations more).
  std::chrono::milliseconds timeout = kDefaultUpstreamTimeout;
  std::size_t cache_bytes = kDefaultUpstreamCacheBytes;
  // Connections open to the upstream at once; requests past it wait for one.
  std::size_t max_connections = kDefaultUpstreamConnections;
  // PEM CA bundle for https upstreams; empty = the system's.
  std::string ca_file;
  // Headers and query parameters sent with every upstream request (secrets).
  UpstreamCredentials credentials;
  // Called for every request Fetch answers: `result` is "hit" (reused or
  // cached), "shared" (joined a fetch in flight) or "miss" (fetched).
  std::function<void(UpstreamKind kind, std::string_view result)> on_lookup;
  // Called for every upstream request (each redirect and renewal too):
  // `outcome` is the status class
  // ("2xx".."5xx") or "unreachable", "timeout", "too_large".
  std::function<void(UpstreamKind kind, std::string_view outcome)> on_fetch;
};

// One upstream answer, shared by every request it serves. Immutable.
struct UpstreamFile {
  int status = 0;
  // The whole body; null while it arrives (then `live` holds it).
  std::shared_ptr<const std::string> body;
  // Media (200, 206) still arriving from the upstream: read it from here.
  std::shared_ptr<UpstreamBody> live;
  std::string content_type;    // as the upstream sent it, may be empty
  std::string content_range;   // of a 206
  std::string cache_control;   // as the upstream sent it
  std::uint64_t fetch_id = 0;  // unique per upstream request: the version of what it holds
};

struct UpstreamFetch {
  UpstreamKind kind = UpstreamKind::kMedia;
  std::string url = {};    // absolute upstream URL, query included
  std::string range = {};  // the viewer's Range header, empty = none
  // Fetches of one group (a channel) in flight at once are capped at half
  // the connections: a slow channel cannot take them all. The group also
  // names the upstream session the fetch uses. Empty = no group.
  std::string group = {};
  bool blocking = false;  // an LL-HLS blocking reload (_HLS_msn): held by the upstream
};

class UpstreamFetcher {
 public:
  using Callback = std::function<void(Result<std::shared_ptr<const UpstreamFile>>)>;

  // Starts the fetcher's thread. kInvalidArgument for zero caps.
  static Result<std::unique_ptr<UpstreamFetcher>> Create(UpstreamFetcherOptions options,
                                                         const Clock& clock);
  // Stops the thread; callbacks of fetches still in flight are dropped.
  ~UpstreamFetcher();
  UpstreamFetcher(const UpstreamFetcher&) = delete;
  UpstreamFetcher& operator=(const UpstreamFetcher&) = delete;

  // Answers `fetch` through `callback`, exactly once: inside this call, on
  // the caller's thread, when the answer is reused or cached, or joins a
  // media body already arriving (or is refused: too many waiting, or its
  // group already has half the connections), else later on the fetcher's
  // thread. The answer is the upstream's response of any status (media
  // with 200 or 206 as soon as its head came, with `live` set), or
  // kUnavailable (unreachable, too many waiting; see IsTimedOut),
  // kRejected (larger than the bound). Callbacks must not block.
  void Fetch(const UpstreamFetch& fetch, Callback callback);

  // Bytes held by the media cache, for tests and metrics.
  std::size_t CachedBytes();

 private:
  struct InFlight {
    UpstreamFetch fetch;
    std::vector<Callback> waiters;  // until the answer (or its head) came
    // Media whose body is arriving: what later requests join.
    std::shared_ptr<const UpstreamFile> file;
  };
  struct Reused {
    std::shared_ptr<const UpstreamFile> file;
    WallTime until;
  };
  struct CacheEntry {
    std::shared_ptr<const UpstreamFile> file;
    std::list<std::string>::iterator lru;  // position in lru_
  };

  // Runs with the end of one upstream exchange (redirects followed) and the
  // session generation its first request was prepared with.
  using ExchangeDone = std::function<void(Result<std::shared_ptr<UpstreamFile>>, std::uint64_t)>;

  UpstreamFetcher(UpstreamFetcherOptions options, const Clock& clock);
  // Sends `fetch` to `url` with the session's state, following same-origin
  // redirects and self-referencing wrappers (`redirects` so far); playlists
  // come back with the session parameters taken off.
  void Exchange(const UpstreamFetch& fetch, const Url& url, std::size_t redirects,
                std::uint64_t generation, ExchangeDone done);
  // Sends the fetch of `key`; a rejection renews the session once unless `renewed`.
  void Send(const std::string& key, const UpstreamFetch& fetch, const Url& url, bool renewed);
  // Renews `group`'s session, unless it was renewed since `generation`,
  // then runs `then` (on the fetcher's thread or inside this call).
  void Renew(const std::string& group, std::uint64_t generation, const UpstreamFetch& failed,
             std::function<void()> then);
  // The answer without an upstream request, if there is one (requires mu_).
  std::shared_ptr<const UpstreamFile> LookupLocked(const std::string& key,
                                                   const UpstreamFetch& fetch, WallTime now);
  void Start(const std::string& key, const UpstreamFetch& fetch);
  void Complete(const std::string& key, Result<std::shared_ptr<const UpstreamFile>> result);
  // The body of `file` (the live answer to `key`) ended: kept when it came
  // complete, and the fetch is over.
  void Settle(const std::string& key, const std::shared_ptr<const UpstreamFile>& file,
              bool complete);
  // Exchange's sending of a media request: its answer is streamed when 200
  // or 206 (done runs with the head), else read whole.
  void StreamMedia(const UpstreamFetch& fetch, const Url& url, std::size_t redirects,
                   std::uint64_t generation, http_client::HttpRequest request, ExchangeDone done);
  // Exchange's handling of a whole answer (redirects, wrappers, sessions).
  void OnAnswer(const UpstreamFetch& fetch, const Url& url, std::size_t redirects,
                std::uint64_t generation, http_client::HttpResponse response, ExchangeDone done);
  // Keeps `file` for later requests as its kind allows (requires mu_).
  void KeepLocked(const std::string& key, const UpstreamFetch& fetch,
                  const std::shared_ptr<const UpstreamFile>& file, WallTime now);

  const UpstreamFetcherOptions options_;
  const Clock& clock_;
  UpstreamSessions sessions_;
  struct Io;  // the io_context, its thread and the HTTP client
  std::unique_ptr<Io> io_;

  // Guarded by mu_.
  std::mutex mu_;
  std::uint64_t next_fetch_id_ = 1;
  std::unordered_map<std::string, InFlight> in_flight_;
  std::unordered_map<std::string, std::size_t> group_in_flight_;            // by group, > 0 only
  std::unordered_map<std::string, Reused> playlists_;                       // by key
  std::unordered_map<std::string, std::chrono::seconds> target_durations_;  // by URL, no query
  std::unordered_map<std::string, CacheEntry> media_;                       // by key
  std::list<std::string> lru_;  // most recently used first
  std::size_t media_bytes_ = 0;
  // Session renewals in flight, by group: what runs when each ends.
  std::unordered_map<std::string, std::vector<std::function<void()>>> renewals_;
};

// Whether `error` (from Fetch) says the upstream did not answer in time.
bool IsTimedOut(const Error& error);

// Cache-Control's max-age (0 for no-cache and no-store); nullopt when it
// says neither.
std::optional<std::chrono::seconds> CacheControlMaxAge(std::string_view cache_control);

}  // namespace headcount
