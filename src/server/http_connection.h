// HttpServer's connections (internal to src/server): what every connection
// shares with the listener, and the call that starts serving one. Each I/O
// thread runs an io_context of its own, and a connection lives on one of them
// for good: its handlers never run concurrently, so a connection needs no
// strand, and the executor type is concrete (no type erasure).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "server/http.h"
#include "server/http_server.h"

namespace headcount::http_internal {

using Executor = boost::asio::io_context::executor_type;
using Socket = boost::asio::basic_stream_socket<boost::asio::ip::tcp, Executor>;

// Counts open connections, in total and per peer address. Thread-safe.
class ConnectionCounter {
 public:
  ConnectionCounter(std::size_t max_total, std::size_t max_per_client)
      : max_total_(max_total), max_per_client_(max_per_client) {}

  // Takes a slot for a connection from `client`; false when a limit is reached.
  bool TryAcquire(const std::string& client);
  // Gives back a slot taken by TryAcquire(client).
  void Release(const std::string& client);

 private:
  const std::size_t max_total_;
  const std::size_t max_per_client_;

  // Guarded by mu_.
  std::mutex mu_;
  std::size_t total_ = 0;
  std::map<std::string, std::size_t> per_client_;
};

// Lets a response that a handler completes later, on any thread, be posted
// to its connection's I/O context while the server runs. HttpServer::Stop
// closes the gate before it stops and destroys the contexts, so nothing is
// ever posted to a context that is gone; a response completed after that is
// dropped. Shared with every responder, so it outlives the server if they
// do. Thread-safe.
class ResponseGate {
 public:
  // Runs `fn` under the gate's lock if the gate is still open (then the I/O
  // contexts are alive, and stay so until `fn` returns: `fn` may post to
  // them); false, without running it, once the gate is closed.
  template <typename F>
  bool RunWhileOpen(F&& fn) {
    std::lock_guard lock(mu_);
    if (closed_) return false;
    std::forward<F>(fn)();
    return true;
  }
  // Closes the gate; waits for a RunWhileOpen in progress.
  void Close() {
    std::lock_guard lock(mu_);
    closed_ = true;
  }

 private:
  std::mutex mu_;
  bool closed_ = false;  // guarded by mu_
};

// What every connection shares; owned by the running HttpServer, outlives
// its connections (but not necessarily their responders: see gate).
struct ServerContext {
  HttpServerOptions options;
  AsyncHttpHandler handler;
  HttpObserver observer;
  ConnectionCounter counter;
  std::shared_ptr<ResponseGate> gate = std::make_shared<ResponseGate>();
};

// Serves `socket`, a connection from `client` (its address) that holds one
// of context.counter's slots (given back when the connection ends), on the
// socket's I/O context. Call on that context's thread.
void StartConnection(Socket&& socket, ServerContext& context, std::string client);

}  // namespace headcount::http_internal
