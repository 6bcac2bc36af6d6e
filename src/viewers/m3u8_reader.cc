// A minimal M3U8 reader and http:// URL resolver (see m3u8_reader.h).
// Pure functions; thread-safe.
#include "viewers/m3u8_reader.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <optional>

#include "core/strings.h"

namespace headcount {
namespace {

constexpr int kDefaultHttpPort = 80;
constexpr int kMaxPort = 65535;

// Spaces and control characters may not appear in a request target.
bool HasForbiddenChar(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f;
  });
}

std::string_view StripFragment(std::string_view s) { return s.substr(0, s.find('#')); }

// The scheme of an absolute URI ("http" in "http://..."), or nothing for a
// relative reference. A scheme is ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
// followed by ':' before any '/', '?' or '#'.
std::optional<std::string> SchemeOf(std::string_view s) {
  const size_t colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0 || !IsAlpha(s[0])) return std::nullopt;
  for (size_t i = 1; i < colon; ++i) {
    const char c = s[i];
    const bool ok = IsAlnum(c) || c == '+' || c == '-' || c == '.';
    if (!ok) return std::nullopt;
  }
  return AsciiLower(s.substr(0, colon));
}

// RFC 3986 §5.2.4 for a path that starts with '/'.
std::string RemoveDotSegments(std::string_view path) {
  std::vector<std::string_view> out;
  bool trailing_slash = false;
  std::string_view rest = path.substr(1);
  while (true) {
    const size_t slash = rest.find('/');
    const std::string_view segment = rest.substr(0, slash);
    if (segment == ".") {
      trailing_slash = true;
    } else if (segment == "..") {
      if (!out.empty()) out.pop_back();
      trailing_slash = true;
    } else {
      out.push_back(segment);
      trailing_slash = false;
    }
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  std::string result = "/";
  for (size_t i = 0; i < out.size(); ++i) {
    if (i > 0) result += '/';
    result += out[i];
  }
  if (trailing_slash && !out.empty()) result += '/';
  return result;
}

// Splits a target into path and "?query" (the query keeps its '?').
std::pair<std::string_view, std::string_view> SplitQuery(std::string_view target) {
  const size_t q = target.find('?');
  if (q == std::string_view::npos) return {target, {}};
  return {target.substr(0, q), target.substr(q)};
}

// Parses an RFC 8216 decimal-integer: digits only, at most int64 max.
std::optional<std::int64_t> ParseDecimalInteger(std::string_view s) {
  std::int64_t value = 0;
  if (s.empty()) return std::nullopt;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size() || value < 0) return std::nullopt;
  return value;
}

// If `line` is the tag `name` (with or without ":value"), stores the value.
bool MatchTag(std::string_view line, std::string_view name, std::string_view* value) {
  if (line.substr(0, name.size()) != name) return false;
  const std::string_view rest = line.substr(name.size());
  if (!rest.empty() && rest.front() != ':') return false;  // a longer tag name
  *value = rest.empty() ? rest : rest.substr(1);
  return true;
}

}  // namespace

std::string HttpUrl::HostHeader() const {
  const bool ipv6 = host.find(':') != std::string::npos;
  std::string out = ipv6 ? "[" + host + "]" : host;
  if (port != std::to_string(kDefaultHttpPort)) out += ":" + port;
  return out;
}

Result<HttpUrl> ParseHttpUrl(std::string_view url) {
  if (HasForbiddenChar(url)) {
    return Error::InvalidArgument("URL contains spaces or control characters");
  }
  const std::optional<std::string> scheme = SchemeOf(url);
  if (scheme == "https") {
    return Error::InvalidArgument(
        "https:// URLs are not supported: the viewer simulator speaks plain HTTP; "
        "give the origin's http:// address");
  }
  if (scheme != "http" || url.substr(5, 2) != "//") {
    return Error::InvalidArgument("URL must start with http://");
  }
  std::string_view rest = StripFragment(url.substr(7));
  const size_t authority_end = std::min(rest.find('/'), rest.find('?'));
  const std::string_view authority = rest.substr(0, authority_end);
  rest = authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
  if (authority.find('@') != std::string_view::npos) {
    return Error::InvalidArgument("URLs with user info are not supported");
  }

  HttpUrl out;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {  // IPv6 literal
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return Error::InvalidArgument("URL has a bad IPv6 host");
    out.host = AsciiLower(authority.substr(1, close - 1));
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Error::InvalidArgument("URL has a bad IPv6 host");
      port = after.substr(1);
    }
  } else {
    const size_t colon = authority.find(':');
    out.host = AsciiLower(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (out.host.empty()) return Error::InvalidArgument("URL has no host");
  if (port.empty()) {
    out.port = std::to_string(kDefaultHttpPort);
  } else {
    const std::optional<std::int64_t> n = ParseDecimalInteger(port);
    if (!n || *n < 1 || *n > kMaxPort) return Error::InvalidArgument("URL has a bad port");
    out.port = std::to_string(*n);
  }
  out.target = rest.empty() ? "/" : std::string(rest);
  if (out.target.front() == '?') out.target.insert(0, "/");
  return out;
}

Result<HttpUrl> ResolveReference(const HttpUrl& base, std::string_view reference) {
  reference = StripFragment(reference);
  if (HasForbiddenChar(reference)) {
    return Error::InvalidArgument("playlist URI contains spaces or control characters");
  }
  const std::optional<std::string> scheme = SchemeOf(reference);
  if (scheme || reference.substr(0, 2) == "//") {  // an absolute or network-path URL
    if (scheme && *scheme != "http") {
      return Error::InvalidArgument("playlist URI has an unsupported scheme (only http)");
    }
    Result<HttpUrl> absolute =
        scheme ? ParseHttpUrl(reference) : ParseHttpUrl("http:" + std::string(reference));
    if (!absolute.ok()) return absolute.error();
    if (!absolute->SameOrigin(base)) {
      return Error::InvalidArgument("playlist URI points to another host, which is not supported");
    }
    return absolute;
  }

  HttpUrl out = base;
  const auto [base_path, base_query] = SplitQuery(base.target);
  if (reference.empty()) return out;
  if (reference.front() == '?') {
    out.target = std::string(base_path) + std::string(reference);
    return out;
  }
  const auto [ref_path, ref_query] = SplitQuery(reference);
  std::string merged;
  if (ref_path.front() == '/') {
    merged = ref_path;
  } else {
    merged = base_path.substr(0, base_path.rfind('/') + 1);
    merged += ref_path;
  }
  out.target = RemoveDotSegments(merged) + std::string(ref_query);
  return out;
}

std::string_view PathForLog(std::string_view target) { return SplitQuery(target).first; }

Result<M3u8Playlist> ParseM3u8(std::string_view text) {
  M3u8Playlist out;
  bool first_line = true;
  bool have_target_duration = false;
  bool saw_extinf = false;       // an #EXTINF waits for its URI line
  bool saw_stream_inf = false;   // an #EXT-X-STREAM-INF waits for its URI line
  bool saw_segment_tag = false;  // any media-playlist-only tag
  while (!text.empty()) {
    const size_t newline = text.find('\n');
    const std::string_view line = Trim(text.substr(0, newline));
    text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
    if (first_line) {
      if (line != "#EXTM3U") return Error::InvalidArgument("playlist does not start with #EXTM3U");
      first_line = false;
      continue;
    }
    if (line.empty()) continue;
    std::string_view value;
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
    } else if (MatchTag(line, "#EXT-X-STREAM-INF", &value)) {
      if (saw_stream_inf) {
        return Error::InvalidArgument("playlist has an #EXT-X-STREAM-INF without a URI line");
      }
      saw_stream_inf = true;
      out.multivariant = true;
    } else if (MatchTag(line, "#EXTINF", &value)) {
      saw_extinf = true;
      saw_segment_tag = true;
    } else if (MatchTag(line, "#EXT-X-TARGETDURATION", &value)) {
      const std::optional<std::int64_t> n = ParseDecimalInteger(value);
      if (!n || *n > std::numeric_limits<std::int32_t>::max()) {
        return Error::InvalidArgument("playlist has a bad #EXT-X-TARGETDURATION");
      }
      out.target_duration = std::chrono::seconds(*n);
      have_target_duration = true;
      saw_segment_tag = true;
    } else if (MatchTag(line, "#EXT-X-MEDIA-SEQUENCE", &value)) {
      const std::optional<std::int64_t> n = ParseDecimalInteger(value);
      if (!n) return Error::InvalidArgument("playlist has a bad #EXT-X-MEDIA-SEQUENCE");
      out.media_sequence = *n;
      saw_segment_tag = true;
    } else if (MatchTag(line, "#EXT-X-ENDLIST", &value)) {
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

}  // namespace headcount
