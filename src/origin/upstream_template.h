// The upstream URL template of the proxy mode (`serve --upstream`): where a
// request for <url_prefix>/<channel>/<path> is fetched from, and how the URIs
// of a playlist fetched from there map back onto the proxy's own paths. Pure
// values; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "core/result.h"
#include "net/url.h"

namespace headcount {

// The placeholder a template may hold (in its path only).
inline constexpr std::string_view kChannelPlaceholder = "{channel}";

class UpstreamTemplate {
 public:
  // Parses TEMPLATE: an http:// or https:// URL whose path may hold
  // {channel} (any number of times), with no query, fragment or user info,
  // and no other '{' or '}'. InvalidArgument naming what is wrong (never
  // quoting the URL: it may hold a secret).
  // Example: "http://127.0.0.1:8888/{channel}/" (MediaMTX),
  //          "http://127.0.0.1:8080/live/{channel}.m3u8" (SRS).
  static Result<UpstreamTemplate> Parse(std::string_view text);

  // The template with {channel} replaced; `channel` must be a valid
  // channel id (core/samples.h), which needs no escaping.
  Url ChannelUrl(std::string_view channel) const;
  // The URL of `path` (a '/'-separated relative path of plain names, e.g.
  // "index.m3u8", "v1/seg3.ts") resolved against ChannelUrl(channel), with
  // `query` (without '?', empty = none).
  Url FileUrl(std::string_view channel, std::string_view path, std::string_view query) const;

  // A URI of a playlist fetched from `playlist_url` for `channel`, as the
  // proxy serves it (RFC 3986 resolution throughout):
  //  - a relative-path reference that stays below the channel's directory
  //    (the directory of ChannelUrl): unchanged, the player resolves it
  //    against the proxy's URL of the playlist to the same place;
  //  - any other reference to a URL below that directory (absolute URL,
  //    network-path or absolute-path reference to the upstream):
  //    "<url_prefix>/<channel>/<path>[?query]", through the proxy;
  //  - a reference to the upstream outside that directory: the absolute
  //    upstream URL (it cannot go through the proxy, and the player would
  //    resolve it against the proxy otherwise);
  //  - a URI to another host, or one that does not resolve: unchanged.
  std::string MapUri(const Url& playlist_url, std::string_view channel, std::string_view url_prefix,
                     std::string_view uri) const;

  // The path below the channel's directory that `url` names, when it is on
  // the upstream and below that directory; empty otherwise.
  std::string PathBelowChannel(const Url& url, std::string_view channel) const;

  const Url& example() const { return example_; }

 private:
  UpstreamTemplate(std::string text, Url example)
      : text_(std::move(text)), example_(std::move(example)) {}

  std::string text_;  // as given
  Url example_;       // parsed with a stand-in channel, for origin and scheme
};

}  // namespace headcount
