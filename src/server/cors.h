// Cross-origin access (CORS) for the routes other sites' pages call: the
// page origins allowed, the headers a response carries for them and the
// answer to a preflight. Immutable after Parse; thread-safe.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "server/http.h"

namespace headcount {

// Origins one list may hold, a bound on each request's matching.
inline constexpr std::size_t kMaxCorsOrigins = 256;
// How long a browser may keep a preflight's answer.
inline constexpr std::chrono::seconds kCorsPreflightMaxAge{600};
// The request headers a preflight allows by default: a body's type.
inline constexpr std::string_view kCorsBodyHeaders = "Content-Type";
// ...and those a player fetching media sends: request-mode CMCD in headers
// (hls.js, Shaka with useHeaders) and byte ranges.
inline constexpr std::string_view kCorsMediaHeaders =
    "CMCD-Request, CMCD-Object, CMCD-Status, CMCD-Session, Range";

class CorsPolicy {
 public:
  // Same origin only: no page of another origin may call or load anything.
  CorsPolicy() = default;

  // Comma-separated page origins, "https://a.example,http://b.example:8080"
  // (scheme, host and port only, as a browser's Origin header writes them;
  // compared case-insensitively), or "*" alone: any origin. Empty text
  // allows none. Fails (InvalidArgument, naming the entry) for anything
  // else: a path, a query, another scheme, "*" among others, more than
  // kMaxCorsOrigins entries.
  static Result<CorsPolicy> Parse(std::string_view text);

  // True when a page of `origin` (an Origin header's value) may call.
  bool Allows(std::string_view origin) const;

  // Adds to `response` what lets the requesting page read it: with a list
  // of origins, `Vary: Origin` (the answer differs by Origin; a cache must
  // not mix them) and Access-Control-Allow-Origin when the request's Origin
  // is allowed; with "*", Access-Control-Allow-Origin: * alone (the same for
  // everyone, so a CDN keeps one copy); with none, nothing. Credentials are
  // never allowed: nothing here reads cookies.
  void Apply(const HttpRequest& request, HttpResponse& response) const;
  // The same for a request whose Origin header was `origin` (none: nullopt),
  // for an answer given after the request is gone.
  void ApplyForOrigin(const std::optional<std::string>& origin, HttpResponse& response) const;

  // The answer to a preflight (OPTIONS with Origin and
  // Access-Control-Request-Method) for a route serving `methods` ("POST"
  // or "GET, HEAD") and taking the request `headers`: 204 with the
  // Allow-Origin, -Methods, -Headers (`headers`) and -Max-Age headers when
  // the origin is allowed and the requested method is one of `methods`;
  // 403 otherwise (no Allow-Origin, so the browser stops). An OPTIONS
  // without those headers is not a preflight: 204 with Allow.
  HttpResponse Preflight(const HttpRequest& request, std::string_view methods,
                         std::string_view headers = kCorsBodyHeaders) const;

  bool allows_any() const { return any_; }
  bool empty() const { return !any_ && origins_.empty(); }
  // The setting as text: "*", or the origins comma-separated.
  std::string ToString() const;

 private:
  bool any_ = false;
  std::vector<std::string> origins_;  // lower-case "scheme://host[:port]"
};

}  // namespace headcount
