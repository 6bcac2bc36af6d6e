// BeastTransport: the synchronous HttpTransport (transport.h) over the
// asynchronous Client, for callers that wait on their own threads (the AWS
// layer, the Lambda runtime client). Owns one I/O thread that runs every
// request's session; Send blocks only its caller. Thread-safe.
#pragma once

#include <memory>

#include "http_client/client.h"
#include "http_client/transport.h"

namespace headcount::http_client {

class BeastTransport final : public HttpTransport {
 public:
  // Starts the I/O thread. Default options: ClientOptions::FromEnvironment()
  // (SSL_CERT_FILE, HTTPS_PROXY, HTTP_PROXY, NO_PROXY).
  BeastTransport();
  explicit BeastTransport(ClientOptions options);
  // Stops the I/O thread; requests still in flight are abandoned (their
  // Send calls must have returned: destroy it only when no Send runs).
  ~BeastTransport() override;

  Result<HttpResponse> Send(const HttpRequest& request) override;

 private:
  struct Impl;
  const std::unique_ptr<Impl> impl_;
};

}  // namespace headcount::http_client
