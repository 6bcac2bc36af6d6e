// One connection to Redis: Boost.Asio plain TCP (redis://) or TLS
// (rediss://), every blocking call bounded by a deadline; commands written
// and replies read as RESP by hiredis's writer and reader. RedisPool
// (redis_client.h) keeps a few. Not thread-safe: one caller at a time.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "cluster/redis_client.h"
#include "core/result.h"

namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

namespace headcount {

class RedisConnection {
 public:
  // Resolves options.endpoint's host, connects (trying each address in
  // turn) and, when `tls` is not null, does the TLS handshake with it,
  // checking that the certificate is for the host (http_client/tls.h), all
  // within options.connect_timeout; then AUTH and SELECT as the endpoint
  // asks, within options.io_timeout. Fails with kUnavailable (refused,
  // reset, a certificate that does not verify: the message says which),
  // kDeadlineExceeded, or kRejected when Redis refused the login. Errors
  // name host:port, never the password. Resolving a name is the one step
  // that may overrun its deadline: getaddrinfo cannot be cancelled, so a
  // slow resolver delays this call by as much as it takes.
  static Result<std::unique_ptr<RedisConnection>> Open(const RedisOptions& options,
                                                       boost::asio::ssl::context* tls);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Writes `commands` in one go and reads one reply per command, all within
  // options.io_timeout. Failures as Redis::Run says; after one, usable() is
  // false.
  Result<std::vector<RedisReply>> Exchange(std::span<const RedisCommand> commands);

  // False once a call failed or timed out: what is left on the stream is
  // unknown, so the connection must be closed, not reused.
  bool usable() const;

 private:
  struct Impl;
  explicit RedisConnection(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

}  // namespace headcount
