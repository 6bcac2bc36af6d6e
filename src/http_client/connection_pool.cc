// ConnectionPool: per-endpoint caps, idle reuse, FIFO waiters.
#include "http_client/connection_pool.h"

#include <poll.h>

#include <utility>

namespace headcount::http_client {

ConnectionPool::ConnectionPool(std::size_t max_open_per_endpoint, std::size_t max_idle_per_endpoint,
                               std::function<void(std::function<void()>)> post)
    : max_open_(max_open_per_endpoint), max_idle_(max_idle_per_endpoint), post_(std::move(post)) {}

std::optional<Grant> ConnectionPool::TryAcquire(const std::string& endpoint) {
  Endpoint& e = endpoints_[endpoint];
  const auto now = std::chrono::steady_clock::now();
  while (!e.idle.empty()) {
    std::unique_ptr<Connection> connection = std::move(e.idle.back());
    e.idle.pop_back();
    if (now - connection->idle_since < kMaxIdleAge && LooksReusable(*connection)) {
      return connection;
    }
    --e.open;  // dropped: closed by its destructor
  }
  if (e.open < max_open_) {
    ++e.open;
    return Grant();
  }
  return std::nullopt;
}

std::uint64_t ConnectionPool::Wait(const std::string& endpoint,
                                   std::function<void(Grant)> on_grant) {
  const std::uint64_t id = next_waiter_id_++;
  endpoints_[endpoint].waiters.push_back({id, std::move(on_grant)});
  return id;
}

void ConnectionPool::CancelWait(const std::string& endpoint, std::uint64_t id) {
  auto it = endpoints_.find(endpoint);
  if (it == endpoints_.end()) return;
  std::erase_if(it->second.waiters, [id](const Waiter& w) { return w.id == id; });
}

void ConnectionPool::Release(const std::string& endpoint, std::unique_ptr<Connection> connection) {
  Endpoint& e = endpoints_[endpoint];
  if (!e.waiters.empty()) {
    // The slot goes to the longest waiter: the connection itself, or a slot
    // to open a new one in place of a closed one.
    Waiter next = std::move(e.waiters.front());
    e.waiters.pop_front();
    auto grant = std::make_shared<Grant>(std::move(connection));
    post_([on_grant = std::move(next.on_grant), grant] { on_grant(std::move(*grant)); });
    return;
  }
  if (connection == nullptr) {
    --e.open;
    return;
  }
  connection->idle_since = std::chrono::steady_clock::now();
  e.idle.push_back(std::move(connection));
  if (e.idle.size() > max_idle_) {
    e.idle.erase(e.idle.begin());  // the least recently used
    --e.open;
  }
}

std::size_t ConnectionPool::open(const std::string& endpoint) const {
  auto it = endpoints_.find(endpoint);
  return it == endpoints_.end() ? 0 : it->second.open;
}

std::size_t ConnectionPool::idle(const std::string& endpoint) const {
  auto it = endpoints_.find(endpoint);
  return it == endpoints_.end() ? 0 : it->second.idle.size();
}

bool LooksReusable(Connection& connection) {
  if (connection.buffer.size() != 0) return false;
  auto& socket = connection.lowest_layer().socket();
  if (!socket.is_open()) return false;
  pollfd fd{};
  fd.fd = socket.native_handle();
  fd.events = POLLIN;
  // A zero timeout: only asks whether something is already there.
  return ::poll(&fd, 1, 0) == 0;
}

}  // namespace headcount::http_client
