// The proxy's own upstream session (see upstream_session.h).
#include "origin/upstream_session.h"

#include <algorithm>
#include <charconv>
#include <set>

#include "core/strings.h"
#include "hls/m3u8_text.h"
#include "hls/playlist.h"

namespace headcount {
namespace {

namespace hc = http_client;

// LL-HLS delivery directives are the viewer's (RFC 8216bis §6.2.5): never
// learned, never part of where a session starts.
constexpr std::string_view kDirectivePrefix = "_HLS_";

// Headers the HTTP client writes itself, or that are the viewer's.
constexpr std::string_view kReservedHeaders[] = {"host", "content-length", "transfer-encoding",
                                                 "connection", "range"};

bool IsTokenChar(char c) {
  return IsAlnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool IsControl(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }

// Allowed in a configured query name or value: no separators, no spaces.
bool IsQueryText(std::string_view text) {
  return std::none_of(text.begin(), text.end(), [](char c) {
    return IsControl(c) || c == ' ' || c == '&' || c == '#' || c == '?';
  });
}

struct QueryPart {
  std::string_view name;
  std::string_view whole;  // "name=value" or "name"
};

std::vector<QueryPart> SplitQuery(std::string_view query) {
  std::vector<QueryPart> out;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (!part.empty()) out.push_back({part.substr(0, part.find('=')), part});
  }
  return out;
}

std::string_view ValueOf(std::string_view part) {
  const std::size_t eq = part.find('=');
  return eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1);
}

// `uri` (a reference, as written in a playlist) without the query
// parameters named in `names`; the rest of it unchanged.
std::string WithoutParameters(std::string_view uri,
                              const std::set<std::string, std::less<>>& names) {
  const std::size_t hash = uri.find('#');
  const std::string_view fragment = hash == std::string_view::npos ? "" : uri.substr(hash);
  const std::string_view rest = uri.substr(0, hash);
  const std::size_t q = rest.find('?');
  if (q == std::string_view::npos) return std::string(uri);
  std::string out(rest.substr(0, q));
  std::string query;
  for (const QueryPart& part : SplitQuery(rest.substr(q + 1))) {
    if (names.contains(part.name)) continue;
    query += query.empty() ? "" : "&";
    query += part.whole;
  }
  if (!query.empty()) out += "?" + query;
  out += fragment;
  return out;
}

// RFC 6265 §5.1.4: the directory of a request path, the default cookie path.
std::string DefaultCookiePath(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string_view::npos || slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

bool PathMatches(std::string_view request_path, std::string_view cookie_path) {
  if (request_path == cookie_path) return true;
  if (!request_path.starts_with(cookie_path)) return false;
  return cookie_path.ends_with('/') || request_path[cookie_path.size()] == '/';
}

}  // namespace

Result<hc::HttpHeader> ParseUpstreamHeader(std::string_view text) {
  const std::size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    return Error::InvalidArgument("expected \"Name: value\" (the value is not shown)");
  }
  const std::string_view name = Trim(text.substr(0, colon));
  const std::string_view value = Trim(text.substr(colon + 1));
  if (name.empty() || !std::all_of(name.begin(), name.end(), IsTokenChar)) {
    return Error::InvalidArgument("the header name is not an HTTP token");
  }
  for (const std::string_view reserved : kReservedHeaders) {
    if (EqualsIgnoreCase(name, reserved)) {
      return Error::InvalidArgument("the header " + std::string(name) +
                                    " is the proxy's own and cannot be set");
    }
  }
  if (std::any_of(value.begin(), value.end(), [](char c) { return IsControl(c) && c != '\t'; })) {
    return Error::InvalidArgument("the value of header " + std::string(name) +
                                  " holds control characters (the value is not shown)");
  }
  return hc::HttpHeader{std::string(name), std::string(value)};
}

Result<std::pair<std::string, std::string>> ParseUpstreamQuery(std::string_view text) {
  const std::size_t eq = text.find('=');
  const std::string_view name = text.substr(0, eq);
  const std::string_view value = eq == std::string_view::npos ? "" : text.substr(eq + 1);
  if (eq == std::string_view::npos || name.empty() || !IsQueryText(name)) {
    return Error::InvalidArgument("expected name=value with a plain name (the value is not shown)");
  }
  if (!IsQueryText(value)) {
    return Error::InvalidArgument("the value of " + std::string(name) +
                                  " holds '&', '#', '?', spaces or control characters; "
                                  "percent-encode them (the value is not shown)");
  }
  return std::pair{std::string(name), std::string(value)};
}

UpstreamSessions::UpstreamSessions(UpstreamCredentials credentials)
    : credentials_(std::move(credentials)) {}

UpstreamSessions::Channel& UpstreamSessions::ChannelLocked(const std::string& channel) {
  if (channels_.size() >= kMaxSessionChannels && !channels_.contains(channel)) channels_.clear();
  Channel& c = channels_[channel];
  if (c.generation == 0) c.generation = next_generation_++;
  return c;
}

UpstreamRequestParts UpstreamSessions::Prepare(const Url& url, const std::string& channel) {
  UpstreamRequestParts out;
  std::map<std::string, std::string> learned;
  std::string cookies;
  {
    std::lock_guard lock(mu_);
    if (!channel.empty()) {
      const Channel& c = ChannelLocked(channel);
      learned = c.learned;
      out.generation = c.generation;
    }
    if (const auto jar = jars_.find(url.Origin()); jar != jars_.end()) {
      for (const Cookie& cookie : jar->second) {
        if (!PathMatches(url.path, cookie.path)) continue;
        cookies += (cookies.empty() ? "" : "; ") + cookie.name + "=" + cookie.value;
      }
    }
  }
  std::set<std::string, std::less<>> replaced;
  for (const auto& [name, value] : learned) replaced.insert(name);
  for (const auto& [name, value] : credentials_.query) replaced.insert(name);
  std::string query;
  const auto add = [&query](std::string_view part) {
    query += query.empty() ? "" : "&";
    query += part;
  };
  const std::string asked = url.query.value_or("");  // the views below point into it
  for (const QueryPart& part : SplitQuery(asked)) {
    if (!replaced.contains(part.name)) add(part.whole);
  }
  for (const auto& [name, value] : learned) add(name + "=" + value);
  for (const auto& [name, value] : credentials_.query) add(name + "=" + value);
  Url sent = url;
  sent.fragment.reset();
  if (query.empty()) {
    sent.query.reset();
  } else {
    sent.query = std::move(query);
  }
  out.url = sent.ToString();
  out.headers = credentials_.headers;
  if (!cookies.empty()) out.headers.push_back({"Cookie", std::move(cookies)});
  return out;
}

void UpstreamSessions::KeepCookies(const Url& url, const hc::HttpHeaders& response_headers) {
  std::lock_guard lock(mu_);
  for (const hc::HttpHeader& header : response_headers) {
    if (!EqualsIgnoreCase(header.name, "Set-Cookie")) continue;
    std::string_view rest = header.value;
    const std::size_t semi = rest.find(';');
    const std::string_view pair = Trim(rest.substr(0, semi));
    rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
    const std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos || eq == 0 || pair.size() > kMaxUpstreamCookieBytes) continue;
    Cookie cookie{std::string(Trim(pair.substr(0, eq))), std::string(Trim(pair.substr(eq + 1))),
                  DefaultCookiePath(url.path)};
    bool expired = false;
    while (!rest.empty()) {
      const std::size_t next = rest.find(';');
      const std::string_view attribute = Trim(rest.substr(0, next));
      rest = next == std::string_view::npos ? std::string_view() : rest.substr(next + 1);
      const std::size_t aeq = attribute.find('=');
      const std::string_view name = Trim(attribute.substr(0, aeq));
      const std::string_view value =
          aeq == std::string_view::npos ? std::string_view() : Trim(attribute.substr(aeq + 1));
      if (EqualsIgnoreCase(name, "Path") && value.starts_with('/')) {
        cookie.path = std::string(value);
      } else if (EqualsIgnoreCase(name, "Max-Age")) {
        long long seconds = 0;
        const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
        if (ec == std::errc() && seconds <= 0) expired = true;
      }
    }
    std::vector<Cookie>& jar = jars_[url.Origin()];
    std::erase_if(jar,
                  [&](const Cookie& c) { return c.name == cookie.name && c.path == cookie.path; });
    if (!expired && jar.size() < kMaxUpstreamCookies) jar.push_back(std::move(cookie));
  }
}

std::string UpstreamSessions::Learn(const Url& url, const std::string& channel,
                                    std::string_view playlist) {
  // The parameters on the playlist's same-origin URIs: name -> its one
  // value (nullopt once a second value shows up) and on how many URIs.
  struct Seen {
    std::optional<std::string> value;
    std::size_t uris = 0;
  };
  std::map<std::string, Seen, std::less<>> seen;
  std::size_t uris = 0;
  std::set<std::string, std::less<>> configured;
  for (const auto& [name, value] : credentials_.query) configured.insert(name);
  PlaylistRewrite collect;
  collect.map_uri = [&](std::string_view uri) {
    const Result<Url> target = ResolveUrl(url, uri);
    if (!target.ok() || !target->SameOrigin(url)) return std::string(uri);
    ++uris;
    const std::string query = target->query.value_or("");  // the views below point into it
    for (const QueryPart& part : SplitQuery(query)) {
      if (part.name.starts_with(kDirectivePrefix) || configured.contains(part.name)) continue;
      const std::string value(ValueOf(part.whole));
      const auto [it, added] = seen.try_emplace(std::string(part.name), Seen{value, 0});
      if (it->second.uris++ > 0 && it->second.value != value) it->second.value.reset();
    }
    return std::string(uri);
  };
  if (!RewritePlaylist(playlist, collect).ok()) return std::string(playlist);
  if (seen.empty() && configured.empty()) return std::string(playlist);

  std::set<std::string, std::less<>> strip = configured;
  {
    std::lock_guard lock(mu_);
    Channel& c = ChannelLocked(channel);
    for (const auto& [name, found] : seen) {
      if (!found.value || found.uris < uris) continue;
      if (c.learned.size() < kMaxLearnedParameters || c.learned.contains(name)) {
        c.learned[name] = *found.value;
      }
    }
    for (const auto& [name, value] : c.learned) strip.insert(name);
  }
  PlaylistRewrite remove;
  remove.map_uri = [&](std::string_view uri) {
    const Result<Url> target = ResolveUrl(url, uri);
    if (!target.ok() || !target->SameOrigin(url)) return std::string(uri);
    return WithoutParameters(uri, strip);
  };
  Result<std::string> stripped = RewritePlaylist(playlist, remove);
  return stripped.ok() ? std::move(*stripped) : std::string(playlist);
}

void UpstreamSessions::NotePlaylist(const std::string& channel, const Url& url, bool multivariant) {
  Url entry = url;
  entry.fragment.reset();
  std::string query;
  const std::string asked = url.query.value_or("");  // the views below point into it
  for (const QueryPart& part : SplitQuery(asked)) {
    if (part.name.starts_with(kDirectivePrefix)) continue;
    query += (query.empty() ? "" : "&") + std::string(part.whole);
  }
  if (query.empty()) {
    entry.query.reset();
  } else {
    entry.query = std::move(query);
  }
  std::lock_guard lock(mu_);
  Channel& c = ChannelLocked(channel);
  (multivariant ? c.multivariant : c.media) = std::move(entry);
}

std::optional<Url> UpstreamSessions::Entry(const std::string& channel) {
  std::lock_guard lock(mu_);
  const auto it = channels_.find(channel);
  if (it == channels_.end()) return std::nullopt;
  return it->second.multivariant ? it->second.multivariant : it->second.media;
}

void UpstreamSessions::Forget(const std::string& channel, const Url& entry) {
  std::lock_guard lock(mu_);
  Channel& c = ChannelLocked(channel);
  c.learned.clear();
  c.generation = next_generation_++;
  if (const auto jar = jars_.find(entry.Origin()); jar != jars_.end()) {
    std::erase_if(jar->second,
                  [&](const Cookie& cookie) { return PathMatches(entry.path, cookie.path); });
  }
}

void UpstreamSessions::Renewed(const std::string& channel) {
  std::lock_guard lock(mu_);
  ChannelLocked(channel).generation = next_generation_++;
}

std::uint64_t UpstreamSessions::Generation(const std::string& channel) {
  std::lock_guard lock(mu_);
  return ChannelLocked(channel).generation;
}

std::optional<Url> SameOriginRedirect(const Url& from, int status, const hc::HttpHeaders& headers) {
  if (status != 301 && status != 302 && status != 303 && status != 307 && status != 308) {
    return std::nullopt;
  }
  const std::string* location = hc::FindHeader(headers, "Location");
  if (location == nullptr) return std::nullopt;
  Result<Url> target = ResolveUrl(from, *location);
  if (!target.ok() || !target->SameOrigin(from)) return std::nullopt;
  target->fragment.reset();
  return std::move(*target);
}

bool IsSelfReferencingWrapper(const Url& url, std::string_view playlist) {
  if (IsMediaPlaylist(playlist)) return false;
  std::optional<std::string_view> variant;
  bool after_stream_inf = false;
  for (const std::string_view line : SplitLines(playlist)) {
    if (TagName(line) == "EXT-X-STREAM-INF") {
      after_stream_inf = true;
    } else if (after_stream_inf && IsUriLine(line)) {
      if (variant) return false;  // more than one variant
      variant = Trim(line);
      after_stream_inf = false;
    }
  }
  if (!variant) return false;
  const Result<Url> target = ResolveUrl(url, *variant);
  return target.ok() && target->SameOrigin(url) && target->path == url.path && target->query &&
         !target->query->empty();
}

}  // namespace headcount
