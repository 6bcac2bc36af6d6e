// Keep-alive connections per endpoint for the HTTP client: a cap on the
// connections open to one endpoint (requests past it wait in line), a cap
// on the idle ones kept, and the checks that keep a dead idle connection
// from being handed out. Internal to http_client. Not thread-safe: the
// Client confines it to its strand.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace headcount::http_client {

// An idle connection unused for this long is closed rather than reused, as
// curl does by default (CURLOPT_MAXAGE_CONN): most servers have dropped it by
// then. One they dropped sooner is caught by LooksReusable, or, when its FIN
// is still in flight, by the client's one resend (client.h).
inline constexpr std::chrono::seconds kMaxIdleAge{118};

// One open connection: a TCP stream, with TLS over it for https (directly or
// through a proxy's CONNECT tunnel).
struct Connection {
  explicit Connection(const boost::asio::any_io_executor& executor) : tcp(executor) {}

  boost::beast::tcp_stream& lowest_layer() {
    return tls ? boost::beast::get_lowest_layer(*tls) : tcp;
  }

  // Plain connections use `tcp`; TLS ones move it into `tls` after the
  // handshake's preparation, and `tcp` is left empty.
  boost::beast::tcp_stream tcp;
  std::unique_ptr<boost::beast::ssl_stream<boost::beast::tcp_stream>> tls;
  boost::beast::flat_buffer buffer;  // read bytes not yet parsed
  std::chrono::steady_clock::time_point idle_since{};
};

// What a request gets from the pool: an idle connection to reuse, or, with
// `connection` null, a slot to open a new one in (it counts as open now).
using Grant = std::unique_ptr<Connection>;

class ConnectionPool {
 public:
  // `post` runs a waiting request's grant later, on the pool's strand (never
  // inside Release, which may run inside another request's handler).
  ConnectionPool(std::size_t max_open_per_endpoint, std::size_t max_idle_per_endpoint,
                 std::function<void(std::function<void()>)> post);

  // A grant at once when the endpoint has an idle connection that still
  // looks alive or fewer than the cap open; nullopt when the caller must wait.
  std::optional<Grant> TryAcquire(const std::string& endpoint);
  // Queues `on_grant` for the endpoint's next free connection or slot;
  // returns an id for CancelWait.
  std::uint64_t Wait(const std::string& endpoint, std::function<void(Grant)> on_grant);
  // Removes a waiter that has not been granted yet (its request timed out).
  void CancelWait(const std::string& endpoint, std::uint64_t id);
  // Gives a slot back: `connection` to keep for reuse (it finished a
  // response and may carry another), or null when the slot's connection was
  // closed or never opened.
  void Release(const std::string& endpoint, std::unique_ptr<Connection> connection);

  std::size_t open(const std::string& endpoint) const;
  std::size_t idle(const std::string& endpoint) const;

 private:
  struct Waiter {
    std::uint64_t id;
    std::function<void(Grant)> on_grant;
  };
  struct Endpoint {
    std::size_t open = 0;                           // idle ones included
    std::vector<std::unique_ptr<Connection>> idle;  // most recently used last
    std::deque<Waiter> waiters;
  };

  const std::size_t max_open_;
  const std::size_t max_idle_;
  const std::function<void(std::function<void()>)> post_;
  std::uint64_t next_waiter_id_ = 1;
  std::map<std::string, Endpoint, std::less<>> endpoints_;
};

// Whether an idle connection can carry another request: nothing unread is
// buffered and the socket has nothing to read (a readable idle socket holds
// the server's FIN, a reset, a TLS close_notify or stray bytes: all mean it
// is done).
bool LooksReusable(Connection& connection);

}  // namespace headcount::http_client
