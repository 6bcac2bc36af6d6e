// Absolute http(s) URLs as one value type, for every part of headcount that
// takes a URL (the AWS client, the HLS viewer simulator, the playlist
// rewriting of src/hls/): parse, resolve a reference against a base (RFC 3986
// §5.2) and serialize. Pure functions on values; thread-safe.
//
// The conventions, the same for every caller:
//  - scheme and host are lower-cased (both are case-insensitive);
//  - an IPv6 host is stored WITHOUT its brackets ("::1"), the form a resolver
//    or a socket address takes; HostHeader(), Origin() and ToString() put
//    them back ("[::1]:8080");
//  - port is always set: the URL's own, else the scheme's default (80 for
//    http, 443 for https); the text forms leave a default port out;
//  - path, query and fragment are kept as written (percent-encoding
//    untouched); an empty path is "/" (RFC 3986 §6.2.3);
//  - a query "?" with nothing after it is kept (an empty query), no "?" at
//    all is none: the two differ when a reference is resolved;
//  - the fragment is never part of Target(): a client does not send it.
// Error messages name the part that is wrong and never quote the URL: its
// query may hold a secret (a session id, a signed token), its user info a
// password.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace headcount {

inline constexpr std::uint16_t kHttpPort = 80;
inline constexpr std::uint16_t kHttpsPort = 443;

struct Url {
  std::string scheme;  // "http" or "https"
  std::string host;    // "example.com", "127.0.0.1" or "::1" (see above)
  std::uint16_t port = 0;
  std::string path = "/";               // starts with '/'
  std::optional<std::string> query;     // without its '?'
  std::optional<std::string> fragment;  // without its '#'

  bool operator==(const Url&) const = default;

  // The port the scheme implies when the URL names none.
  static std::uint16_t DefaultPort(std::string_view scheme);
  bool HasDefaultPort() const { return port == DefaultPort(scheme); }

  // The Host header value and authority: "host", "[::1]", plus ":port"
  // unless it is the scheme's default.
  std::string HostHeader() const;
  // "scheme://" + HostHeader(): where to send requests.
  std::string Origin() const;
  // The origin-form request target: path, plus "?query" when there is one.
  std::string Target() const;
  // The whole URL: Origin() + Target() + "#fragment" when there is one.
  // ParseUrl(u.ToString()) == u.
  std::string ToString() const;

  // Same scheme, host and port: one server, one connection pool.
  bool SameOrigin(const Url& other) const {
    return scheme == other.scheme && host == other.host && port == other.port;
  }
};

// Parses "scheme://host[:port][/path][?query][#fragment]" with scheme http
// or https. Fails with kInvalidArgument for spaces or control characters,
// a missing or other scheme, user info ("user:password@"), an empty host, a
// host with characters RFC 3986 does not allow (an IPv6 literal in brackets
// holds hex digits, ':' and '.'; zone ids are refused), or a port that is not
// 1..65535 (an empty port after ':' is the default, as RFC 3986 allows).
Result<Url> ParseUrl(std::string_view text);

// The target URL of `reference` resolved against `base` (RFC 3986 §5.2):
// `reference` may be an absolute http(s) URL, a network-path reference
// ("//host/a"), an absolute path ("/a/b"), a relative path ("b/c", merged
// with the base's directory), a query alone ("?q") or a fragment alone ("#f")
// or empty. "." and ".." segments are removed from the result's path.
// Fails with kInvalidArgument as ParseUrl does, and for a reference with
// another scheme than http or https (e.g. "data:").
Result<Url> ResolveUrl(const Url& base, std::string_view reference);

// True when resolving `reference` keeps the base's scheme, host and port:
// it has no scheme and is not a network-path reference ("//host/..."). Such
// a reference stays on the server that served the document holding it.
bool IsSameOriginReference(std::string_view reference);

// ParseUrl for a client that speaks plain HTTP only (the viewer simulator):
// fails (kInvalidArgument) for https://, with a message that says so, and
// for whatever ParseUrl refuses.
Result<Url> ParseHttpUrl(std::string_view url);

// Resolves `reference` (e.g. a URI from a playlist fetched from `base`) per
// RFC 3986 §5.2 (ResolveUrl): absolute, network-path, absolute-path,
// relative-path (merged with the base's directory, "." and ".." removed) or
// query-only. Fails (kInvalidArgument) when the result is on another origin
// than `base` (another scheme, host or port: a client that keeps one
// connection to one origin), and for whatever ResolveUrl refuses (other schemes,
// spaces and control characters).
Result<Url> ResolveReference(const Url& base, std::string_view reference);

// `target` without its query, for logs: queries carry session ids.
std::string_view PathForLog(std::string_view target);

// "host:port" with the port always written and an IPv6 literal in brackets:
// "127.0.0.1:8080", "[::1]:8080". For listen addresses, log lines and
// CONNECT targets; `host` is given without brackets, as Url stores it.
std::string HostPort(std::string_view host, std::uint16_t port);

}  // namespace headcount
