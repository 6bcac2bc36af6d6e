// HttpServer on Boost.Beast, after Beast's advanced server example: a listener
// accepting on its strand, one Session per connection on its own strand.
// This is the only file that compiles Beast (it is slow to build).
#include "server/http_server.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <climits>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

namespace headcount {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

constexpr std::string_view kServerName = "headcount";
// After a response that closes the connection, the server stops sending and
// reads (and drops) what the client still sends for up to this long, so that
// our close does not turn into a TCP reset that destroys the response before
// the client has read it (e.g. after a 413 with the body still arriving).
constexpr std::chrono::seconds kLingerTimeout{2};
constexpr std::size_t kMaxLingerBytes = std::size_t{1024} * 1024;
// Bytes read at a time while waiting for the next request or lingering.
constexpr std::size_t kReadChunkBytes = 4096;
// Pause before accepting again after accept failed (e.g. out of file
// descriptors), so the accept loop does not spin.
constexpr std::chrono::milliseconds kAcceptRetryDelay{100};
constexpr int kMinStatus = 100;
constexpr int kMaxStatus = 999;

// Counts open connections, in total and per peer address. Thread-safe.
class ConnectionCounter {
 public:
  ConnectionCounter(std::size_t max_total, std::size_t max_per_client)
      : max_total_(max_total), max_per_client_(max_per_client) {}

  // Takes a slot for a connection from `client`; false when a limit is reached.
  bool TryAcquire(const std::string& client) {
    std::lock_guard lock(mu_);
    if (total_ >= max_total_) return false;
    std::size_t& mine = per_client_[client];
    if (mine >= max_per_client_) {
      if (mine == 0) per_client_.erase(client);
      return false;
    }
    ++mine;
    ++total_;
    return true;
  }

  // Gives back a slot taken by TryAcquire(client).
  void Release(const std::string& client) {
    std::lock_guard lock(mu_);
    const auto it = per_client_.find(client);
    if (it == per_client_.end()) return;
    --total_;
    if (--it->second == 0) per_client_.erase(it);
  }

 private:
  const std::size_t max_total_;
  const std::size_t max_per_client_;

  // Guarded by mu_.
  std::mutex mu_;
  std::size_t total_ = 0;
  std::map<std::string, std::size_t> per_client_;
};

// What every session shares; owned by HttpServer::Impl, outlives the sessions.
struct ServerContext {
  HttpServerOptions options;
  HttpHandler handler;
  HttpObserver observer;
  ConnectionCounter counter;
};

// The peer's address as text; IPv4 clients of an IPv6 socket as plain IPv4.
std::string ClientAddress(const tcp::endpoint& peer) {
  const net::ip::address address = peer.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return net::ip::make_address_v4(net::ip::v4_mapped, address.to_v6()).to_string();
  }
  return address.to_string();
}

// "127.0.0.1:8080", "[::1]:8080".
std::string HostPort(const std::string& address, std::uint16_t port) {
  if (address.find(':') != std::string::npos) return "[" + address + "]:" + std::to_string(port);
  return address + ":" + std::to_string(port);
}

std::string LowerCase(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Headers that frame the message: the server sets them, a handler may not.
bool IsFramingHeader(std::string_view name) {
  const std::string lower = LowerCase(name);
  return lower == "content-length" || lower == "transfer-encoding" || lower == "connection";
}

template <class Body>
void SetHeaders(http::response<Body>& message, const HttpResponse& response, bool keep_alive) {
  message.set(http::field::server, kServerName);
  message.set("X-Content-Type-Options", "nosniff");
  message.set(http::field::content_type, response.content_type);
  for (const auto& [name, value] : response.headers) {
    // A CR or LF would let a value start a header (or a body) of its own.
    if (IsFramingHeader(name) || name.find_first_of("\r\n:") != std::string::npos ||
        value.find_first_of("\r\n") != std::string::npos) {
      spdlog::error("http: dropped response header '{}' (reserved or has CR/LF)", name);
      continue;
    }
    message.insert(name, value);
  }
  message.keep_alive(keep_alive);
}

// 1xx, 204 and 304 responses carry neither a body nor a Content-Length (RFC 9110).
bool StatusHasBody(int status) { return status >= 200 && status != 204 && status != 304; }

// Bytes read from a file at a time when sending it.
constexpr std::size_t kFileChunkBytes = std::size_t{64} * 1024;

// http::file_body with kFileChunkBytes reads instead of its fixed 4 KiB: each
// chunk costs one read and one socket write, so a 1 MB segment costs 16 of
// each rather than 256. The buffer exists only while the file is sent.
struct FileBody {
  using value_type = http::file_body::value_type;
  static std::uint64_t size(const value_type& body) { return body.size(); }

  class writer {  // NOLINT(readability-identifier-naming): the name Beast requires
   public:
    using const_buffers_type = net::const_buffer;

    template <bool kIsRequest, class Fields>
    writer(http::header<kIsRequest, Fields>& /*header*/, value_type& body)
        : body_(body), remain_(body.size()) {}

    void init(beast::error_code& ec) { ec = {}; }

    boost::optional<std::pair<const_buffers_type, bool>> get(beast::error_code& ec) {
      const auto amount =
          static_cast<std::size_t>(std::min<std::uint64_t>(remain_, kFileChunkBytes));
      if (amount == 0) {
        ec = {};
        return boost::none;
      }
      if (!buffer_) buffer_.reset(new char[kFileChunkBytes]);  // NOLINT: uninitialized on purpose
      const std::size_t got = body_.file().read(buffer_.get(), amount, ec);
      if (ec) return boost::none;
      if (got == 0) {  // the file shrank under us
        ec = http::error::short_read;
        return boost::none;
      }
      remain_ -= got;
      return {{const_buffers_type(buffer_.get(), got), remain_ > 0}};
    }

   private:
    value_type& body_;
    std::uint64_t remain_;
    std::unique_ptr<char[]> buffer_;
  };
};

// A response ready to send, and what the access log says about it.
struct Outgoing {
  std::optional<http::message_generator> message;
  int status = 0;
  std::uint64_t body_bytes = 0;
};

// Headers only, announcing `length` body bytes (the answer to HEAD).
Outgoing HeadersOnly(const HttpResponse& response, unsigned version, bool keep_alive,
                     std::uint64_t length) {
  http::response<http::empty_body> message{http::status::ok, version};
  message.result(static_cast<unsigned>(response.status));
  SetHeaders(message, response, keep_alive);
  if (StatusHasBody(response.status)) message.content_length(length);
  return {http::message_generator(std::move(message)), response.status, 0};
}

// Turns a handler's response into a Beast message. A file that is gone (or
// not a regular file) becomes 404; one that cannot be opened, 500.
Outgoing BuildMessage(HttpResponse response, unsigned version, bool keep_alive, bool head) {
  if (response.status < kMinStatus || response.status > kMaxStatus) {
    spdlog::error("http: handler returned invalid status {}", response.status);
    response = HttpResponse::Error(500, "internal error");
  }
  if (!StatusHasBody(response.status)) {
    response.body.clear();
    response.file.reset();
  }
  if (response.file) {
    std::error_code fs_error;
    if (!std::filesystem::is_regular_file(*response.file, fs_error)) {
      return BuildMessage(HttpResponse::Error(404, "not found"), version, keep_alive, head);
    }
    http::file_body::value_type file;
    beast::error_code ec;
    file.open(response.file->c_str(), beast::file_mode::scan, ec);
    if (ec == beast::errc::no_such_file_or_directory) {
      return BuildMessage(HttpResponse::Error(404, "not found"), version, keep_alive, head);
    }
    if (ec) {
      spdlog::error("http: cannot open {}: {}", response.file->string(), ec.message());
      return BuildMessage(HttpResponse::Error(500, "internal error"), version, keep_alive, head);
    }
    const std::uint64_t size = file.size();
    if (head) return HeadersOnly(response, version, keep_alive, size);
    http::response<FileBody> message{std::piecewise_construct, std::make_tuple(std::move(file)),
                                     std::make_tuple(http::status::ok, version)};
    message.result(static_cast<unsigned>(response.status));
    SetHeaders(message, response, keep_alive);
    message.content_length(size);
    return {http::message_generator(std::move(message)), response.status, size};
  }
  if (head) return HeadersOnly(response, version, keep_alive, response.body.size());
  const std::uint64_t size = response.body.size();
  http::response<http::string_body> message{http::status::ok, version};
  message.result(static_cast<unsigned>(response.status));
  SetHeaders(message, response, keep_alive);
  message.body() = std::move(response.body);
  if (StatusHasBody(response.status)) message.content_length(size);
  return {http::message_generator(std::move(message)), response.status, size};
}

// One connection: reads a request, answers it, and repeats while keep-alive
// holds. Every step runs on the connection's strand; only one operation is
// outstanding at a time, so members need no lock.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, ServerContext& context, std::string client)
      : stream_(std::move(socket)),
        context_(context),
        options_(context.options),
        client_(std::move(client)),
        buffer_(options_.max_header_bytes + options_.max_body_bytes + kReadChunkBytes) {}

  ~Session() { context_.counter.Release(client_); }

  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void Run() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&Session::ReadRequest, shared_from_this()));
  }

 private:
  // On a kept-alive connection: waits up to idle_timeout for the first byte
  // of the next request, then reads it with the (shorter) read_timeout.
  void AwaitNextRequest() {
    if (buffer_.size() > 0) return ReadRequest();  // pipelined bytes are already here
    stream_.expires_after(options_.idle_timeout);
    stream_.async_read_some(buffer_.prepare(kReadChunkBytes),
                            beast::bind_front_handler(&Session::OnIdleRead, shared_from_this()));
  }

  void OnIdleRead(beast::error_code ec, std::size_t bytes) {
    if (ec) return Close();  // idle timeout, client closed, or stopping
    buffer_.commit(bytes);
    ReadRequest();
  }

  // Reads one request with a fresh parser and limits. The deadline covers the
  // whole request, so a client trickling bytes cannot hold the connection.
  void ReadRequest() {
    parser_.emplace();
    parser_->header_limit(
        static_cast<std::uint32_t>(std::min<std::size_t>(options_.max_header_bytes, UINT32_MAX)));
    parser_->body_limit(options_.max_body_bytes);
    stream_.expires_after(options_.read_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::OnHeader, shared_from_this()));
  }

  void OnHeader(beast::error_code ec, std::size_t /*bytes*/) {
    if (ec) return OnReadError(ec);
    if (parser_->get().target().size() > options_.max_target_bytes) {
      return SendError(414, "request target too long");
    }
    if (parser_->is_done()) return Handle();
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnBody, shared_from_this()));
  }

  void OnBody(beast::error_code ec, std::size_t /*bytes*/) {
    if (ec) return OnReadError(ec);
    Handle();
  }

  void OnReadError(beast::error_code ec) {
    if (ec == http::error::header_limit) {
      if (OverflowIsLongTarget()) return SendError(414, "request target too long");
      return SendError(431, "request header fields too large");
    }
    if (ec == http::error::body_limit) return SendError(413, "request body too large");
    if (ec == http::error::buffer_overflow) return SendError(431, "request too large");
    const bool malformed =
        ec.category() == http::make_error_code(http::error::bad_target).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message;
    if (malformed) return SendError(400, "bad request");
    // The client went away, was too slow (timeout), or we are stopping.
    if (ec == beast::error::timeout) spdlog::debug("http: {} timed out reading", client_);
    Close();
  }

  // After header_limit: true if the request line never completed (Beast
  // stores the target once its line is parsed; only a huge target makes the
  // line alone overflow) or its target is too long; then 414 fits, not 431.
  bool OverflowIsLongTarget() const {
    const std::string_view target = parser_->get().target();
    return target.empty() || target.size() > options_.max_target_bytes;
  }

  void Handle() {
    http::request<http::string_body> message = parser_->release();
    started_ = SteadyClock::now();
    const std::string_view target = message.target();
    exchange_ = {};
    exchange_.method = std::string(message.method_string());
    log_path_ = std::string(target.substr(0, target.find('?')));
    const bool keep_alive = message.keep_alive();
    const bool head = message.method() == http::verb::head;

    HttpResponse response;
    auto parsed = ParseTarget(target);
    if (!parsed.ok()) {
      response = HttpResponse::Error(400, parsed.error().message());
    } else {
      HttpRequest request;
      request.method = exchange_.method;
      request.target = std::string(target);
      request.path = std::move(parsed->path);
      request.query = std::move(parsed->query);
      for (const auto& field : message) {
        auto [it, inserted] =
            request.headers.emplace(LowerCase(field.name_string()), std::string(field.value()));
        if (!inserted) (it->second += ", ") += field.value();  // RFC 9110 5.3
      }
      request.client_address = client_;
      request.body = std::move(message.body());
      exchange_.path = request.path;
      try {
        response = context_.handler(request);
      } catch (const std::exception& e) {
        spdlog::error("http: handler failed on {} {}: {}", exchange_.method, log_path_, e.what());
        response = HttpResponse::Error(500, "internal error");
      } catch (...) {
        spdlog::error("http: handler failed on {} {}: unknown exception", exchange_.method,
                      log_path_);
        response = HttpResponse::Error(500, "internal error");
      }
    }
    Send(BuildMessage(std::move(response), message.version(), keep_alive, head), keep_alive);
  }

  // Answers a request the server refuses itself, then closes the connection.
  void SendError(int status, std::string_view message) {
    started_ = SteadyClock::now();
    exchange_ = {};
    log_path_.clear();
    unsigned version = 11;
    bool head = false;
    if (parser_ && parser_->is_header_done()) {
      exchange_.method = std::string(parser_->get().method_string());
      const std::string_view target = parser_->get().target();
      log_path_ = std::string(target.substr(0, std::min(target.find('?'), kMaxLoggedPath)));
      version = parser_->get().version();
      head = parser_->get().method() == http::verb::head;
    }
    Send(BuildMessage(HttpResponse::Error(status, message), version, false, head), false);
  }

  void Send(Outgoing outgoing, bool keep_alive) {
    exchange_.status = outgoing.status;
    exchange_.body_bytes = outgoing.body_bytes;
    stream_.expires_after(options_.write_timeout);
    beast::async_write(
        stream_, std::move(*outgoing.message),
        beast::bind_front_handler(&Session::OnWrite, shared_from_this(), keep_alive));
  }

  void OnWrite(bool keep_alive, beast::error_code ec, std::size_t /*bytes*/) {
    exchange_.duration =
        std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - started_);
    // Never the query string: it carries session ids.
    spdlog::debug(
        "http: {} {} {} {} {}B {}ms{}", client_, exchange_.method.empty() ? "-" : exchange_.method,
        log_path_.empty() ? "-" : log_path_, exchange_.status, exchange_.body_bytes,
        exchange_.duration.count() / 1000, ec ? " (write failed: " + ec.message() + ")" : "");
    if (context_.observer) context_.observer(exchange_);
    if (ec) return Close();
    if (!keep_alive) return LingerThenClose();
    AwaitNextRequest();
  }

  void LingerThenClose() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return Close();
    stream_.expires_after(kLingerTimeout);
    Drain();
  }

  void Drain() {
    buffer_.consume(buffer_.size());
    stream_.async_read_some(buffer_.prepare(kReadChunkBytes),
                            beast::bind_front_handler(&Session::OnDrain, shared_from_this()));
  }

  void OnDrain(beast::error_code ec, std::size_t bytes) {
    lingered_bytes_ += bytes;
    if (ec || lingered_bytes_ >= kMaxLingerBytes) return Close();
    Drain();
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

  // A target longer than this is cut in the access log.
  static constexpr std::size_t kMaxLoggedPath = 256;

  beast::tcp_stream stream_;
  ServerContext& context_;
  const HttpServerOptions& options_;
  const std::string client_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  // The exchange in flight (one at a time).
  HttpExchange exchange_;
  std::string log_path_;  // raw path, no query, for the access log
  SteadyClock::time_point started_;
  std::size_t lingered_bytes_ = 0;
};

// Accepts connections and starts a Session for each, on a strand of its own.
class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(net::io_context& ioc, tcp::acceptor&& acceptor, ServerContext& context)
      : ioc_(ioc),
        acceptor_(std::move(acceptor)),
        retry_timer_(acceptor_.get_executor()),
        context_(context) {}

  void Run() {
    net::dispatch(acceptor_.get_executor(),
                  beast::bind_front_handler(&Listener::Accept, shared_from_this()));
  }

  // Only while no I/O thread runs (HttpServer::Stop).
  void Close() {
    beast::error_code ec;
    acceptor_.close(ec);
    retry_timer_.cancel();
  }

 private:
  void Accept() {
    acceptor_.async_accept(net::make_strand(ioc_),
                           beast::bind_front_handler(&Listener::OnAccept, shared_from_this()));
  }

  void OnAccept(beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
      spdlog::warn("http: accept failed: {}", ec.message());
      retry_timer_.expires_after(kAcceptRetryDelay);
      retry_timer_.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
        if (!wait_ec) self->Accept();
      });
      return;
    }
    const tcp::endpoint peer = socket.remote_endpoint(ec);
    // Responses go out in a few writes (headers, then a file in chunks): with
    // Nagle's algorithm the last small write waits for the client's delayed
    // ACK, up to 40 ms per response on Linux. Serving without it is slower,
    // not wrong: its failure is ignored.
    beast::error_code no_delay_ec;
    socket.set_option(tcp::no_delay(true), no_delay_ec);
    if (!ec) {
      std::string client = ClientAddress(peer);
      if (context_.counter.TryAcquire(client)) {
        std::make_shared<Session>(std::move(socket), context_, std::move(client))->Run();
      } else {
        // Debug only: under a flood a line per refusal would flood the log too.
        spdlog::debug("http: connection limit reached, closing connection from {}", client);
        socket.close(ec);
      }
    }
    Accept();
  }

  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  net::steady_timer retry_timer_;
  ServerContext& context_;
};

}  // namespace

// Members are destroyed bottom-up: the io_context (and with it every pending
// handler, session and socket) goes before the context the sessions use.
struct HttpServer::Impl {
  Impl(const HttpServerOptions& options, const HttpHandler& handler, const HttpObserver& observer)
      : context{options, handler, observer,
                ConnectionCounter(options.max_connections, options.max_connections_per_client)} {}

  ServerContext context;
  std::optional<net::io_context> ioc;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::shared_ptr<Listener> listener;
  std::vector<std::thread> threads;
};

HttpServer::HttpServer(HttpServerOptions options, HttpHandler handler, HttpObserver observer)
    : options_(std::move(options)), handler_(std::move(handler)), observer_(std::move(observer)) {}

HttpServer::~HttpServer() { Stop(); }

std::uint16_t HttpServer::port() const { return port_.load(); }

Status HttpServer::Start() {
  std::lock_guard lock(mu_);
  if (impl_) return Error::Internal("HttpServer already started");
  if (options_.threads < 1) return Error::InvalidArgument("HttpServer needs at least one thread");
  if (!handler_) return Error::InvalidArgument("HttpServer needs a handler");

  auto impl = std::make_unique<Impl>(options_, handler_, observer_);
  const std::string where = HostPort(options_.address, options_.port);
  beast::error_code ec;
  const net::ip::address address = net::ip::make_address(options_.address, ec);
  if (ec) return Error::InvalidArgument("invalid listen address '" + options_.address + "'");
  const tcp::endpoint endpoint(address, options_.port);

  impl->ioc.emplace(options_.threads);
  tcp::acceptor acceptor(net::make_strand(*impl->ioc));
  if (acceptor.open(endpoint.protocol(), ec); ec) {
    return Error::Io("cannot listen on " + where + ": " + ec.message());
  }
  if (acceptor.set_option(net::socket_base::reuse_address(true), ec); ec) {
    return Error::Io("cannot listen on " + where + ": " + ec.message());
  }
  if (acceptor.bind(endpoint, ec); ec) {
    return Error::Io("cannot bind " + where + ": " + ec.message());
  }
  if (acceptor.listen(net::socket_base::max_listen_connections, ec); ec) {
    return Error::Io("cannot listen on " + where + ": " + ec.message());
  }
  const std::uint16_t bound_port = acceptor.local_endpoint(ec).port();
  if (ec) return Error::Io("cannot listen on " + where + ": " + ec.message());

  impl->listener = std::make_shared<Listener>(*impl->ioc, std::move(acceptor), impl->context);
  impl->listener->Run();
  impl->work.emplace(impl->ioc->get_executor());
  for (int i = 0; i < options_.threads; ++i) {
    impl->threads.emplace_back([ioc = &*impl->ioc] {
      // Handlers catch their own exceptions; this keeps the thread serving if
      // one escapes anyway (e.g. std::bad_alloc). run() returns after stop().
      for (;;) {
        try {
          ioc->run();
          return;
        } catch (const std::exception& e) {
          spdlog::error("http: I/O thread caught: {}", e.what());
        }
      }
    });
  }
  port_.store(bound_port);
  spdlog::info("http: listening on {}", HostPort(options_.address, bound_port));
  impl_ = std::move(impl);
  return Status();
}

void HttpServer::Stop() {
  std::lock_guard lock(mu_);
  if (!impl_) return;
  impl_->work.reset();
  impl_->ioc->stop();
  for (std::thread& t : impl_->threads) t.join();
  // No thread runs now: touching the acceptor from here is safe.
  impl_->listener->Close();
  impl_->listener.reset();
  // Destroying the io_context destroys every pending handler and with it the
  // sessions, which close their sockets.
  impl_->ioc.reset();
  impl_.reset();
  port_.store(0);
}

}  // namespace headcount
