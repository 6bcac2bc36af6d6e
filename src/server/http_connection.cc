// HttpServer's connections (see http_connection.h): the request side of a
// Session (http_session.h): reading, handing to the handler, sending the
// answer, keep-alive and closing; the connection counter.
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
#include "server/http_session.h"
#include "server/http_stream.h"
#include "server/http_writer.h"
#include "server/response_slot.h"

namespace headcount::http_internal {
namespace {

// After a response that closes the connection, the server stops sending and
// reads (and drops) what the client still sends for up to this long, so that
// our close does not turn into a TCP reset that destroys the response before
// the client has read it (e.g. after a 413 with the body still arriving).
constexpr std::chrono::seconds kLingerTimeout{2};
constexpr std::size_t kMaxLingerBytes = std::size_t{1024} * 1024;
// How many pipelined requests a connection answers one inside the other's
// call stack before it goes back to the I/O loop (see Session::FinishWrite).
constexpr int kMaxNestedRequests = 8;

}  // namespace

Session::~Session() {
  if (slot_) slot_->Close();            // a handler answering later finds nobody
  if (streaming_) streaming_->Abort();  // its producer finds nobody
  context_.counter.Release(client_);
}

void Session::Run() {
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

void Session::OnLateResponse(std::uint64_t ticket, HttpResponse response) {
  if (ticket != ticket_ || !awaiting_) return;
  response_timer_.cancel();
  SendAwaited(std::move(response));
}

void Session::StartRequest(bool first) {
  parser_.emplace();
  parser_->header_limit(
      static_cast<std::uint32_t>(std::min<std::size_t>(options_.max_header_bytes, UINT32_MAX)));
  parser_->body_limit(options_.max_body_bytes);
  reading_started_ = first || buffer_.size() > 0;
  read_deadline_set_ = false;
  ParseBuffered();
}

void Session::ParseBuffered() {
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

void Session::OnRead(beast::error_code ec, std::size_t bytes) {
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

void Session::OnReadError(beast::error_code ec) {
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

bool Session::OverflowIsLongTarget() const {
  const std::string_view target = parser_->get().target();
  return target.empty() || target.size() > options_.max_target_bytes;
}

void Session::Handle() {
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

std::optional<HttpResponse> Session::CallHandler(const HttpRequest& request) {
  ticket_ = slot_->Open();
  const ResponseSlot::InlineScope answers_here(*slot_);
  try {
    context_.handler(request, HttpResponder(slot_, ticket_));
  } catch (const std::exception& e) {
    spdlog::error("http: handler failed on {} {}: {}", exchange_.method, log_path_, e.what());
    if (slot_->Claim(ticket_)) return HttpResponse::Error(500, "internal error");
  } catch (...) {
    spdlog::error("http: handler failed on {} {}: unknown exception", exchange_.method, log_path_);
    if (slot_->Claim(ticket_)) return HttpResponse::Error(500, "internal error");
  }
  return slot_->TakeImmediate();
}

void Session::AwaitResponse(Awaited awaited) {
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

void Session::SendAwaited(HttpResponse response) {
  const Awaited awaited = *awaiting_;
  awaiting_.reset();
  Send(BuildMessage(std::move(response), awaited.version, awaited.keep_alive, awaited.head),
       awaited.keep_alive);
}

void Session::SendError(int status, std::string_view message) {
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

void Session::Send(Outgoing outgoing, bool keep_alive) {
  exchange_.status = outgoing.status;
  exchange_.body_bytes = outgoing.body_bytes;
  stream_after_head_ = std::move(outgoing.stream);
  stream_chunked_ = outgoing.stream_chunked;
  stream_length_ = outgoing.stream_length;
  keep_alive_ = keep_alive && !outgoing.closes;
  writer_.Start(std::move(outgoing));
  write_timer_armed_ = false;
  write_timed_out_ = false;
  WriteSome();
}

void Session::WriteSome() {
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

void Session::AwaitWritable() {
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
  stream_.socket().async_wait(tcp::socket::wait_write,
                              beast::bind_front_handler(&Session::OnWritable, shared_from_this()));
}

void Session::OnWritable(beast::error_code ec) {
  if (write_timed_out_) return WriteDone(beast::error::timeout);
  if (ec) return WriteDone(ec);
  WriteSome();
}

void Session::WriteDone(beast::error_code ec) {
  if (streamed_) return OnStreamWritten(ec);
  FinishWrite(ec);
}

void Session::FinishWrite(beast::error_code ec) {
  if (write_timer_armed_) write_timer_.cancel();
  write_timer_armed_ = false;
  ++responses_sent_;
  writer_.Reset();  // closes the file
  exchange_.duration =
      std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - started_);
  // Never the query string: it carries session ids. A streamed body is
  // logged when it ends (LogStreamEnd).
  spdlog::debug(
      "http: {} {} {} {} {} {}ms{}", client_, exchange_.method.empty() ? "-" : exchange_.method,
      log_path_.empty() ? "-" : log_path_, exchange_.status,
      stream_after_head_ ? std::string("head, body streams")
                         : std::to_string(exchange_.body_bytes) + "B",
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

void Session::LingerThenClose() {
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  if (ec) return Close();
  stream_.expires_after(kLingerTimeout);
  Drain();
}

void Session::Drain() {
  buffer_.consume(buffer_.size());
  stream_.async_read_some(buffer_.prepare(kReadChunkBytes),
                          beast::bind_front_handler(&Session::OnDrain, shared_from_this()));
}

void Session::OnDrain(beast::error_code ec, std::size_t bytes) {
  lingered_bytes_ += bytes;
  if (ec || lingered_bytes_ >= kMaxLingerBytes) return Close();
  Drain();
}

void Session::Close() {
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
  stream_.close();
}

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
