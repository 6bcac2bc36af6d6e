// A minimal M3U8 reader (see m3u8_reader.h).
// Pure functions; thread-safe.
#include "hls/m3u8_reader.h"

#include <charconv>
#include <limits>
#include <optional>

#include "core/strings.h"
#include "hls/m3u8_text.h"

namespace headcount {
namespace {

// Parses an RFC 8216 decimal-integer: digits only, at most int64 max.
std::optional<std::int64_t> ParseDecimalInteger(std::string_view s) {
  std::int64_t value = 0;
  if (s.empty()) return std::nullopt;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size() || value < 0) return std::nullopt;
  return value;
}

}  // namespace

Result<M3u8Playlist> ParseM3u8(std::string_view text) {
  M3u8Playlist out;
  bool first_line = true;
  bool have_target_duration = false;
  bool saw_extinf = false;       // an #EXTINF waits for its URI line
  bool saw_stream_inf = false;   // an #EXT-X-STREAM-INF waits for its URI line
  bool saw_segment_tag = false;  // any media-playlist-only tag
  for (const std::string_view raw : SplitLines(text)) {
    const std::string_view line = Trim(raw);
    if (first_line) {
      if (line != "#EXTM3U") return Error::InvalidArgument("playlist does not start with #EXTM3U");
      first_line = false;
      continue;
    }
    if (line.empty()) continue;
    const std::string_view name = TagName(line);
    const std::string_view value = TagValue(line);
    if (line.front() != '#') {  // a URI line
      if (saw_stream_inf) {
        out.variant_uris.emplace_back(line);
        saw_stream_inf = false;
      } else if (saw_extinf) {
        out.segment_uris.emplace_back(line);
        saw_extinf = false;
      } else {
        return Error::InvalidArgument(
            "playlist has a URI line without #EXTINF or #EXT-X-STREAM-INF");
      }
    } else if (name == "EXT-X-STREAM-INF") {
      if (saw_stream_inf) {
        return Error::InvalidArgument("playlist has an #EXT-X-STREAM-INF without a URI line");
      }
      saw_stream_inf = true;
      out.multivariant = true;
    } else if (name == "EXTINF") {
      saw_extinf = true;
      saw_segment_tag = true;
    } else if (name == "EXT-X-TARGETDURATION") {
      const std::optional<std::int64_t> n = ParseDecimalInteger(value);
      if (!n || *n > std::numeric_limits<std::int32_t>::max()) {
        return Error::InvalidArgument("playlist has a bad #EXT-X-TARGETDURATION");
      }
      out.target_duration = std::chrono::seconds(*n);
      have_target_duration = true;
      saw_segment_tag = true;
    } else if (name == "EXT-X-MEDIA-SEQUENCE") {
      const std::optional<std::int64_t> n = ParseDecimalInteger(value);
      if (!n) return Error::InvalidArgument("playlist has a bad #EXT-X-MEDIA-SEQUENCE");
      out.media_sequence = *n;
      saw_segment_tag = true;
    } else if (name == "EXT-X-ENDLIST") {
      out.ended = true;
      saw_segment_tag = true;
    }
    // Other tags and comments carry nothing a counted viewer needs.
  }
  if (first_line) return Error::InvalidArgument("playlist is empty");
  if (out.multivariant) {
    if (saw_segment_tag) {
      return Error::InvalidArgument("playlist mixes variant streams and media segments");
    }
    if (saw_stream_inf) {
      return Error::InvalidArgument("playlist has an #EXT-X-STREAM-INF without a URI line");
    }
    return out;
  }
  if (!have_target_duration) {
    return Error::InvalidArgument("media playlist has no #EXT-X-TARGETDURATION");
  }
  if (out.media_sequence > std::numeric_limits<std::int64_t>::max() -
                               static_cast<std::int64_t>(out.segment_uris.size())) {
    return Error::InvalidArgument("playlist has a bad #EXT-X-MEDIA-SEQUENCE");
  }
  return out;
}

std::optional<std::string> MapUriFor(std::string_view media_playlist,
                                     std::string_view segment_uri) {
  const auto without_query = [](std::string_view uri) { return uri.substr(0, uri.find('?')); };
  std::optional<std::string> map;
  for (const std::string_view raw : SplitLines(media_playlist)) {
    const std::string_view line = Trim(raw);
    if (TagName(line) == "EXT-X-MAP") {
      const std::optional<M3u8Attribute> uri = FindAttribute(line, "URI");
      map = uri ? std::optional<std::string>(uri->value) : std::nullopt;
    } else if (IsUriLine(line) && without_query(line) == without_query(segment_uri)) {
      return map;
    }
  }
  return std::nullopt;
}

}  // namespace headcount
