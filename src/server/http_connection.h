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
#include <mutex>
#include <string>

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

// What every connection shares; owned by the running HttpServer, outlives
// its connections.
struct ServerContext {
  HttpServerOptions options;
  HttpHandler handler;
  HttpObserver observer;
  ConnectionCounter counter;
};

// Serves `socket`, a connection from `client` (its address) that holds one
// of context.counter's slots (given back when the connection ends), on the
// socket's I/O context. Call on that context's thread.
void StartConnection(Socket&& socket, ServerContext& context, std::string client);

}  // namespace headcount::http_internal
