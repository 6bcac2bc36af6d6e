// The synchronous HTTP seam: code that sends a request from its own thread
// and waits for the answer (the AWS layer, the Lambda runtime client) takes
// an HttpTransport, so tests pass a scripted fake. BeastTransport
// (beast_transport.h) is the real one.
#pragma once

#include "core/result.h"
#include "http_client/message.h"

namespace headcount::http_client {

// Sends one request and waits for the response.
class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  HttpTransport() = default;
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  // Returns the server's response, whatever its status. Fails with
  // kUnavailable when no complete response arrived (name resolution,
  // connect, proxy, TLS, reset, timeout; the message says which), kRejected
  // when the response body passed max_response_bytes, kInvalidArgument for a
  // malformed request. Implementations must be thread-safe.
  virtual Result<HttpResponse> Send(const HttpRequest& request) = 0;
};

}  // namespace headcount::http_client
