// The upstream proxy's own session with its upstream HLS server: the
// credentials configured for it (--upstream-header, --upstream-query), a
// cookie jar per upstream origin, and the query parameters the upstream put
// on the URIs of the playlists it handed out (a session id, a context, a
// token, whatever it names them), remembered per channel and sent with
// every upstream request of that channel. None of it reaches a viewer:
// playlists leave Learn with those parameters taken off their URIs.
// Pure logic, no I/O (the fetcher sends); thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "http_client/message.h"
#include "net/url.h"

namespace headcount {

// Redirects (and self-referencing one-variant wrappers, SRS's hls_ctx) the
// proxy follows for one upstream request; past it the last answer stands.
inline constexpr std::size_t kMaxUpstreamRedirects = 5;
// Cookies kept per upstream origin, and the longest one (name and value):
// past them a new cookie is dropped.
inline constexpr std::size_t kMaxUpstreamCookies = 64;
inline constexpr std::size_t kMaxUpstreamCookieBytes = 4096;
// Parameters remembered per channel; past it new names are not learned.
inline constexpr std::size_t kMaxLearnedParameters = 16;
// Channels with session state; past it all of it starts over (any channel
// name may be asked for when origin.channels is not set).
inline constexpr std::size_t kMaxSessionChannels = 4096;
// Configured headers and query parameters, each.
inline constexpr std::size_t kMaxUpstreamCredentials = 32;

// What every upstream request carries, from the configuration. Secrets:
// never logged, never shown, never in an error message.
struct UpstreamCredentials {
  std::vector<http_client::HttpHeader> headers;            // e.g. Authorization
  std::vector<std::pair<std::string, std::string>> query;  // name, value (as given, encoded)

  bool empty() const { return headers.empty() && query.empty(); }
};

// Parses "Name: value" (--upstream-header): a token name (not one the
// client owns: Host, Content-Length, Transfer-Encoding, Connection, Range),
// a value without control characters. InvalidArgument never quotes the value.
Result<http_client::HttpHeader> ParseUpstreamHeader(std::string_view text);
// Parses "name=value" (--upstream-query): a non-empty name, both without
// '&', '#', spaces or control characters (percent-encode them).
// InvalidArgument never quotes the value.
Result<std::pair<std::string, std::string>> ParseUpstreamQuery(std::string_view text);

// One upstream request as the session makes it.
struct UpstreamRequestParts {
  std::string url;                   // with the session's and the configured parameters
  http_client::HttpHeaders headers;  // configured headers, then Cookie
  std::uint64_t generation = 0;      // of the channel's session when prepared
};

class UpstreamSessions {
 public:
  explicit UpstreamSessions(UpstreamCredentials credentials);
  UpstreamSessions(const UpstreamSessions&) = delete;
  UpstreamSessions& operator=(const UpstreamSessions&) = delete;

  // The request for `url` (as the viewer's request maps onto the upstream,
  // without session state) of `channel`: on its query the channel's learned
  // parameters and the configured ones (replacing any of the same name);
  // the configured headers and a Cookie header with the jar's cookies for
  // the URL (RFC 6265 path match). Empty channel: no learned parameters.
  UpstreamRequestParts Prepare(const Url& url, const std::string& channel);

  // Keeps every Set-Cookie of a response to `url` in its origin's jar
  // (name=value, Path, Max-Age <= 0 deletes; other attributes ignored).
  void KeepCookies(const Url& url, const http_client::HttpHeaders& response_headers);

  // `playlist`, fetched from `url` for `channel`, with the upstream's session
  // parameters taken off its same-origin URIs, and remembered for the
  // channel. A session parameter is one that every same-origin URI of the
  // playlist carries with the same value (not an LL-HLS _HLS_ directive),
  // or one remembered or configured before; a name that some URIs lack or
  // carry with another value belongs to the URIs and stays.
  // Not a playlist: returned unchanged.
  std::string Learn(const Url& url, const std::string& channel, std::string_view playlist);

  // Remembers where `channel` starts: the last multivariant playlist
  // fetched, else the last media playlist (LL-HLS directives dropped).
  void NotePlaylist(const std::string& channel, const Url& url, bool multivariant);
  // Where a new session of `channel` starts: nullopt before any playlist.
  std::optional<Url> Entry(const std::string& channel);

  // Forgets the channel's session (its learned parameters, and the cookies
  // that would go with `entry`) and starts a new generation.
  void Forget(const std::string& channel, const Url& entry);
  // A new session is in place (or the attempt is over): starts a new
  // generation, so that requests prepared while it was opened count as
  // from before it.
  void Renewed(const std::string& channel);
  // Changes with Forget and Renewed: a request rejected with the current
  // generation was rejected with the newest session there is.
  std::uint64_t Generation(const std::string& channel);

 private:
  struct Cookie {
    std::string name;
    std::string value;
    std::string path;
  };
  struct Channel {
    std::map<std::string, std::string> learned;  // name -> value, as the upstream wrote it
    std::optional<Url> multivariant;
    std::optional<Url> media;
    std::uint64_t generation = 0;
  };
  Channel& ChannelLocked(const std::string& channel);

  const UpstreamCredentials credentials_;

  // Guarded by mu_.
  std::mutex mu_;
  std::map<std::string, std::vector<Cookie>> jars_;  // by origin
  std::map<std::string, Channel> channels_;
  std::uint64_t next_generation_ = 1;
};

// Where a 301, 302, 303, 307 or 308 answer to `from` sends: its Location
// resolved against `from`, when on the same origin; nullopt otherwise.
std::optional<Url> SameOriginRedirect(const Url& from, int status,
                                      const http_client::HttpHeaders& headers);

// Whether `playlist`, fetched from `url`, is a one-variant wrapper that
// points back at `url`'s own path with a query (SRS's hls_ctx): a session
// handed out as a playlist, to be followed like a redirect.
bool IsSelfReferencingWrapper(const Url& url, std::string_view playlist);

}  // namespace headcount
