// HLS playlist rewriting for the origin (RFC 8216): carries the viewer
// session in every relative URI and puts the latest payload into media
// playlists as one EXT-X-DATERANGE tag. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"

namespace headcount {

// CLASS of the DATERANGE tags headcount writes; players match on it.
inline constexpr std::string_view kDateRangeClass = "com.headcount.viewers";
// The client attribute that carries the base64 payload.
inline constexpr std::string_view kDateRangePayloadAttribute = "X-HEADCOUNT";

// One EXT-X-DATERANGE tag. Keep `start` fixed for a given `id`: hls.js moves
// the cue (and fires cuechange again) when an ID's START-DATE changes.
struct DateRangeTag {
  std::string id;              // e.g. DateRangeId(bucket); no '"', no control characters
  WallTime start;              // START-DATE, written in UTC with milliseconds
  std::string payload_base64;  // X-HEADCOUNT, e.g. EncodeDateRangePayload(payload)
};

struct PlaylistRewrite {
  // Appended to every relative URI with '?' or '&', e.g. "hcs=abc". Empty =
  // URIs unchanged.
  std::string session_query;
  // Inserted into media playlists that carry EXT-X-PROGRAM-DATE-TIME.
  std::optional<DateRangeTag> daterange;
  // When set, every URI (URI lines and URI attributes) is first replaced by
  // map_uri(uri), then gets session_query as above: the upstream proxy maps
  // URIs that point at its upstream onto its own paths. Must be pure.
  std::function<std::string(std::string_view uri)> map_uri = nullptr;
};

// Rewrites `source` for one client:
//  - maps every URI through opts.map_uri when it is set;
//  - appends opts.session_query to every relative URI: URI lines, and the
//    URI="..." attribute of EXT-X-MAP, -MEDIA, -I-FRAME-STREAM-INF, -KEY,
//    -SESSION-KEY, -PART, -PRELOAD-HINT and -RENDITION-REPORT; absolute URIs
//    ("scheme:..." and "//host/...") are left alone, so the session never
//    leaves this origin;
//  - for a media playlist whose EXT-X-PROGRAM-DATE-TIME tags all parse, and
//    when opts.daterange is set, inserts exactly one DATERANGE line (see
//    FormatDateRange) right before the first tag or URI of the first media
//    segment. Without PDT there is no DATERANGE (RFC 8216 §4.3.2.7 requires
//    one), and multivariant playlists never get one;
//  - accepts LF or CRLF line endings and writes LF, ending with a newline;
//    every other line is copied unchanged.
// Fails with InvalidArgument when `source` does not start with "#EXTM3U", or
// when opts.daterange holds an id or payload that cannot be quoted.
Result<std::string> RewritePlaylist(std::string_view source, const PlaylistRewrite& opts);

// True for a media playlist (it has EXTINF or EXT-X-TARGETDURATION); false
// for a multivariant playlist or anything else.
bool IsMediaPlaylist(std::string_view playlist);

// A multivariant playlist with one variant, `variant_uri` (relative, already
// carrying its session query): the origin's answer to a player that asks for
// a media playlist with no session, so that the player's reloads carry one.
// BANDWIDTH (required by RFC 8216 §4.3.4.2) is `peak_bits_per_second`, at
// least 1.
std::string WrapMediaPlaylist(std::string_view variant_uri, std::uint64_t peak_bits_per_second);

// The peak segment bitrate of a media playlist in bits per second: the
// largest size * 8 / EXTINF duration over its segments, with sizes from
// `segment_size(uri)` (nullopt: unknown, skipped). 0 when nothing is known.
std::uint64_t PeakBitrate(
    std::string_view media_playlist,
    const std::function<std::optional<std::uint64_t>(std::string_view uri)>& segment_size);

// The DATERANGE ID of the summary for `bucket`: "hc-<epoch seconds>".
std::string DateRangeId(Seconds bucket);

// The payload as the X-HEADCOUNT attribute value (standard base64, which
// never contains '"').
std::string EncodeDateRangePayload(std::string_view payload);

// The whole tag line, no newline:
// #EXT-X-DATERANGE:ID="<id>",CLASS="com.headcount.viewers",
//   START-DATE="2026-11-25T12:03:00.000Z",X-HEADCOUNT="<base64>"
std::string FormatDateRange(const DateRangeTag& tag);

// Parses an "#EXT-X-PROGRAM-DATE-TIME:<date-time>" line (offsets Z, +hh:mm,
// +hhmm, as ffmpeg writes them). InvalidArgument for another tag or a bad date.
Result<WallTime> ParseProgramDateTime(std::string_view line);

}  // namespace headcount
