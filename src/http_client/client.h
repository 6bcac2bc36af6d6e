// The HTTP/1.1 client of headcount, asynchronous, on Boost.Beast: http and
// https (TLS with peer and host name verification), keep-alive connections
// pooled per endpoint, forward proxies (CONNECT tunnels for https) as
// HTTPS_PROXY / HTTP_PROXY / NO_PROXY say, timeouts and a response size
// limit per request. No thread waits on a request: each is a session object
// on the client's strand (resolve → connect → [proxy CONNECT] → [TLS
// handshake] → write → read), completed through a handler.
// Thread-safe: Send may be called from any thread.
//
// Example:
//   auto client = Client::Create(io.get_executor(), ClientOptions::FromEnvironment());
//   (*client)->Send({.url = "https://example.com/a.m3u8"},
//                   [](Result<HttpResponse> r) { ... });
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "core/result.h"
#include "http_client/message.h"
#include "http_client/proxy.h"

namespace headcount::http_client {

// Connections one Client keeps open to one endpoint (scheme, host, port; or
// one proxy). Past it, requests wait in line for a connection (within their
// timeout): a slow server is never flooded with connections.
inline constexpr std::size_t kDefaultMaxConnectionsPerEndpoint = 64;
// Idle connections kept per endpoint: at least the concurrency of the
// client's busiest user (IvsPublisher, DynamoStore: 16), so that a tick
// reuses its connections instead of reopening them.
inline constexpr std::size_t kDefaultMaxIdlePerEndpoint = 32;
// Bounds the status line and headers of one response.
inline constexpr std::size_t kMaxResponseHeaderBytes = std::size_t{64} * 1024;

struct ClientOptions {
  std::size_t max_connections_per_endpoint = kDefaultMaxConnectionsPerEndpoint;
  std::size_t max_idle_per_endpoint = kDefaultMaxIdlePerEndpoint;
  // PEM CA bundle that https peers must chain to. Empty: OpenSSL's default
  // paths (SSL_CERT_FILE / SSL_CERT_DIR when set, else the system store).
  std::string ca_file;
  // Which proxy each request goes through; default: none.
  ProxySettings proxies;

  // ca_file from SSL_CERT_FILE (the Lambda zip's bootstrap sets it to Amazon
  // Linux's bundle), proxies from the process environment.
  static ClientOptions FromEnvironment();
};

class Client {
 public:
  // Runs with the result of one request: the response, whatever its status,
  // or an error as HttpTransport::Send (transport.h) describes it. Called
  // on the client's strand: it must not block; it may call Send again.
  using Handler = std::function<void(Result<HttpResponse>)>;

  // kInvalidArgument for zero caps. The TLS context is built (and ca_file
  // read) on the first https request; a CA file that cannot be read fails
  // each https request with kInvalidArgument.
  static Result<std::unique_ptr<Client>> Create(const boost::asio::any_io_executor& executor,
                                                ClientOptions options);
  // Destroy the Client only once its executor runs no more of its work (its
  // io_context stopped, or every request completed): idle connections go
  // with it. Requests in flight keep what they use alive.
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // What a streamed request reports, in this order, on the client's strand
  // (no handler may block; each may call Send or Stream again).
  struct StreamHandlers {
    // The status and headers (body empty) as soon as they arrived; or the
    // error that came before them (as Send's), and then nothing more.
    std::function<void(Result<HttpResponse>)> on_head;
    // The next bytes of the body, in order, never empty.
    std::function<void(std::string)> on_body;
    // The body is complete (OK), or broke off: kUnavailable (the
    // connection failed or the timeout passed; IsTimeout tells), kRejected
    // (it passed max_response_bytes).
    std::function<void(Status)> on_end;
  };

  // Starts `request`; `handler` gets its result exactly once.
  //
  // A request that went out on a kept-alive connection the server had
  // closed meanwhile (the write failed, or the connection ended before a
  // byte of the response came) is sent once more on a new connection when
  // it is safe to resend (an idempotent method, or resend_when_stale), as
  // curl does; never after a timeout or once any of the response arrived.
  void Send(HttpRequest request, Handler handler);
  // The same, but the response is handed over as it arrives: its head,
  // then its body in pieces (a proxy passes them on without holding the
  // whole body). Resent as Send's when stale, never once the head came.
  void Stream(HttpRequest request, StreamHandlers handlers);

  // Internal (client_state.h): the pool and settings that requests in
  // flight share with the client.
  struct State;

 private:
  explicit Client(std::shared_ptr<State> state);
  const std::shared_ptr<State> state_;
};

}  // namespace headcount::http_client
