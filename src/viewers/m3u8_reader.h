// A minimal M3U8 (RFC 8216) reader and http:// URL resolver for the viewer
// simulator: only what a player needs to follow a live stream. Pure functions
// on value types; thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace headcount {

// An http:// URL split the way a client uses it: where to connect, what to send.
struct HttpUrl {
  std::string host;    // lower-cased; an IPv6 literal without its brackets
  std::string port;    // decimal, "80" when the URL names none
  std::string target;  // origin-form path and query, no fragment: "/a/b.m3u8?hcs=1"

  // The Host header value: "host" or "host:port" ("[::1]:8080" for IPv6).
  std::string HostHeader() const;
  bool SameOrigin(const HttpUrl& other) const { return host == other.host && port == other.port; }
};

// Parses "http://host[:port][/path][?query][#fragment]". The fragment is
// dropped and an empty path becomes "/". Fails (kInvalidArgument) for https://
// (the simulator speaks plain HTTP only), any other scheme, user info, an empty
// host, a port outside 1..65535, or spaces and control characters. Error
// messages never quote the URL (its query may hold secrets).
Result<HttpUrl> ParseHttpUrl(std::string_view url);

// Resolves `reference` (a URI from a playlist fetched from `base`) per RFC 3986
// §5.2: an absolute "http://..." or network-path "//host/..." URL, an
// absolute path "/a/b", a relative path "b/c?q" (merged with the base's
// directory, "." and ".." removed) or a query alone "?q". The reference's query
// is kept verbatim and its fragment dropped. Fails (kInvalidArgument) for other
// schemes, for URLs on another host or port than `base` (a player keeps one
// connection to one origin), and for spaces and control characters.
Result<HttpUrl> ResolveReference(const HttpUrl& base, std::string_view reference);

// `target` without its query, for logs: queries carry session ids.
std::string_view PathForLog(std::string_view target);

// What a player needs from a playlist.
struct M3u8Playlist {
  // True for a multivariant playlist (it has #EXT-X-STREAM-INF tags).
  bool multivariant = false;
  // Multivariant: the URI line after each #EXT-X-STREAM-INF, in playlist order.
  std::vector<std::string> variant_uris;

  // Media playlist: #EXT-X-TARGETDURATION.
  std::chrono::seconds target_duration{0};
  // Media playlist: #EXT-X-MEDIA-SEQUENCE (0 when absent), the sequence number
  // of segment_uris[0].
  std::int64_t media_sequence = 0;
  // Media playlist: the segment URI lines, in order, unresolved.
  std::vector<std::string> segment_uris;
  // Media playlist: #EXT-X-ENDLIST was present (no more segments will come).
  bool ended = false;
};

// Parses playlist text (lines end in "\n" or "\r\n"). Tags other than the ones
// above are skipped. Fails (kInvalidArgument) when the first line is not
// #EXTM3U; when variant and segment tags are mixed; for a multivariant
// playlist, when an #EXT-X-STREAM-INF has no URI line after it or there is no
// variant; for a media playlist, when #EXT-X-TARGETDURATION is missing, either
// number tag is not a decimal integer in range, or a URI line has no #EXTINF
// before it.
Result<M3u8Playlist> ParseM3u8(std::string_view text);

}  // namespace headcount
