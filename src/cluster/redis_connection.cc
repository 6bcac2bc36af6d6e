// RedisConnection: a private io_context per connection; each step starts one
// asynchronous operation and runs the context until it completes or the
// deadline passes, when the socket is closed (which ends the operation).
#include "cluster/redis_connection.h"

#include <hiredis/hiredis.h>

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <utility>

#include "http_client/tls.h"

namespace headcount {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

// Bytes read from the socket at a time; hiredis's reader buffers the rest.
constexpr std::size_t kReadChunk = std::size_t{16} * 1024;
// A connection keeps its write buffer between pipelines up to this size:
// a flush of thousands of viewers then costs no fresh allocation (and no
// page faults) each second, and a rare huge pipeline's memory is given back.
constexpr std::size_t kKeptWriteBuffer = std::size_t{4} * 1024 * 1024;

RedisReply Convert(const redisReply& r) {
  RedisReply out;
  switch (r.type) {
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      out.integer = r.integer;
      break;
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::kString;
      out.text.assign(r.str, r.len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::kStatus;
      out.text.assign(r.str, r.len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::kError;
      out.text.assign(r.str, r.len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      out.elements.reserve(r.elements);
      for (std::size_t i = 0; i < r.elements; ++i) out.elements.push_back(Convert(*r.element[i]));
      break;
    default:
      break;  // REDIS_REPLY_NIL
  }
  return out;
}

// Appends `command` as RESP to `out`; false when out of memory.
bool AppendCommand(const RedisCommand& command, std::string& out) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  argv.reserve(command.size());
  lengths.reserve(command.size());
  for (const std::string& a : command) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  char* formatted = nullptr;
  const int n = redisFormatCommandArgv(&formatted, static_cast<int>(argv.size()), argv.data(),
                                       lengths.data());
  if (n < 0 || formatted == nullptr) return false;
  out.append(formatted, static_cast<std::size_t>(n));
  redisFreeCommand(formatted);
  return true;
}

}  // namespace

struct RedisConnection::Impl {
  struct ReaderDeleter {
    void operator()(redisReader* r) const { redisReaderFree(r); }
  };

  Impl(const RedisOptions& options, asio::ssl::context* tls_context)
      : where("Redis at " + RedisHostPort(options.endpoint)),
        io_timeout(options.io_timeout),
        tls_context(tls_context),
        resolver(io),
        socket(io),
        reader(redisReaderCreate()) {}

  // Runs the context until `done` or `deadline`. On the deadline, closes the
  // socket (and cancels a resolve), lets the aborted operation finish, and
  // returns false.
  bool RunUntil(const bool& done, SteadyClock::time_point deadline) {
    while (!done) {
      const SteadyClock::time_point now = SteadyClock::now();
      if (now >= deadline) break;
      io.restart();
      io.run_one_for(deadline - now);
    }
    if (done) return true;
    resolver.cancel();
    boost::system::error_code ignored;
    Lowest().close(ignored);
    io.restart();
    io.run();
    return false;
  }

  // Starts one operation with `start(handler)` and waits for it: an error
  // naming `step` when it fails or is not done by `deadline`. Any failure
  // makes the connection unusable.
  template <typename Start>
  Status Step(const char* step, SteadyClock::time_point deadline, Start start) {
    bool done = false;
    boost::system::error_code ec;
    start([&](const boost::system::error_code& e, auto&&...) {
      ec = e;
      done = true;
    });
    if (!RunUntil(done, deadline)) {
      usable = false;
      return Error::DeadlineExceeded(where + ": " + step + ": no answer in time");
    }
    if (ec) {
      usable = false;
      std::string what = ec.message();
      if (tls && step == std::string_view(kHandshake)) {
        what = http_client::DescribeHandshakeError(ec, tls->native_handle());
      }
      return Error::Unavailable(where + ": " + step + ": " + what);
    }
    return {};
  }

  // Calls `f` with the stream commands travel on: TLS or plain TCP.
  template <typename F>
  void WithStream(F&& f) {
    if (tls) {
      f(*tls);
    } else {
      f(socket);
    }
  }

  tcp::socket& Lowest() { return tls ? tls->next_layer() : socket; }

  Status Connect(const RedisEndpoint& endpoint, SteadyClock::time_point deadline) {
    tcp::resolver::results_type addresses;
    bool resolved = false;
    boost::system::error_code resolve_error;
    resolver.async_resolve(endpoint.host, std::to_string(endpoint.port),
                           [&](const boost::system::error_code& e, tcp::resolver::results_type r) {
                             resolve_error = e;
                             addresses = std::move(r);
                             resolved = true;
                           });
    if (!RunUntil(resolved, deadline)) {
      usable = false;
      return Error::DeadlineExceeded(where + ": resolve: no answer in time");
    }
    if (resolve_error) {
      usable = false;
      return Error::Unavailable(where + ": resolve: " + resolve_error.message());
    }
    if (Status s = Step("connect", deadline,
                        [&](auto handler) { asio::async_connect(socket, addresses, handler); });
        !s.ok()) {
      return s;
    }
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    if (tls_context == nullptr) return {};
    tls.emplace(std::move(socket), *tls_context);
    http_client::ExpectPeerName(tls->native_handle(), endpoint.host);
    return Step(kHandshake, deadline, [&](auto handler) {
      tls->async_handshake(asio::ssl::stream_base::client, handler);
    });
  }

  Result<std::vector<RedisReply>> Exchange(std::span<const RedisCommand> commands) {
    if (!usable) return Error::Unavailable(where + ": the connection broke earlier");
    const SteadyClock::time_point deadline = SteadyClock::now() + io_timeout;
    std::string& out = write_buffer;
    out.clear();
    for (const RedisCommand& command : commands) {
      if (!AppendCommand(command, out)) {
        usable = false;
        return Error::Internal(where + ": out of memory formatting a command");
      }
    }
    if (Status s = Step("write", deadline,
                        [&](auto handler) {
                          WithStream([&](auto& stream) {
                            asio::async_write(stream, asio::buffer(out), handler);
                          });
                        });
        !s.ok()) {
      return s.error();
    }
    if (out.capacity() > kKeptWriteBuffer) std::string().swap(out);
    std::vector<RedisReply> replies;
    replies.reserve(commands.size());
    while (replies.size() < commands.size()) {
      void* raw = nullptr;
      if (redisReaderGetReply(reader.get(), &raw) != REDIS_OK) {
        usable = false;
        return Error::Unavailable(where + ": not a Redis reply: " + reader->errstr);
      }
      if (raw != nullptr) {
        replies.push_back(Convert(*static_cast<redisReply*>(raw)));
        freeReplyObject(raw);
        continue;
      }
      std::size_t got = 0;
      if (Status s = Step("read", deadline,
                          [&](auto handler) {
                            WithStream([&](auto& stream) {
                              stream.async_read_some(
                                  asio::buffer(buffer),
                                  [&got, handler](const boost::system::error_code& e,
                                                  std::size_t n) mutable {
                                    got = n;
                                    handler(e);
                                  });
                            });
                          });
          !s.ok()) {
        return s.error();
      }
      if (redisReaderFeed(reader.get(), buffer.data(), got) != REDIS_OK) {
        usable = false;
        return Error::Internal(where + ": out of memory reading a reply");
      }
    }
    return replies;
  }

  static constexpr char kHandshake[] = "TLS handshake";

  const std::string where;  // "Redis at host:port", for errors
  const std::chrono::milliseconds io_timeout;
  asio::ssl::context* const tls_context;  // null: plain TCP

  asio::io_context io;
  tcp::resolver resolver;
  tcp::socket socket;                                 // plain TCP, until moved into tls
  std::optional<asio::ssl::stream<tcp::socket>> tls;  // after a TLS connect
  const std::unique_ptr<redisReader, ReaderDeleter> reader;
  std::array<char, kReadChunk> buffer{};
  std::string write_buffer;  // RESP of the pipeline being sent
  bool usable = true;
};

RedisConnection::RedisConnection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RedisConnection::~RedisConnection() = default;

bool RedisConnection::usable() const { return impl_->usable; }

Result<std::vector<RedisReply>> RedisConnection::Exchange(std::span<const RedisCommand> commands) {
  return impl_->Exchange(commands);
}

Result<std::unique_ptr<RedisConnection>> RedisConnection::Open(const RedisOptions& options,
                                                               asio::ssl::context* tls) {
  auto impl = std::make_unique<Impl>(options, tls);
  if (impl->reader == nullptr) return Error::Internal(impl->where + ": out of memory");
  const SteadyClock::time_point deadline = SteadyClock::now() + options.connect_timeout;
  if (Status s = impl->Connect(options.endpoint, deadline); !s.ok()) return s.error();
  std::unique_ptr<RedisConnection> connection(new RedisConnection(std::move(impl)));
  std::vector<RedisCommand> setup;
  const RedisEndpoint& e = options.endpoint;
  if (!e.password.empty()) {
    setup.push_back(e.user.empty() ? RedisCommand{"AUTH", e.password}
                                   : RedisCommand{"AUTH", e.user, e.password});
  }
  if (e.database != 0) setup.push_back({"SELECT", std::to_string(e.database)});
  if (setup.empty()) return connection;
  Result<std::vector<RedisReply>> replies = connection->Exchange(setup);
  if (!replies.ok()) return replies.error();
  for (const RedisReply& r : *replies) {
    // Redis's error text (WRONGPASS ..., ERR DB index ...) holds no secret.
    if (r.is_error()) {
      return Error::Rejected(connection->impl_->where + " refused the login: " + r.text);
    }
  }
  return connection;
}

}  // namespace headcount
