// The connection pool of the PostgreSQL store. Thread-safe: idle_ and open_
// under mu_; a connection is used by the one thread that holds its lease.
#include "store/postgres/postgres_pool.h"

#include <poll.h>

#include <pqxx/pqxx>

#include "store/postgres/postgres_url.h"

namespace headcount::postgres {
namespace {

// SQLSTATEs given their own ErrorCode.
constexpr std::string_view kQueryCanceled = "57014";  // statement_timeout
constexpr std::string_view kCheckViolation = "23514";
constexpr std::string_view kInvalidPassword = "28P01";
constexpr std::string_view kInvalidAuthorization = "28000";

// libpq reports a refused login as a failed connection; its text says so.
bool IsLoginRefused(std::string_view message) {
  return message.find("authentication failed") != std::string_view::npos ||
         message.find("no pg_hba.conf entry") != std::string_view::npos ||
         (message.find("database \"") != std::string_view::npos &&
          message.find("does not exist") != std::string_view::npos);
}

// libpq's messages end in a newline and may span lines; one line for logs.
std::string OneLine(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  for (char& c : text) {
    if (c == '\n' || c == '\t') c = ' ';
  }
  return text;
}

// Whether the server has closed an idle connection (it restarted, or ended
// the session): an idle connection has nothing to read, since it listens
// for no notifications, so a readable socket means the server's goodbye and
// end of file. Checked before use because libpqxx 6 leaks a result when a
// transaction starts on such a connection (and that call would fail).
bool ClosedByServer(pqxx::connection_base& connection) {
  const int fd = connection.sock();
  if (fd < 0) return true;
  pollfd p{.fd = fd, .events = POLLIN | POLLRDHUP, .revents = 0};
  return ::poll(&p, 1, 0) != 0;
}

}  // namespace

Error ErrorFromCurrentException(std::string_view op, std::string_view secret) {
  const auto make = [&](ErrorCode code, std::string what) {
    return Error(
        code, ScrubSecret("postgres " + std::string(op) + ": " + OneLine(std::move(what)), secret));
  };
  try {
    throw;
  } catch (const pqxx::in_doubt_error& e) {
    return make(ErrorCode::kUnavailable, std::string("commit outcome unknown: ") + e.what());
  } catch (const pqxx::broken_connection& e) {
    const std::string what = e.what();
    if (IsLoginRefused(what)) return make(ErrorCode::kRejected, what);
    return make(ErrorCode::kUnavailable, "cannot reach the server: " + what);
  } catch (const pqxx::sql_error& e) {
    const std::string& state = e.sqlstate();
    const std::string what = std::string(e.what()) + " (SQLSTATE " + state + ")";
    if (state == kQueryCanceled) return make(ErrorCode::kDeadlineExceeded, what);
    if (state == kCheckViolation) return make(ErrorCode::kInvalidArgument, what);
    if (state == kInvalidPassword || state == kInvalidAuthorization) {
      return make(ErrorCode::kRejected, what);
    }
    return make(ErrorCode::kRejected, what);
  } catch (const pqxx::failure& e) {
    return make(ErrorCode::kUnavailable, e.what());
  } catch (const std::exception& e) {
    return make(ErrorCode::kInternal, e.what());
  } catch (...) {
    return make(ErrorCode::kInternal, "unknown exception");
  }
}

struct Pool::Lease {
  std::unique_ptr<pqxx::connection> connection;
  bool fresh = false;  // opened for this lease, not taken idle
};

Result<std::unique_ptr<Pool>> Pool::Create(PoolOptions options) {
  if (Status s = CheckPostgresUrl(options.url); !s.ok()) return s.error();
  if (options.size == 0) return Error::InvalidArgument("postgres: pool size must be positive");
  if (options.statement_timeout.count() <= 0 || options.wait.count() <= 0) {
    return Error::InvalidArgument("postgres: timeouts must be positive");
  }
  return std::unique_ptr<Pool>(new Pool(std::move(options)));
}

Pool::Pool(PoolOptions options)
    : options_(std::move(options)), secret_(PostgresUrlPassword(options_.url)) {}

Pool::~Pool() = default;

Result<std::unique_ptr<pqxx::connection>> Pool::Open(std::string_view op) {
  try {
    auto connection = std::make_unique<pqxx::connection>(options_.url);
    // Kept by libpqxx and set again should it ever reconnect by itself.
    connection->set_variable("statement_timeout",
                             std::to_string(options_.statement_timeout.count()));
    for (const auto& [name, sql] : options_.statements) connection->prepare(name, sql);
    return connection;
  } catch (...) {
    return ErrorFromCurrentException(op, secret_);
  }
}

Result<Pool::Lease> Pool::Acquire(std::string_view op) {
  // Idle connections the server has closed, destroyed after the lock.
  std::vector<std::unique_ptr<pqxx::connection>> dead;
  {
    std::unique_lock lock(mu_);
    const bool available = freed_.wait_for(
        lock, options_.wait, [this] { return !idle_.empty() || open_ < options_.size; });
    if (!available) {
      return Error::Unavailable("postgres " + std::string(op) + ": all " +
                                std::to_string(options_.size) + " connections stayed busy for " +
                                std::to_string(options_.wait.count()) + " ms");
    }
    while (!idle_.empty()) {
      std::unique_ptr<pqxx::connection> connection = std::move(idle_.back());
      idle_.pop_back();
      if (ClosedByServer(*connection)) {
        --open_;
        dead.push_back(std::move(connection));
        continue;
      }
      return Lease{std::move(connection), false};
    }
    ++open_;  // reserved; opened below, outside the lock
  }
  dead.clear();
  Result<std::unique_ptr<pqxx::connection>> connection = Open(op);
  if (!connection.ok()) {
    std::lock_guard lock(mu_);
    --open_;
    freed_.notify_one();
    return connection.error();
  }
  return Lease{std::move(connection).value(), true};
}

void Pool::Release(std::unique_ptr<pqxx::connection> connection, bool broken) {
  std::lock_guard lock(mu_);
  if (broken || !connection->is_open()) {
    --open_;
    connection.reset();
  } else {
    idle_.push_back(std::move(connection));
  }
  freed_.notify_one();
}

Status Pool::Run(std::string_view op, const std::function<void(pqxx::connection_base&)>& work) {
  // Two attempts at most: the second only after an idle connection turned
  // out broken, which a fresh one is not.
  for (int attempt = 0;; ++attempt) {
    Result<Lease> lease = Acquire(op);
    if (!lease.ok()) return lease.error();
    try {
      work(*lease->connection);
      Release(std::move(lease->connection), false);
      return {};
    } catch (const pqxx::broken_connection&) {
      Release(std::move(lease->connection), true);
      if (!lease->fresh && attempt == 0) continue;
      return ErrorFromCurrentException(op, secret_);
    } catch (...) {
      Error error = ErrorFromCurrentException(op, secret_);
      // After an error the connection is still usable (the transaction
      // object rolled back), unless the server went away meanwhile.
      Release(std::move(lease->connection), false);
      return error;
    }
  }
}

void Pool::CloseIdle() {
  std::lock_guard lock(mu_);
  open_ -= idle_.size();
  idle_.clear();
  freed_.notify_all();
}

}  // namespace headcount::postgres
