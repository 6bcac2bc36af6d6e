// HTTP as a seam for the AWS layer: plain request/response values, an
// HttpTransport interface, and CurlTransport, its libcurl implementation that
// keeps connections open between requests. CurlTransport is thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "net/url.h"

namespace headcount::aws {

// Defaults for one HTTP exchange.
inline constexpr std::chrono::milliseconds kDefaultConnectTimeout{2000};
inline constexpr std::chrono::milliseconds kDefaultRequestTimeout{10000};
// Bounds what one response may make us buffer (a DynamoDB Query page is at most 1 MB).
inline constexpr std::size_t kDefaultMaxResponseBytes = std::size_t{4} * 1024 * 1024;
// Idle easy handles (each holding its open connections) a CurlTransport keeps:
// at least the concurrency of its users (IvsPublisher, DynamoStore: 16), so
// a tick reuses its connections instead of reopening them.
inline constexpr std::size_t kMaxIdleCurlHandles = 32;

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
  // Sent as given, in order. A "Host" header here replaces curl's own.
  HttpHeaders headers;
  std::string body;
  std::chrono::milliseconds connect_timeout = kDefaultConnectTimeout;
  std::chrono::milliseconds timeout = kDefaultRequestTimeout;  // the whole exchange
  std::size_t max_response_bytes = kDefaultMaxResponseBytes;
};

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;  // as received, names as the server spelled them
  std::string body;
};

// Sends one request and waits for the response.
class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  HttpTransport() = default;
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  // Returns the server's response, whatever its status. Fails with
  // kUnavailable when no complete response arrived (name resolution,
  // connect, TLS, reset, timeout; the message says which), kRejected when
  // the response body passed max_response_bytes, kInvalidArgument for a
  // malformed request. Implementations must be thread-safe.
  virtual Result<HttpResponse> Send(const HttpRequest& request) = 0;
};

// HttpTransport over libcurl. Keeps up to kMaxIdleCurlHandles easy handles;
// a handle keeps its connections open, so consecutive requests to one host
// reuse a TCP (and TLS) connection. Thread-safe: each Send takes a handle
// from the pool (or makes one) under mu_ and gives it back afterwards.
// Follows no redirects; sends no proxy credentials; honours no .netrc.
class CurlTransport final : public HttpTransport {
 public:
  // Verifies TLS peers against the CA bundle in SSL_CERT_FILE when that is
  // set, else libcurl's built-in path. (Debian's libcurl looks in
  // /etc/ssl/certs; the Lambda zip's bootstrap points SSL_CERT_FILE at
  // Amazon Linux's /etc/pki/tls/certs/ca-bundle.crt.)
  CurlTransport();
  ~CurlTransport() override;

  Result<HttpResponse> Send(const HttpRequest& request) override;

 private:
  const std::string ca_file_;  // SSL_CERT_FILE at construction, or empty
  void* TakeHandle();
  void ReturnHandle(void* handle);

  std::mutex mu_;
  // Guarded by mu_: idle CURL* easy handles.
  std::vector<void*> idle_;
};

// Parses a service endpoint such as "https://dynamodb.us-east-1.amazonaws.com"
// or "http://127.0.0.1:8000": an absolute http(s) URL (ParseUrl, net/url.h:
// the one URL type and convention of the program) with neither query nor
// fragment, which requests to it could not keep. kInvalidArgument naming
// what is wrong, never quoting the URL.
Result<Url> ParseEndpointUrl(std::string_view text);

}  // namespace headcount::aws
