// A small pool of libpqxx connections to one PostgreSQL server, and the
// mapping of libpqxx's exceptions to Error values. Thread-safe: any thread
// may Run at any time; each connection serves one caller at a time (libpq
// connections are not thread-safe), and at most `size` are open.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace pqxx {
// libpqxx 6's connection types; the base has no virtual destructor, so the
// pool owns the concrete type.
class connection_base;
template <typename Connect>
class basic_connection_base;
class connect_direct;
using connection = basic_connection_base<connect_direct>;
}  // namespace pqxx

namespace headcount::postgres {

struct PoolOptions {
  // The libpq connection URI (postgres_url.h), connect_timeout included.
  std::string url;
  // Connections open at most; positive.
  std::size_t size = 4;
  // SET statement_timeout on every connection: a query running longer is
  // cancelled by the server (kDeadlineExceeded).
  std::chrono::milliseconds statement_timeout{10000};
  // How long Run waits for a connection when all `size` are busy.
  std::chrono::milliseconds wait{10000};
  // Prepared on every new connection: (name, SQL).
  std::vector<std::pair<std::string, std::string>> statements;
};

// The Error for a libpqxx (or other) exception caught during `op`: broken
// connections and unknown commit outcomes are kUnavailable (retry later);
// a server that refused the login is kRejected; statement_timeout
// (SQLSTATE 57014) is kDeadlineExceeded; a CHECK violation (SQLSTATE 23514)
// is kInvalidArgument; other SQL errors kRejected with their SQLSTATE.
// Must be called from inside a catch block. Never contains `secret`.
Error ErrorFromCurrentException(std::string_view op, std::string_view secret);

class Pool {
 public:
  // Checks options (kInvalidArgument); opens no connection yet.
  static Result<std::unique_ptr<Pool>> Create(PoolOptions options);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // Calls `work` with a connection of its own (opened when none is idle)
  // and returns its Status. An exception escaping `work` becomes the Error
  // ErrorFromCurrentException names. A connection found broken is closed,
  // not returned to the pool; when it was an idle one (the server restarted
  // since it was last used), `work` runs once more on a new connection, so
  // `work` must be safe to repeat (idempotent writes, reads). Fails with
  // kUnavailable when no connection could be opened or none became free
  // within options.wait. Error messages never contain the password.
  Status Run(std::string_view op, const std::function<void(pqxx::connection_base&)>& work);

  // Closes every idle connection (those in use close when returned).
  void CloseIdle();

  // The password of options.url, scrubbed from every error.
  const std::string& secret() const { return secret_; }

 private:
  explicit Pool(PoolOptions options);

  struct Lease;
  // An idle connection, or a new one; nullptr with the error otherwise.
  Result<Lease> Acquire(std::string_view op);
  void Release(std::unique_ptr<pqxx::connection> connection, bool broken);
  Result<std::unique_ptr<pqxx::connection>> Open(std::string_view op);

  const PoolOptions options_;
  const std::string secret_;

  std::mutex mu_;
  std::condition_variable freed_;  // a connection was returned or closed
  // Guarded by mu_:
  std::vector<std::unique_ptr<pqxx::connection>> idle_;
  std::size_t open_ = 0;  // idle + in use
};

}  // namespace headcount::postgres
