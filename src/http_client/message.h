// HTTP request and response as plain values, for every HTTP client in
// headcount (the AWS layer, the Lambda runtime client, the upstream proxy):
// what to send, with its timeouts and limits, and what came back. No
// sockets, no Beast. Thread-safe as values are.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace headcount::http_client {

// Defaults for one HTTP exchange.
inline constexpr std::chrono::milliseconds kDefaultConnectTimeout{2000};
inline constexpr std::chrono::milliseconds kDefaultRequestTimeout{10000};
// Bounds what one response may make us buffer (a DynamoDB Query page is at most 1 MB).
inline constexpr std::size_t kDefaultMaxResponseBytes = std::size_t{4} * 1024 * 1024;

struct HttpHeader {
  std::string name;
  std::string value;

  bool operator==(const HttpHeader&) const = default;
};
using HttpHeaders = std::vector<HttpHeader>;

// The value of the first header named `name` (ASCII case-insensitive), or null.
const std::string* FindHeader(const HttpHeaders& headers, std::string_view name);

struct HttpRequest {
  std::string method = "GET";
  std::string url;  // absolute http:// or https:// URL
  // Sent as given, in order. A "Host" header here replaces the one the
  // client derives from `url`; Content-Length is the client's own.
  HttpHeaders headers;
  std::string body;
  // Resolve, connect, proxy tunnel and TLS handshake of a new connection.
  std::chrono::milliseconds connect_timeout = kDefaultConnectTimeout;
  // The whole exchange, from the call to the last byte of the response
  // (waiting for a free connection, connecting, writing, reading).
  std::chrono::milliseconds timeout = kDefaultRequestTimeout;
  std::size_t max_response_bytes = kDefaultMaxResponseBytes;  // the body's
  // Whether a request that went out on a kept-alive connection the server had
  // already closed may be sent again, once, on a new connection (see
  // client.h). GET, HEAD, PUT, DELETE, OPTIONS and TRACE always may
  // (idempotent, RFC 9110 §9.2.2); set this for a POST whose service
  // tolerates a repeat (every AWS API call: the AWS SDKs resend them too).
  bool resend_when_stale = false;
};

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;  // as received, names as the server spelled them
  std::string body;
};

// What the message of a request that ran out of time says (the error is
// kUnavailable, see transport.h): IsTimeout tells it apart from a refused or
// unreachable server, e.g. for a proxy's 504 against its 502.
inline constexpr std::string_view kTimedOutText = "timed out after";
bool IsTimeout(const Error& error);

// Whether `method` is idempotent (RFC 9110 §9.2.2).
bool IsIdempotentMethod(std::string_view method);

// `url` for an error message or a log line: scheme, host, port and path,
// never the query (it may hold a session id or a signed token) nor user info.
// Text that does not parse as a URL gives "(invalid URL)".
std::string UrlForLog(std::string_view url);

}  // namespace headcount::http_client
