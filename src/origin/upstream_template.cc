// The upstream URL template (see upstream_template.h).
#include "origin/upstream_template.h"

namespace headcount {
namespace {

// Parses with this in place of {channel}: a valid channel id.
constexpr std::string_view kStandIn = "channel";

std::string Replace(std::string_view text, std::string_view channel) {
  std::string out;
  std::size_t from = 0;
  for (std::size_t at; (at = text.find(kChannelPlaceholder, from)) != std::string_view::npos;
       from = at + kChannelPlaceholder.size()) {
    out += text.substr(from, at - from);
    out += channel;
  }
  out += text.substr(from);
  return out;
}

// The directory part of a URL path: up to and including its last '/'.
std::string_view Directory(std::string_view path) { return path.substr(0, path.rfind('/') + 1); }

}  // namespace

Result<UpstreamTemplate> UpstreamTemplate::Parse(std::string_view text) {
  if (text.empty()) return Error::InvalidArgument("is empty");
  const std::string replaced = Replace(text, kStandIn);
  if (replaced.find_first_of("{}") != std::string::npos) {
    return Error::InvalidArgument("may hold {channel} and no other '{' or '}'");
  }
  Result<Url> url = ParseUrl(replaced);
  if (!url.ok()) return Error::InvalidArgument("is not an http(s) URL: " + url.error().message());
  if (url->query || url->fragment) {
    return Error::InvalidArgument("must not have a query or a fragment");
  }
  // {channel} only in the path: the host, port and scheme name one server.
  const std::size_t authority_end = text.find('/', text.find("://") + 3);
  const std::size_t first = text.find(kChannelPlaceholder);
  if (first != std::string_view::npos &&
      (authority_end == std::string_view::npos || first < authority_end)) {
    return Error::InvalidArgument("may hold {channel} in its path only");
  }
  return UpstreamTemplate(std::string(text), std::move(*url));
}

Url UpstreamTemplate::ChannelUrl(std::string_view channel) const {
  Url url = example_;
  // The path alone: what follows the authority in the replaced text.
  const std::string whole = Replace(text_, channel);
  const std::size_t path_at = whole.find('/', whole.find("://") + 3);
  url.path = path_at == std::string::npos ? "/" : whole.substr(path_at);
  return url;
}

Url UpstreamTemplate::FileUrl(std::string_view channel, std::string_view path,
                              std::string_view query) const {
  Url url = ChannelUrl(channel);
  url.path = std::string(Directory(url.path)) + std::string(path);
  if (query.empty()) {
    url.query.reset();
  } else {
    url.query = std::string(query);
  }
  return url;
}

std::string UpstreamTemplate::PathBelowChannel(const Url& url, std::string_view channel) const {
  const Url base = ChannelUrl(channel);
  if (!url.SameOrigin(base)) return {};
  const std::string_view dir = Directory(base.path);
  if (!url.path.starts_with(dir) || url.path.size() == dir.size()) return {};
  return url.path.substr(dir.size());
}

std::string UpstreamTemplate::MapUri(const Url& playlist_url, std::string_view channel,
                                     std::string_view url_prefix, std::string_view uri) const {
  Result<Url> target = ResolveUrl(playlist_url, uri);
  if (!target.ok() || !target->SameOrigin(example_)) return std::string(uri);
  const std::string below = PathBelowChannel(*target, channel);
  // A relative path without "..": the player's resolution against the
  // proxy's URL mirrors the upstream's (a ".." could climb past the
  // channel's directory on one side and not on the other).
  const bool relative_path = IsSameOriginReference(uri) && !uri.starts_with('/') &&
                             !uri.starts_with('?') && uri.find("..") == std::string_view::npos;
  if (!below.empty() && relative_path) return std::string(uri);
  if (below.empty()) {
    target->fragment.reset();
    return target->ToString();
  }
  std::string out(url_prefix);
  out += '/';
  out += channel;
  out += '/';
  out += below;
  if (target->query) out += "?" + *target->query;
  if (target->fragment) out += "#" + *target->fragment;
  return out;
}

}  // namespace headcount
