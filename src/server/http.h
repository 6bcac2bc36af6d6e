// The HTTP types every handler in headcount sees: a parsed request and a
// response value, independent of Beast, so handlers are pure functions that
// tests call without sockets. Value types; not synchronized.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace headcount {

struct HttpRequest {
  std::string method;  // "GET", "HEAD", ...
  std::string target;  // as received: "/hls/demo/stream.m3u8?hcs=..."
  std::string path;    // percent-decoded path, no query: "/hls/demo/stream.m3u8"
  std::multimap<std::string, std::string> query;  // percent-decoded parameters
  std::map<std::string, std::string> headers;     // lower-case names
  std::string client_address;                     // peer IP, e.g. "127.0.0.1"
  std::string body;

  // First value of query parameter `name`, if present.
  std::optional<std::string> Query(std::string_view name) const;
  // Value of header `lower_case_name`, if present.
  std::optional<std::string> Header(std::string_view lower_case_name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  // When set, the body is this file, streamed by the server (body is ignored).
  std::optional<std::filesystem::path> file;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers

  static HttpResponse Json(int status, std::string body);
  static HttpResponse Text(int status, std::string body);
  // {"error":"<message>"} with `status`, for every 4xx/5xx a handler returns.
  static HttpResponse Error(int status, std::string_view message);
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

// True for a loopback peer address (HttpRequest::client_address):
// "127.0.0.1" and the rest of 127/8, "::1", and "::ffff:127.x.y.z".
bool IsLoopbackAddress(std::string_view address);

// Splits a request target into a decoded path and query. Fails (400) for
// targets that are not origin-form ("/..."), bad percent-encoding, NUL bytes,
// or "." / ".." path segments (before or after decoding).
struct ParsedTarget {
  std::string path;
  std::multimap<std::string, std::string> query;
};
Result<ParsedTarget> ParseTarget(std::string_view target);

// Percent-decodes `s` ('+' stays '+'). Fails on a bad escape or a NUL byte.
Result<std::string> PercentDecode(std::string_view s);

// Escapes `s` for use in a URL query value.
std::string PercentEncode(std::string_view s);

}  // namespace headcount
