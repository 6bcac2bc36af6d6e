// A minimal M3U8 (RFC 8216) reader: what a player needs to follow a live
// stream (the viewer simulator's players). Pure functions on value types;
// thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace headcount {

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

// The URI of the EXT-X-MAP (init section) in effect for the media segment
// whose URI line is `segment_uri`, both compared without their query; nullopt
// when the playlist does not list that segment or no EXT-X-MAP comes before
// it. Used to find the init segment that gives an fMP4 segment its timescale.
std::optional<std::string> MapUriFor(std::string_view media_playlist, std::string_view segment_uri);

}  // namespace headcount
