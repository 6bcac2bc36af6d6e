// HLS playlist rewriting (see playlist.h).
#include "hls/playlist.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <span>
#include <vector>

#include "core/base64.h"
#include "core/strings.h"
#include "core/time_text.h"
#include "hls/m3u8_text.h"
#include "net/url.h"

namespace headcount {
namespace {

constexpr std::string_view kExtM3u = "#EXTM3U";
constexpr std::string_view kProgramDateTimeTag = "EXT-X-PROGRAM-DATE-TIME";

// Tags whose URI="..." attribute names a resource of this origin.
constexpr std::array<std::string_view, 8> kTagsWithUri = {
    "EXT-X-MAP",         "EXT-X-MEDIA", "EXT-X-I-FRAME-STREAM-INF", "EXT-X-KEY",
    "EXT-X-SESSION-KEY", "EXT-X-PART",  "EXT-X-PRELOAD-HINT",       "EXT-X-RENDITION-REPORT"};

// Tags that belong to the media segment that follows them (RFC 8216 §4.3.2,
// plus the LL-HLS and 8216bis ones). The DATERANGE goes before the first.
constexpr std::array<std::string_view, 11> kSegmentTags = {
    "EXTINF",        "EXT-X-BYTERANGE",   "EXT-X-DISCONTINUITY", "EXT-X-KEY",
    "EXT-X-MAP",     kProgramDateTimeTag, "EXT-X-DATERANGE",     "EXT-X-GAP",
    "EXT-X-BITRATE", "EXT-X-PART",        "EXT-X-PRELOAD-HINT"};

bool Contains(std::span<const std::string_view> set, std::string_view name) {
  return std::find(set.begin(), set.end(), name) != set.end();
}

// `uri` with `query` appended to its query component (before any fragment),
// when `uri` stays on this origin: "scheme:..." and "//host/..." name a
// resource elsewhere, and the session never leaves this origin.
std::string AppendQuery(std::string_view uri, std::string_view query) {
  if (query.empty() || !IsSameOriginReference(uri)) return std::string(uri);
  const std::size_t hash = uri.find('#');
  const std::string_view base = uri.substr(0, hash);
  const std::string_view fragment =
      hash == std::string_view::npos ? std::string_view() : uri.substr(hash);
  std::string out(base);
  if (base.find('?') == std::string_view::npos) {
    out += '?';
  } else if (!base.ends_with('?') && !base.ends_with('&')) {
    out += '&';
  }
  out += query;
  out += fragment;
  return out;
}

// `uri` mapped (opts.map_uri) and carrying the session query.
std::string RewriteUri(std::string_view uri, const PlaylistRewrite& opts) {
  if (!opts.map_uri) return AppendQuery(uri, opts.session_query);
  return AppendQuery(opts.map_uri(uri), opts.session_query);
}

// Rewrites the quoted URI attribute of a tag line's attribute list. A line
// whose attribute list does not parse is copied unchanged: never refuse to
// serve a playlist for a tag this code does not understand.
std::string RewriteUriAttribute(std::string_view line, const PlaylistRewrite& opts) {
  const std::optional<M3u8Attribute> uri = FindAttribute(line, "URI");
  if (!uri || !uri->quoted) return std::string(line);
  std::string out(line.substr(0, uri->value_offset));
  out += RewriteUri(uri->value, opts);
  out += line.substr(uri->value_offset + uri->value.size());
  return out;
}

bool IsQuotable(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char c) {
    return c == '"' || static_cast<unsigned char>(c) < 0x20 || c == 0x7F;
  });
}

}  // namespace

bool IsMediaPlaylist(std::string_view playlist) {
  for (const std::string_view line : SplitLines(playlist)) {
    const std::string_view name = TagName(line);
    if (name == "EXTINF" || name == "EXT-X-TARGETDURATION") return true;
  }
  return false;
}

std::string DateRangeId(Seconds bucket) {
  return "hc-" + std::to_string(bucket.time_since_epoch().count());
}

std::string EncodeDateRangePayload(std::string_view payload) { return Base64Encode(payload); }

std::string FormatDateRange(const DateRangeTag& tag) {
  std::string out = "#EXT-X-DATERANGE:ID=\"";
  out += tag.id;
  out += "\",CLASS=\"";
  out += kDateRangeClass;
  out += "\",START-DATE=\"";
  out += FormatRfc3339Millis(tag.start);
  out += "\",";
  out += kDateRangePayloadAttribute;
  out += "=\"";
  out += tag.payload_base64;
  out += '"';
  return out;
}

Result<WallTime> ParseProgramDateTime(std::string_view line) {
  if (TagName(line) != kProgramDateTimeTag || line.size() <= kProgramDateTimeTag.size() + 2) {
    return Error::InvalidArgument("not an EXT-X-PROGRAM-DATE-TIME tag");
  }
  return ParseRfc3339(line.substr(kProgramDateTimeTag.size() + 2));
}

Result<std::string> RewritePlaylist(std::string_view source, const PlaylistRewrite& opts) {
  const std::vector<std::string_view> lines = SplitLines(source);
  if (lines.empty() || Trim(lines.front()) != kExtM3u) {
    return Error::InvalidArgument("not an HLS playlist: it does not start with #EXTM3U");
  }
  if (opts.daterange && (opts.daterange->id.empty() || !IsQuotable(opts.daterange->id) ||
                         !IsQuotable(opts.daterange->payload_base64))) {
    return Error::InvalidArgument("DATERANGE id or payload cannot be a quoted string");
  }

  // Where the DATERANGE goes: before the first line of segment 1, provided
  // this is a media playlist with (only valid) program date-times.
  std::size_t insert_at = lines.size();
  if (opts.daterange) {
    bool media = false;
    bool has_pdt = false;
    bool pdt_ok = true;
    std::size_t first_segment_line = lines.size();
    for (std::size_t i = 1; i < lines.size(); ++i) {
      const std::string_view name = TagName(lines[i]);
      if (name == "EXTINF" || name == "EXT-X-TARGETDURATION") media = true;
      if (name == kProgramDateTimeTag) {
        has_pdt = true;
        pdt_ok = pdt_ok && ParseProgramDateTime(lines[i]).ok();
      }
      if (first_segment_line == lines.size() &&
          (IsUriLine(lines[i]) || Contains(kSegmentTags, name))) {
        first_segment_line = i;
      }
    }
    if (media && has_pdt && pdt_ok) insert_at = first_segment_line;
  }

  std::string out;
  out.reserve(source.size() + source.size() / 4 + 256);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (i == insert_at) {
      out += FormatDateRange(*opts.daterange);
      out += '\n';
    }
    const std::string_view line = lines[i];
    if (IsUriLine(line)) {
      out += RewriteUri(Trim(line), opts);
    } else if ((!opts.session_query.empty() || opts.map_uri) &&
               Contains(kTagsWithUri, TagName(line))) {
      out += RewriteUriAttribute(line, opts);
    } else {
      out += line;
    }
    out += '\n';
  }
  return out;
}

std::string WrapMediaPlaylist(std::string_view variant_uri, std::uint64_t peak_bits_per_second) {
  std::string out(kExtM3u);
  out += "\n#EXT-X-STREAM-INF:BANDWIDTH=";
  out += std::to_string(std::max<std::uint64_t>(peak_bits_per_second, 1));
  out += '\n';
  out += variant_uri;
  out += '\n';
  return out;
}

std::uint64_t PeakBitrate(
    std::string_view media_playlist,
    const std::function<std::optional<std::uint64_t>(std::string_view uri)>& segment_size) {
  std::uint64_t peak = 0;
  double duration = 0;
  for (const std::string_view line : SplitLines(media_playlist)) {
    if (TagName(line) == "EXTINF") {
      // #EXTINF:<duration>,[<title>]
      const std::string_view value = TagValue(line);
      duration = std::strtod(std::string(value.substr(0, value.find(','))).c_str(), nullptr);
    } else if (IsUriLine(line)) {
      const std::optional<std::uint64_t> size = segment_size(Trim(line));
      if (size && duration > 0) {
        peak = std::max(peak, static_cast<std::uint64_t>(double(*size) * 8 / duration));
      }
      duration = 0;
    }
  }
  return peak;
}

}  // namespace headcount
