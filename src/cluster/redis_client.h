// A Redis client: commands sent as one pipeline over a small pool of
// connections. The seam (Redis) has this real implementation (RedisPool,
// over hiredis) and fakes in tests. Thread-safe.
//
// Why hiredis's blocking redisContext and not an Asio transport: Debian 12
// ships hiredis 0.14.1, whose RESP reader and writer are all we would take
// from it anyway, and whose blocking context already does connect and
// read/write timeouts. Every caller here is off the request path (a flusher
// thread, the tick thread), so blocking for at most a timeout is what they
// want. The cost: no TLS (0.14 has none), so rediss:// is refused with a
// clear error (cluster/redis_url.h); an Asio transport with http_client/tls
// would lift that and can replace RedisPool behind the same seam.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "cluster/redis_url.h"
#include "core/result.h"

struct redisContext;  // hiredis

namespace headcount {

// One reply, as a value.
struct RedisReply {
  enum class Type { kNil, kInteger, kString, kStatus, kError, kArray };
  Type type = Type::kNil;
  std::int64_t integer = 0;
  std::string text;  // kString, kStatus and kError
  std::vector<RedisReply> elements;

  bool is_error() const { return type == Type::kError; }
};

// One command and its arguments, e.g. {"ZADD", "key", "12", "member"}.
using RedisCommand = std::vector<std::string>;

class Redis {
 public:
  virtual ~Redis() = default;
  Redis() = default;
  Redis(const Redis&) = delete;
  Redis& operator=(const Redis&) = delete;

  // Sends `commands` in one round trip (pipelined) and returns one reply per
  // command, in order. A command Redis refused is a reply of type kError,
  // not a failure. Fails with kUnavailable when Redis cannot be reached or
  // the connection broke, kDeadlineExceeded when it did not answer within
  // the client's timeout: then any of the commands may or may not have run.
  virtual Result<std::vector<RedisReply>> Run(std::span<const RedisCommand> commands) = 0;

  // Run for one command.
  Result<RedisReply> RunOne(const RedisCommand& command);
};

// Connecting (TCP and AUTH/SELECT) takes at most this.
inline constexpr std::chrono::milliseconds kDefaultRedisConnectTimeout{1000};
// One pipeline's writes and reads take at most this.
inline constexpr std::chrono::milliseconds kDefaultRedisIoTimeout{2000};
// Connections kept open: a node runs a flusher, a ticker and an asked-for
// tick at once at most.
inline constexpr std::size_t kDefaultRedisPoolSize = 4;

struct RedisOptions {
  RedisEndpoint endpoint;
  std::chrono::milliseconds connect_timeout = kDefaultRedisConnectTimeout;
  std::chrono::milliseconds io_timeout = kDefaultRedisIoTimeout;
  std::size_t pool_size = kDefaultRedisPoolSize;
};

// Up to pool_size connections, opened when first needed and reopened after
// one breaks (a Redis restart costs the calls in flight, nothing more). A
// call that finds every connection busy waits up to io_timeout for one.
// Errors name the host and port, never the password.
class RedisPool final : public Redis {
 public:
  explicit RedisPool(RedisOptions options);
  ~RedisPool() override;

  Result<std::vector<RedisReply>> Run(std::span<const RedisCommand> commands) override;

 private:
  struct ContextDeleter {
    void operator()(redisContext* c) const;
  };
  using Context = std::unique_ptr<redisContext, ContextDeleter>;

  // A new connection, authenticated and on its database.
  Result<Context> Connect() const;
  // "host:port", for errors.
  std::string Where() const;

  const RedisOptions options_;

  std::mutex mu_;
  std::condition_variable returned_;
  // Guarded by mu_.
  std::vector<Context> idle_;
  std::size_t busy_ = 0;  // connections handed out (or being opened)
};

}  // namespace headcount
