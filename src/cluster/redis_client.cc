// RedisPool: a mutex-guarded stack of idle RedisConnections.
#include "cluster/redis_client.h"

#include <boost/asio/ssl/context.hpp>
#include <utility>

#include "cluster/redis_connection.h"
#include "http_client/tls.h"

namespace headcount {
namespace {

Result<std::shared_ptr<boost::asio::ssl::context>> MakeTls(const RedisOptions& options) {
  if (!options.endpoint.tls) return std::shared_ptr<boost::asio::ssl::context>();
  Result<std::shared_ptr<boost::asio::ssl::context>> made =
      http_client::MakeTlsClientContext(options.ca_file);
  if (!made.ok()) {
    return Error::InvalidArgument("Redis at " + RedisHostPort(options.endpoint) + ": " +
                                  made.error().message());
  }
  return made;
}

}  // namespace

Result<RedisReply> Redis::RunOne(const RedisCommand& command) {
  Result<std::vector<RedisReply>> replies = Run(std::span(&command, 1));
  if (!replies.ok()) return replies.error();
  return std::move(replies->front());
}

RedisPool::RedisPool(RedisOptions options)
    : options_(std::move(options)), tls_(MakeTls(options_)) {}

RedisPool::~RedisPool() = default;

Result<std::vector<RedisReply>> RedisPool::Run(std::span<const RedisCommand> commands) {
  if (commands.empty()) return std::vector<RedisReply>{};
  if (!tls_.ok()) return tls_.error();
  Connection c;
  {
    std::unique_lock lock(mu_);
    if (!returned_.wait_for(lock, options_.io_timeout,
                            [&] { return !idle_.empty() || busy_ < options_.pool_size; })) {
      return Error::DeadlineExceeded("Redis at " + RedisHostPort(options_.endpoint) +
                                     ": every pooled connection busy");
    }
    if (!idle_.empty()) {
      c = std::move(idle_.back());
      idle_.pop_back();
    }
    ++busy_;
  }
  // Gives the connection back (or its place, when it broke) on every path.
  const auto give_back = [&] {
    std::lock_guard lock(mu_);
    if (c && c->usable()) idle_.push_back(std::move(c));
    --busy_;
    returned_.notify_one();
  };
  if (!c) {
    Result<Connection> made = RedisConnection::Open(options_, tls_->get());
    if (!made.ok()) {
      give_back();
      return made.error();
    }
    c = std::move(*made);
  }
  Result<std::vector<RedisReply>> replies = c->Exchange(commands);
  give_back();
  return replies;
}

}  // namespace headcount
