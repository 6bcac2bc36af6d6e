// HttpServer: an asynchronous HTTP/1.1 server (Boost.Beast) that turns each
// request into an HttpRequest, calls one handler and sends its HttpResponse,
// given at once or later (AsyncHttpHandler, HttpResponder in http.h).
// Thread-safe: Start/Stop/port may be called from any thread; the handler is
// called concurrently from the server's threads and must be thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "core/result.h"
#include "server/http.h"

namespace headcount {

// How long a handler may take to answer by default: longer than the work
// handlers hand to workers is bounded by (a store call's 20 s budget; a tick,
// 54 s at the default 1 m interval, after the one running).
inline constexpr std::chrono::seconds kDefaultResponseTimeout{120};

struct HttpServerOptions {
  std::string address = "127.0.0.1";  // IPv4 or IPv6 literal to listen on
  std::uint16_t port = 8080;          // 0 = ephemeral (see HttpServer::port())
  // I/O threads. Handlers are called on these: a handler that blocks stalls
  // every connection of its thread, so blocking work goes to a WorkerPool.
  int threads = 2;
  // Request line + headers; over -> 431 (414 if the request line alone is).
  std::size_t max_header_bytes = std::size_t{16} * 1024;
  std::size_t max_body_bytes = std::size_t{64} * 1024;  // over -> 413
  std::size_t max_target_bytes = 4096;                  // over -> 414
  // From the first byte of a request until it is fully read; a client that is
  // slower (e.g. slowloris) is disconnected.
  std::chrono::seconds read_timeout{10};
  std::chrono::seconds write_timeout{30};  // to send one response
  // How long a handler may take to answer (an AsyncHttpHandler answering
  // later); past it the client gets 503 and the late answer is dropped.
  std::chrono::seconds response_timeout{kDefaultResponseTimeout};
  // How long a keep-alive connection may wait, idle, for its next request.
  std::chrono::seconds idle_timeout{60};
  // Connections beyond these are closed right after accept.
  std::size_t max_connections = 10000;
  std::size_t max_connections_per_client = 256;  // per peer IP address
  // The client address handlers see (HttpRequest::client_address), from the
  // peer's address and the request (headers set, client_address not yet):
  // e.g. from X-Forwarded-For behind a trusted proxy. Unset: the peer's.
  // Called on the I/O thread; must be quick and thread-safe. Connection
  // limits and the access log always use the peer's address.
  std::function<std::string(const std::string& peer, const HttpRequest& request)> client_address;
};

// What the server did with one request, for metrics. `path` is the decoded
// path without query ("" when the request could not be parsed).
struct HttpExchange {
  std::string method;
  std::string path;
  int status = 0;
  std::uint64_t body_bytes = 0;           // body bytes sent (0 for HEAD)
  std::chrono::microseconds duration{0};  // from request read to response written
};
// Called once per response written, from a server thread; must be thread-safe
// and quick.
using HttpObserver = std::function<void(const HttpExchange&)>;

// The server adds to every response `Server: headcount` and
// `X-Content-Type-Options: nosniff`; answers requests of one connection in
// order (a pipelined request is read after the previous one is answered, so
// a request answered later holds up only its own connection); refuses bad
// requests itself (400, 413, 414, 431; JSON error bodies) and turns an
// exception from the handler into 500 {"error":"internal error"} (unless it
// had answered already). A response with `file` set is streamed from disk
// (404 if it is gone). For HEAD only headers (with Content-Length) are sent.
// Each request is logged at debug level without its query string (queries
// carry session ids).
//
// Answers given later (HttpResponder, from any thread) are posted to the
// connection's I/O thread. One that comes after its connection is gone (the
// client closed it and a write failed, response_timeout answered instead,
// the server stopped) is dropped; so are answers given after Stop(), which
// never waits for them. A responder may outlive the server.
class HttpServer {
 public:
  HttpServer(HttpServerOptions options, AsyncHttpHandler handler, HttpObserver observer = {});
  // A handler that answers at once, on the I/O thread (see HttpHandler).
  HttpServer(HttpServerOptions options, HttpHandler handler, HttpObserver observer = {});
  ~HttpServer();  // Stop()s.
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, listens and starts the I/O threads. On failure nothing is left
  // running and the error names the address (e.g. "cannot bind
  // 127.0.0.1:80: Permission denied"). Fails if already started; may be
  // called again after Stop().
  Status Start();

  // The bound port (the real one when options.port was 0); 0 before Start().
  std::uint16_t port() const;  // NOLINT(readability-identifier-naming): accessor

  // Closes the listening socket and every connection (in-flight responses,
  // and requests still waiting for a later answer, are dropped), waits for
  // a running handler call to return and joins the I/O threads; it does not
  // wait for work a handler handed elsewhere (stop a WorkerPool after the
  // server). Idempotent; safe to call before Start(). Must not be called
  // from inside the handler (it would wait for itself).
  void Stop();

 private:
  struct Impl;
  static AsyncHttpHandler AnswerAtOnce(HttpHandler handler);

  const HttpServerOptions options_;
  const AsyncHttpHandler handler_;
  const HttpObserver observer_;

  std::atomic<std::uint16_t> port_{0};

  // Guarded by mu_ (Start and Stop serialize on it).
  std::mutex mu_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace headcount
