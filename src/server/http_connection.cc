// HttpServer's connections (see http_connection.h): one Session per
// connection reads requests with Beast's parser, in place from its buffer,
// hands each to the handler and sends the answer with the ResponseWriter;
// a streamed answer (HttpResponse::stream) is sent as it is written, until
// it ends. Everything of a session runs on its connection's I/O thread; only
// its ResponseSlot and its HttpStream's wake-up are reached from other
// threads (a handler answering later, a producer writing).
#include "server/http_connection.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <chrono>
#include <climits>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>

#include "core/strings.h"
#include "server/http_stream.h"
#include "server/http_writer.h"
#include "server/response_slot.h"

namespace headcount::http_internal {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Stream = beast::basic_stream<tcp, Executor, beast::unlimited_rate_policy>;
using Timer = net::basic_waitable_timer<std::chrono::steady_clock,
                                        net::wait_traits<std::chrono::steady_clock>, Executor>;
using SteadyClock = std::chrono::steady_clock;

// After a response that closes the connection, the server stops sending and
// reads (and drops) what the client still sends for up to this long, so that
// our close does not turn into a TCP reset that destroys the response before
// the client has read it (e.g. after a 413 with the body still arriving).
constexpr std::chrono::seconds kLingerTimeout{2};
constexpr std::size_t kMaxLingerBytes = std::size_t{1024} * 1024;
// Bytes read at a time while waiting for the next request or lingering.
constexpr std::size_t kReadChunkBytes = 4096;
// How many pipelined requests a connection answers one inside the other's
// call stack before it goes back to the I/O loop (see Session::FinishWrite).
constexpr int kMaxNestedRequests = 8;

// One connection: reads a request, answers it, and repeats while keep-alive
// holds. Every step runs on the connection's I/O thread; only one operation is
// outstanding at a time, so members need no lock.
class Session final : public LateResponseTarget, public std::enable_shared_from_this<Session> {
 public:
  Session(Socket&& socket, ServerContext& context, std::string client)
      : stream_(std::move(socket)),
        write_timer_(stream_.get_executor()),
        response_timer_(stream_.get_executor()),
        idle_timer_(stream_.get_executor()),
        context_(context),
        options_(context.options),
        client_(std::move(client)),
        buffer_(options_.max_header_bytes + options_.max_body_bytes + kReadChunkBytes) {}

  ~Session() override {
    if (slot_) slot_->Close();            // a handler answering later finds nobody
    if (streaming_) streaming_->Abort();  // its producer finds nobody
    context_.counter.Release(client_);
  }

  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void Run() {
    slot_ = std::make_shared<ResponseSlot>(weak_from_this(), stream_.get_executor(), context_.gate);
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

  // The answer to request `ticket`, which the handler gave later (its
  // ResponseSlot claimed it and posted it here).
  void OnLateResponse(std::uint64_t ticket, HttpResponse response) override {
    if (ticket != ticket_ || !awaiting_) return;
    response_timer_.cancel();
    SendAwaited(std::move(response));
  }

 private:
  // How a request that is answered later is to be answered.
  struct Awaited {
    unsigned version = 11;
    bool keep_alive = false;
    bool head = false;
  };

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

    std::optional<HttpResponse> response;
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
      request.client_address =
          options_.client_address ? options_.client_address(client_, request) : client_;
      request.body = std::move(message.body());
      exchange_.path = request.path;
      response = CallHandler(request);
    }
    if (!response) return AwaitResponse({message.version(), keep_alive, head});
    Send(BuildMessage(std::move(*response), message.version(), keep_alive, head), keep_alive);
  }

  // Calls the handler with a responder for this request: its response if
  // it answered before returning (500 if it threw), nullopt if it will
  // answer later.
  std::optional<HttpResponse> CallHandler(const HttpRequest& request) {
    ticket_ = slot_->Open();
    const ResponseSlot::InlineScope answers_here(*slot_);
    try {
      context_.handler(request, HttpResponder(slot_, ticket_));
    } catch (const std::exception& e) {
      spdlog::error("http: handler failed on {} {}: {}", exchange_.method, log_path_, e.what());
      if (slot_->Claim(ticket_)) return HttpResponse::Error(500, "internal error");
    } catch (...) {
      spdlog::error("http: handler failed on {} {}: unknown exception", exchange_.method,
                    log_path_);
      if (slot_->Claim(ticket_)) return HttpResponse::Error(500, "internal error");
    }
    return slot_->TakeImmediate();
  }

  // Waits for the handler's later answer, up to response_timeout; the timer
  // also keeps the session alive meanwhile (nothing else is pending on the
  // connection: the next pipelined request is read after this answer).
  void AwaitResponse(Awaited awaited) {
    awaiting_ = awaited;
    response_timer_.expires_after(options_.response_timeout);
    response_timer_.async_wait([self = shared_from_this(), ticket = ticket_](beast::error_code ec) {
      // Cancelled: the answer came. Not claimed: it is on its way here.
      if (ec || !self->slot_->Claim(ticket)) return;
      spdlog::warn("http: no answer to {} {} from {} within {} s, answering 503",
                   self->exchange_.method, self->log_path_, self->client_,
                   self->options_.response_timeout.count());
      self->SendAwaited(HttpResponse::Error(503, "the server took too long to answer"));
    });
  }

  void SendAwaited(HttpResponse response) {
    const Awaited awaited = *awaiting_;
    awaiting_.reset();
    Send(BuildMessage(std::move(response), awaited.version, awaited.keep_alive, awaited.head),
         awaited.keep_alive);
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

  // Sends `outgoing` (see ResponseWriter). While the socket takes
  // everything at once, as it does for most responses, no timer or handler
  // is involved; when it is full, the session waits for it to drain, for at
  // most write_timeout in all.
  void Send(Outgoing outgoing, bool keep_alive) {
    exchange_.status = outgoing.status;
    exchange_.body_bytes = outgoing.body_bytes;
    stream_after_head_ = std::move(outgoing.stream);
    keep_alive_ = keep_alive && !outgoing.closes;
    writer_.Start(std::move(outgoing));
    write_timer_armed_ = false;
    write_timed_out_ = false;
    WriteSome();
  }

  void WriteSome() {
    beast::error_code ec;
    switch (writer_.WriteSome(stream_.socket().native_handle(), ec)) {
      case ResponseWriter::Progress::kDone:
        return WriteDone({});
      case ResponseWriter::Progress::kWouldBlock:
        return AwaitWritable();
      case ResponseWriter::Progress::kFailed:
        return WriteDone(ec);
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
    if (write_timed_out_) return WriteDone(beast::error::timeout);
    if (ec) return WriteDone(ec);
    WriteSome();
  }

  // What was being written is out (or failed): a response, or a chunk of
  // the stream that follows one.
  void WriteDone(beast::error_code ec) {
    if (streamed_) return OnStreamWritten(ec);
    FinishWrite(ec);
  }

  // The response is out (or failed): logs it, then reads the next request,
  // lingers before closing, or closes.
  void FinishWrite(beast::error_code ec) {
    if (write_timer_armed_) write_timer_.cancel();
    write_timer_armed_ = false;
    ++responses_sent_;
    writer_.Reset();  // closes the file
    exchange_.duration =
        std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - started_);
    // Never the query string: it carries session ids.
    spdlog::debug(
        "http: {} {} {} {} {}B {}ms{}", client_, exchange_.method.empty() ? "-" : exchange_.method,
        log_path_.empty() ? "-" : log_path_, exchange_.status, exchange_.body_bytes,
        exchange_.duration.count() / 1000, ec ? " (write failed: " + ec.message() + ")" : "");
    if (context_.observer) context_.observer(exchange_);
    if (ec) return Close();
    if (stream_after_head_) return StartStreaming(std::exchange(stream_after_head_, nullptr));
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

  // The head of a streamed response is out: from now on the connection
  // sends what the producer writes (and the idle chunk when it writes
  // nothing), and ends when the producer ends the stream, the client leaves
  // or a chunk cannot be sent within write_timeout. No request is read any
  // more; a read only tells when the client leaves.
  void StartStreaming(std::shared_ptr<HttpStream> stream) {
    streaming_ = std::move(stream);
    streamed_ = true;
    stream_.expires_never();
    last_stream_write_ = SteadyClock::now();
    WatchStreamClient();
    ArmStreamIdle();
    // From the producer's thread: posted here through the gate, as a late answer is.
    streaming_->Attach(
        [weak = weak_from_this(), executor = stream_.get_executor(), gate = context_.gate] {
          gate->RunWhileOpen([&] {
            if (std::shared_ptr<Session> self = weak.lock()) {
              net::post(executor, [self = std::move(self)] { self->PumpStream(); });
            }
          });
        });
  }

  void WatchStreamClient() {
    buffer_.consume(buffer_.size());
    stream_.async_read_some(
        buffer_.prepare(kReadChunkBytes),
        [self = shared_from_this()](beast::error_code ec, std::size_t /*bytes*/) {
          if (!self->streaming_) return;
          if (ec) return self->EndStream();  // the client left (or we are stopping)
          self->WatchStreamClient();         // it sent something: dropped
        });
  }

  // Writes the idle chunk when nothing was written for the stream's idle
  // interval.
  void ArmStreamIdle() {
    const auto interval = streaming_->options().idle_interval;
    if (interval <= std::chrono::milliseconds::zero()) return;
    // From the last write; while a write is still under way (a slow client),
    // from now, so the timer never fires again and again meanwhile.
    const SteadyClock::time_point now = SteadyClock::now();
    const SteadyClock::time_point due = last_stream_write_ + interval;
    idle_timer_.expires_at(due > now ? due : now + interval);
    idle_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || !self->streaming_) return;
      const auto interval = self->streaming_->options().idle_interval;
      if (!self->stream_writing_ && SteadyClock::now() - self->last_stream_write_ >= interval) {
        self->SendStreamChunk(self->streaming_->options().idle_chunk);
      }
      // The write may have failed at once and ended the stream.
      if (self->streaming_) self->ArmStreamIdle();
    });
  }

  // Sends what the producer wrote since the last call, or ends the
  // connection once the producer ended the stream and all of it is out.
  void PumpStream() {
    if (!streaming_ || stream_writing_) return;
    HttpStream::Pending pending = streaming_->Take();
    if (!pending.bytes.empty()) return SendStreamChunk(std::move(pending.bytes));
    if (pending.ended) EndStream();
  }

  void SendStreamChunk(std::string bytes) {
    stream_writing_ = true;
    Outgoing chunk;
    chunk.body = std::move(bytes);
    writer_.Start(std::move(chunk));
    write_timer_armed_ = false;
    write_timed_out_ = false;
    WriteSome();
  }

  void OnStreamWritten(beast::error_code ec) {
    if (write_timer_armed_) write_timer_.cancel();
    write_timer_armed_ = false;
    ++responses_sent_;  // a stale write timer must not touch the next chunk
    stream_writing_ = false;
    if (!streaming_) return;  // ended meanwhile
    if (ec) {
      spdlog::debug("http: stream to {} ends: {}", client_, ec.message());
      return EndStream();
    }
    last_stream_write_ = SteadyClock::now();
    PumpStream();
  }

  void EndStream() {
    if (!streaming_) return;
    std::exchange(streaming_, nullptr)->Abort();
    idle_timer_.cancel();
    Close();
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
  Timer response_timer_;  // while a request waits for its handler's answer
  Timer idle_timer_;      // while streaming: the idle chunk's
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
  std::shared_ptr<ResponseSlot> slot_;  // made once, in Run()
  std::uint64_t ticket_ = 0;            // of the request being answered
  std::optional<Awaited> awaiting_;     // set while its handler answers later
  HttpExchange exchange_;
  std::string log_path_;  // raw path, no query, for the access log
  SteadyClock::time_point started_;
  std::size_t lingered_bytes_ = 0;
  // The response being written (Send to FinishWrite).
  ResponseWriter writer_;
  bool keep_alive_ = false;
  bool write_timer_armed_ = false;
  bool write_timed_out_ = false;
  std::uint64_t responses_sent_ = 0;  // tells a stale write timer from the current one
  // Requests started from inside the handling of an earlier one (FinishWrite).
  int nested_requests_ = 0;
  // A streamed response: its stream, from Send until its head is out, then
  // while it is being sent.
  std::shared_ptr<HttpStream> stream_after_head_;
  std::shared_ptr<HttpStream> streaming_;
  bool streamed_ = false;        // the connection's response is a stream (for good)
  bool stream_writing_ = false;  // a chunk is being written
  SteadyClock::time_point last_stream_write_;
};

}  // namespace

bool ConnectionCounter::TryAcquire(const std::string& client) {
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

void ConnectionCounter::Release(const std::string& client) {
  std::lock_guard lock(mu_);
  const auto it = per_client_.find(client);
  if (it == per_client_.end()) return;
  --total_;
  if (--it->second == 0) per_client_.erase(it);
}

void StartConnection(Socket&& socket, ServerContext& context, std::string client) {
  std::make_shared<Session>(std::move(socket), context, std::move(client))->Run();
}

}  // namespace headcount::http_internal
