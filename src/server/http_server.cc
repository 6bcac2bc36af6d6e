// HttpServer on Boost.Beast and Asio: one io_context per I/O thread, a
// listener handing connections out to them in turn, one Session per
// connection (Beast's parser reads requests; responses are written with
// sendmsg/sendfile). This is the only file that compiles Beast (it is slow to
// build).
#include "server/http_server.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "core/strings.h"

namespace headcount {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
// Each I/O thread runs an io_context of its own, and a connection lives on
// one of them for good: its handlers never run concurrently, so sessions need
// no strand, and the executor type is concrete (no type erasure).
using Executor = net::io_context::executor_type;
using Socket = net::basic_stream_socket<tcp, Executor>;
using Stream = beast::basic_stream<tcp, Executor, beast::unlimited_rate_policy>;
using Timer = net::basic_waitable_timer<std::chrono::steady_clock,
                                        net::wait_traits<std::chrono::steady_clock>, Executor>;
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
// At most this many bytes of a file per sendfile(2) call, so one large file
// does not hold an I/O thread while other connections wait.
constexpr std::size_t kMaxSendfileBytes = std::size_t{1024} * 1024;
// How many pipelined requests a connection answers one inside the other's
// call stack before it goes back to the I/O loop (see Session::FinishWrite).
constexpr int kMaxNestedRequests = 8;
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

// Headers that frame the message: the server sets them, a handler may not.
bool IsFramingHeader(std::string_view name) {
  const std::string lower = AsciiLower(name);
  return lower == "content-length" || lower == "transfer-encoding" || lower == "connection";
}

// A file descriptor, closed when this goes away.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { Reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// A response ready to send: the status line and headers formatted into one
// buffer, then the body, from memory or from a file.
struct Outgoing {
  std::string head;
  std::string body;  // sent right after head
  UniqueFd file;     // when valid: its first file_size bytes follow body
  std::uint64_t file_size = 0;
  // For the access log and metrics.
  int status = 0;
  std::uint64_t body_bytes = 0;
};

// 1xx, 204 and 304 responses carry neither a body nor a Content-Length (RFC 9110).
bool StatusHasBody(int status) { return status >= 200 && status != 204 && status != 304; }

bool HasLineBreak(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

// The status line and headers of `response` for a request of HTTP `version`
// (10 or 11), announcing `content_length` body bytes. The server's headers
// come first; a handler's header that would frame the message or carries a
// CR or LF (it could start a header or a body of its own) is dropped and
// logged.
std::string FormatHead(const HttpResponse& response, unsigned version, bool keep_alive,
                       std::uint64_t content_length) {
  std::string head;
  head.reserve(256);
  head += "HTTP/";
  head += static_cast<char>('0' + version / 10);
  head += '.';
  head += static_cast<char>('0' + version % 10);
  head += ' ';
  head += std::to_string(response.status);
  head += ' ';
  head += http::obsolete_reason(static_cast<http::status>(response.status));
  head += "\r\nServer: ";
  head += kServerName;
  head += "\r\nX-Content-Type-Options: nosniff\r\nContent-Type: ";
  if (HasLineBreak(response.content_type)) {
    spdlog::error("http: dropped response content type (has CR/LF)");
    head += "application/octet-stream";
  } else {
    head += response.content_type;
  }
  head += "\r\n";
  for (const auto& [name, value] : response.headers) {
    if (IsFramingHeader(name) || name.empty() || name.find_first_of("\r\n:") != std::string::npos ||
        HasLineBreak(value)) {
      spdlog::error("http: dropped response header '{}' (reserved or has CR/LF)", name);
      continue;
    }
    head += name;
    head += ": ";
    head += value;
    head += "\r\n";
  }
  if (StatusHasBody(response.status)) {
    head += "Content-Length: ";
    head += std::to_string(content_length);
    head += "\r\n";
  }
  // HTTP/1.1 keeps a connection open unless told, HTTP/1.0 closes it unless told.
  if (version >= 11 && !keep_alive) head += "Connection: close\r\n";
  if (version < 11 && keep_alive) head += "Connection: keep-alive\r\n";
  head += "\r\n";
  return head;
}

// Turns a handler's response into what goes on the wire. A file that is gone
// (or not a regular file) becomes 404; one that cannot be opened, 500.
Outgoing BuildMessage(HttpResponse response, unsigned version, bool keep_alive, bool head) {
  if (response.status < kMinStatus || response.status > kMaxStatus) {
    spdlog::error("http: handler returned invalid status {}", response.status);
    response = HttpResponse::Error(500, "internal error");
  }
  if (!StatusHasBody(response.status)) {
    response.body.clear();
    response.file.reset();
  }
  Outgoing out;
  out.status = response.status;
  if (response.file) {
    // O_NONBLOCK: opening a FIFO planted in the served folder must not block
    // the I/O thread; it is then refused as not a regular file.
    UniqueFd file(::open(response.file->c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    struct stat info {};
    if (!file.valid() && (errno == ENOENT || errno == ENOTDIR)) {
      return BuildMessage(HttpResponse::Error(404, "not found"), version, keep_alive, head);
    }
    if (!file.valid() || ::fstat(file.get(), &info) != 0) {
      spdlog::error("http: cannot open {}: {}", response.file->string(),
                    std::generic_category().message(errno));
      return BuildMessage(HttpResponse::Error(500, "internal error"), version, keep_alive, head);
    }
    if (!S_ISREG(info.st_mode)) {
      return BuildMessage(HttpResponse::Error(404, "not found"), version, keep_alive, head);
    }
    const auto size = static_cast<std::uint64_t>(info.st_size);
    out.head = FormatHead(response, version, keep_alive, size);
    if (!head) {
      out.file = std::move(file);
      out.file_size = size;
      out.body_bytes = size;
    }
    return out;
  }
  out.head = FormatHead(response, version, keep_alive, response.body.size());
  if (!head) {
    out.body_bytes = response.body.size();
    out.body = std::move(response.body);
  }
  return out;
}

// One connection: reads a request, answers it, and repeats while keep-alive
// holds. Every step runs on the connection's I/O thread; only one operation is
// outstanding at a time, so members need no lock.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Socket&& socket, ServerContext& context, std::string client)
      : stream_(std::move(socket)),
        write_timer_(stream_.get_executor()),
        context_(context),
        options_(context.options),
        client_(std::move(client)),
        buffer_(options_.max_header_bytes + options_.max_body_bytes + kReadChunkBytes) {}

  ~Session() { context_.counter.Release(client_); }

  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void Run() {
    // The response writer calls sendmsg/sendfile itself and waits for the
    // socket only when they would block.
    beast::error_code ec;
    stream_.socket().native_non_blocking(true, ec);
    if (ec) {
      spdlog::warn("http: cannot make the socket of {} non-blocking: {}", client_, ec.message());
      return Close();
    }
    net::dispatch(stream_.get_executor(),
                  [self = shared_from_this()] { self->StartRequest(/*first=*/true); });
  }

 private:
  // Starts reading the next request with a fresh parser and limits. The
  // first request of a connection must arrive within read_timeout; on a
  // kept-alive connection the client may stay idle up to idle_timeout before
  // its next request starts. From a request's first byte, the whole request
  // must arrive within read_timeout, so a client trickling bytes cannot hold
  // the connection.
  void StartRequest(bool first) {
    parser_.emplace();
    parser_->header_limit(
        static_cast<std::uint32_t>(std::min<std::size_t>(options_.max_header_bytes, UINT32_MAX)));
    parser_->body_limit(options_.max_body_bytes);
    reading_started_ = first || buffer_.size() > 0;
    read_deadline_set_ = false;
    ParseBuffered();
  }

  // Feeds what the buffer holds to the parser and answers the request once
  // it is complete. Bytes already received (a whole request usually comes in
  // one read, and pipelined requests wait in the buffer) are parsed here
  // without another trip through the I/O loop; only for missing bytes does
  // the session read from the socket.
  void ParseBuffered() {
    while (buffer_.size() > 0 && !parser_->is_done()) {
      const bool had_header = parser_->is_header_done();
      beast::error_code ec;
      const std::size_t used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec == http::error::need_more) break;
      if (ec) return OnReadError(ec);
      if (!had_header && parser_->is_header_done() &&
          parser_->get().target().size() > options_.max_target_bytes) {
        return SendError(414, "request target too long");
      }
      if (used == 0) break;
    }
    if (parser_->is_done()) return Handle();

    const std::size_t room = std::min(kReadChunkBytes, buffer_.max_size() - buffer_.size());
    if (room == 0) return OnReadError(http::error::buffer_overflow);
    // The stream's deadline applies to every read until it is set again.
    if (!reading_started_) {
      stream_.expires_after(options_.idle_timeout);
    } else if (!read_deadline_set_) {
      stream_.expires_after(options_.read_timeout);
      read_deadline_set_ = true;
    }
    stream_.async_read_some(buffer_.prepare(room),
                            beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, std::size_t bytes) {
    if (ec) {
      // Idle timeout, client closed between requests, or stopping.
      if (!reading_started_) return Close();
      return OnReadError(ec == net::error::eof ? beast::error_code(http::error::partial_message)
                                               : ec);
    }
    buffer_.commit(bytes);
    reading_started_ = true;
    ParseBuffered();
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
            request.headers.emplace(AsciiLower(field.name_string()), std::string(field.value()));
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

  // Sends `outgoing` straight from the socket: head and in-memory body in one
  // gather write, a file body with sendfile(2) (no copy through user space).
  // While the socket takes everything at once, as it does for most
  // responses, no timer or handler is involved; when it is full, the session
  // waits for it to drain, for at most write_timeout in all.
  void Send(Outgoing outgoing, bool keep_alive) {
    exchange_.status = outgoing.status;
    exchange_.body_bytes = outgoing.body_bytes;
    out_ = std::move(outgoing);
    keep_alive_ = keep_alive;
    head_sent_ = 0;
    body_sent_ = 0;
    file_sent_ = 0;
    write_timer_armed_ = false;
    write_timed_out_ = false;
    WriteSome();
  }

  void WriteSome() {
    const int fd = stream_.socket().native_handle();
    for (;;) {
      const bool file_left = out_.file.valid() && file_sent_ < out_.file_size;
      const std::size_t head_left = out_.head.size() - head_sent_;
      const std::size_t body_left = out_.body.size() - body_sent_;
      ssize_t sent = 0;
      if (head_left + body_left > 0) {
        std::array<iovec, 2> parts{};
        std::size_t count = 0;
        if (head_left > 0) parts[count++] = {out_.head.data() + head_sent_, head_left};
        if (body_left > 0) parts[count++] = {out_.body.data() + body_sent_, body_left};
        msghdr message{};
        message.msg_iov = parts.data();
        message.msg_iovlen = count;
        // MSG_MORE: the file follows, so the head waits to share its packet.
        sent = ::sendmsg(fd, &message, MSG_NOSIGNAL | (file_left ? MSG_MORE : 0));
        if (sent > 0) {
          const auto n = static_cast<std::size_t>(sent);
          const std::size_t from_head = std::min(n, head_left);
          head_sent_ += from_head;
          body_sent_ += n - from_head;
          continue;
        }
      } else if (file_left) {
        auto offset = static_cast<off_t>(file_sent_);
        const auto amount = static_cast<std::size_t>(
            std::min<std::uint64_t>(out_.file_size - file_sent_, kMaxSendfileBytes));
        sent = ::sendfile(fd, out_.file.get(), &offset, amount);
        if (sent == 0) return FinishWrite(http::error::short_read);  // the file shrank under us
        if (sent > 0) {
          file_sent_ = static_cast<std::uint64_t>(offset);
          continue;
        }
      } else {
        return FinishWrite({});
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return AwaitWritable();
      return FinishWrite(beast::error_code(errno, boost::system::system_category()));
    }
  }

  void AwaitWritable() {
    if (!write_timer_armed_) {
      write_timer_armed_ = true;
      write_timer_.expires_after(options_.write_timeout);
      write_timer_.async_wait(
          [self = shared_from_this(), response = responses_sent_](beast::error_code ec) {
            // Cancelled, or it fired as its response completed: too late to
            // cancel, it must not touch the next exchange on this connection.
            if (ec || response != self->responses_sent_) return;
            self->write_timed_out_ = true;
            beast::error_code ignored;
            self->stream_.socket().cancel(ignored);  // completes the wait below
          });
    }
    stream_.socket().async_wait(
        tcp::socket::wait_write,
        beast::bind_front_handler(&Session::OnWritable, shared_from_this()));
  }

  void OnWritable(beast::error_code ec) {
    if (write_timed_out_) return FinishWrite(beast::error::timeout);
    if (ec) return FinishWrite(ec);
    WriteSome();
  }

  // The response is out (or failed): logs it, then reads the next request,
  // lingers before closing, or closes.
  void FinishWrite(beast::error_code ec) {
    if (write_timer_armed_) write_timer_.cancel();
    write_timer_armed_ = false;
    ++responses_sent_;
    out_ = {};  // closes the file
    exchange_.duration =
        std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - started_);
    // Never the query string: it carries session ids.
    spdlog::debug(
        "http: {} {} {} {} {}B {}ms{}", client_, exchange_.method.empty() ? "-" : exchange_.method,
        log_path_.empty() ? "-" : log_path_, exchange_.status, exchange_.body_bytes,
        exchange_.duration.count() / 1000, ec ? " (write failed: " + ec.message() + ")" : "");
    if (context_.observer) context_.observer(exchange_);
    if (ec) return Close();
    if (!keep_alive_) return LingerThenClose();
    // A response that went out at once returns here before the stack of the
    // request that made it unwinds. Pipelined requests waiting in the buffer
    // would nest one request deeper each; past a few, the next one starts
    // from the I/O loop on a fresh stack.
    if (nested_requests_ >= kMaxNestedRequests) {
      return net::post(stream_.get_executor(),
                       [self = shared_from_this()] { self->StartRequest(/*first=*/false); });
    }
    ++nested_requests_;
    StartRequest(/*first=*/false);
    --nested_requests_;
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

  Stream stream_;
  Timer write_timer_;
  ServerContext& context_;
  const HttpServerOptions& options_;
  const std::string client_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  // Whether the request being read has started (its first byte is here, or
  // it is the connection's first): read_timeout applies, not idle_timeout.
  bool reading_started_ = false;
  bool read_deadline_set_ = false;  // read_timeout counts for this request
  // The exchange in flight (one at a time).
  HttpExchange exchange_;
  std::string log_path_;  // raw path, no query, for the access log
  SteadyClock::time_point started_;
  std::size_t lingered_bytes_ = 0;
  // The response being written (Send to FinishWrite).
  Outgoing out_;
  bool keep_alive_ = false;
  std::size_t head_sent_ = 0;
  std::size_t body_sent_ = 0;
  std::uint64_t file_sent_ = 0;
  bool write_timer_armed_ = false;
  bool write_timed_out_ = false;
  std::uint64_t responses_sent_ = 0;  // tells a stale write timer from the current one
  // Requests started from inside the handling of an earlier one (FinishWrite).
  int nested_requests_ = 0;
};

// Accepts connections on the first I/O context and hands them out to all of
// them in turn; a Session runs on the context its socket was accepted for.
class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(std::vector<net::io_context*> contexts, tcp::acceptor&& acceptor, ServerContext& context)
      : contexts_(std::move(contexts)),
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
    net::io_context& target = *contexts_[next_context_];
    next_context_ = (next_context_ + 1) % contexts_.size();
    acceptor_.async_accept(target,
                           beast::bind_front_handler(&Listener::OnAccept, shared_from_this()));
  }

  void OnAccept(beast::error_code ec, Socket socket) {
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
    // A response whose head and body go out in separate writes (a file after
    // its head) would otherwise wait for the client's delayed ACK under
    // Nagle's algorithm, up to 40 ms on Linux. Serving without it is slower,
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

  const std::vector<net::io_context*> contexts_;
  std::size_t next_context_ = 0;
  tcp::acceptor acceptor_;
  net::steady_timer retry_timer_;
  ServerContext& context_;
};

}  // namespace

// Stop() destroys the io_contexts (and with them every pending handler,
// session and socket) before the context the sessions use.
struct HttpServer::Impl {
  Impl(const HttpServerOptions& options, const HttpHandler& handler, const HttpObserver& observer)
      : context{options, handler, observer,
                ConnectionCounter(options.max_connections, options.max_connections_per_client)} {}

  ServerContext context;
  // One per I/O thread; the first also runs the listener.
  std::vector<std::unique_ptr<net::io_context>> contexts;
  std::vector<net::executor_work_guard<Executor>> work;
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

  std::vector<net::io_context*> contexts;
  for (int i = 0; i < options_.threads; ++i) {
    // 1: run by one thread, which lets Asio skip some locking.
    impl->contexts.push_back(std::make_unique<net::io_context>(1));
    contexts.push_back(impl->contexts.back().get());
  }
  tcp::acceptor acceptor(*contexts.front());
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

  impl->listener = std::make_shared<Listener>(contexts, std::move(acceptor), impl->context);
  impl->listener->Run();
  for (net::io_context* ioc : contexts) {
    impl->work.push_back(net::make_work_guard(*ioc));
    impl->threads.emplace_back([ioc] {
      // sendfile(2) to a connection the client closed raises SIGPIPE, which
      // would end the process; blocked here, the call fails with EPIPE
      // instead (sendmsg is told MSG_NOSIGNAL).
      sigset_t pipe;
      sigemptyset(&pipe);
      sigaddset(&pipe, SIGPIPE);
      pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
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
  impl_->work.clear();
  for (const auto& ioc : impl_->contexts) ioc->stop();
  for (std::thread& t : impl_->threads) t.join();
  // No thread runs now: touching the acceptor from here is safe.
  impl_->listener->Close();
  impl_->listener.reset();
  // Destroying an io_context destroys its pending handlers and with them the
  // sessions, which close their sockets. The first goes first: a pending
  // accept there holds a socket made for another context.
  for (auto& ioc : impl_->contexts) ioc.reset();
  impl_.reset();
  port_.store(0);
}

}  // namespace headcount
