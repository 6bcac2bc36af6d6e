// A Redis client: commands sent as one pipeline over a small pool of
// connections. The seam (Redis) has this real implementation (RedisPool,
// over RedisConnection: Boost.Asio TCP or TLS, RESP by hiredis's writer and
// reader) and fakes in tests. Thread-safe.
//
// Blocking calls bounded by timeouts, not an asynchronous client: every
// caller is off the request path (a flusher thread, the tick thread), so
// blocking for at most a timeout is what they want.
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

namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

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

// Connecting (resolving, TCP and the TLS handshake) takes at most this; the
// AUTH and SELECT after it are bounded as a pipeline is.
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
  // For rediss://: the PEM CA bundle the server's certificate must chain
  // to; "" = the system's CAs (http_client::MakeTlsClientContext).
  std::string ca_file;
};

class RedisConnection;  // redis_connection.h

// Up to pool_size connections, opened when first needed and reopened after
// one breaks (a Redis restart costs the calls in flight, nothing more). A
// call that finds every connection busy waits up to io_timeout for one.
// Errors name the host and port, never the password. With rediss://, every
// connection verifies the server's certificate (chain and host name); a
// ca_file that cannot be loaded fails every Run with kInvalidArgument.
class RedisPool final : public Redis {
 public:
  explicit RedisPool(RedisOptions options);
  ~RedisPool() override;

  Result<std::vector<RedisReply>> Run(std::span<const RedisCommand> commands) override;

 private:
  using Connection = std::unique_ptr<RedisConnection>;

  const RedisOptions options_;
  // rediss://'s context, made once; null for redis://.
  const Result<std::shared_ptr<boost::asio::ssl::context>> tls_;

  std::mutex mu_;
  std::condition_variable returned_;
  // Guarded by mu_.
  std::vector<Connection> idle_;
  std::size_t busy_ = 0;  // connections handed out (or being opened)
};

}  // namespace headcount
