// The stream side of a Session (http_session.h): a streamed answer
// (HttpResponse::stream) sent as its producer writes it, framed as its
// options say (until the close, Content-Length or chunked), broken off by
// closing the connection.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "server/http_session.h"

namespace headcount::http_internal {

void Session::StartStreaming(std::shared_ptr<HttpStream> stream) {
  streaming_ = std::move(stream);
  streamed_ = true;
  ++stream_generation_;
  stream_sent_ = 0;
  chunk_open_ = false;
  stream_.expires_never();
  last_stream_write_ = SteadyClock::now();
  if (StreamDelimited()) {
    WatchStreamProducer();
  } else {
    WatchStreamClient();
    ArmStreamIdle();
  }
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

void Session::WatchStreamClient() {
  buffer_.consume(buffer_.size());
  stream_.async_read_some(buffer_.prepare(kReadChunkBytes),
                          [self = shared_from_this()](beast::error_code ec, std::size_t /*bytes*/) {
                            if (!self->streaming_) return;
                            // The client left (or we are stopping), or it sent
                            // something, which is dropped.
                            if (ec) return self->EndStream();
                            self->WatchStreamClient();
                          });
}

void Session::WatchStreamProducer() {
  const auto limit = std::chrono::duration_cast<SteadyClock::duration>(options_.response_timeout);
  const SteadyClock::time_point now = SteadyClock::now();
  const SteadyClock::time_point due = last_stream_write_ + limit;
  idle_timer_.expires_at(due > now ? due : now + limit);
  idle_timer_.async_wait(
      [self = shared_from_this(), generation = stream_generation_](beast::error_code ec) {
        if (ec || !self->streaming_ || generation != self->stream_generation_) return;
        const auto limit = self->options_.response_timeout;
        if (!self->stream_writing_ && SteadyClock::now() - self->last_stream_write_ >= limit) {
          spdlog::debug("http: stream to {} broken off: nothing to send for {} s", self->client_,
                        limit.count());
          return self->EndStream();
        }
        self->WatchStreamProducer();
      });
}

void Session::ArmStreamIdle() {
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
      self->SendStreamChunk(
          std::make_shared<const std::string>(self->streaming_->options().idle_chunk));
    }
    // The write may have failed at once and ended the stream.
    if (self->streaming_) self->ArmStreamIdle();
  });
}

void Session::PumpStream() {
  if (!streaming_ || stream_writing_) return;
  if (stream_queue_.empty()) {
    HttpStream::Pending pending = streaming_->Take();
    if (pending.failed) return EndStream();
    for (auto& chunk : pending.chunks) stream_queue_.push_back(std::move(chunk));
    if (stream_queue_.empty()) {
      if (pending.ended) FinishStream();
      return;
    }
  }
  std::shared_ptr<const std::string> chunk = std::move(stream_queue_.front());
  stream_queue_.pop_front();
  SendStreamChunk(std::move(chunk));
}

void Session::SendStreamChunk(std::shared_ptr<const std::string> bytes) {
  Outgoing chunk;
  if (stream_length_ && stream_sent_ + bytes->size() > *stream_length_) {
    spdlog::error("http: stream to {} wrote more than its Content-Length", client_);
    return EndStream();
  }
  stream_sent_ += bytes->size();
  if (stream_chunked_) {
    // The previous chunk's CRLF goes with this one's size line.
    chunk.head = chunk_open_ ? "\r\n" : "";
    chunk.head += fmt::format("{:x}\r\n", bytes->size());
    chunk_open_ = true;
  }
  chunk.shared_body = std::move(bytes);
  stream_writing_ = true;
  writer_.Start(std::move(chunk));
  write_timer_armed_ = false;
  write_timed_out_ = false;
  WriteSome();
}

void Session::FinishStream() {
  if (!StreamDelimited()) return EndStream();
  if (stream_length_ && stream_sent_ != *stream_length_) {
    spdlog::debug("http: stream to {} ended after {} of {} bytes", client_, stream_sent_,
                  *stream_length_);
    return EndStream();
  }
  if (stream_chunked_ && !stream_last_chunk_sent_) {
    stream_last_chunk_sent_ = true;
    Outgoing last;
    last.head = chunk_open_ ? "\r\n0\r\n\r\n" : "0\r\n\r\n";
    stream_writing_ = true;
    writer_.Start(std::move(last));
    write_timer_armed_ = false;
    write_timed_out_ = false;
    return WriteSome();
  }
  LogStreamEnd("complete");
  std::exchange(streaming_, nullptr)->Abort();
  streamed_ = false;
  stream_last_chunk_sent_ = false;
  ++stream_generation_;
  idle_timer_.cancel();
  if (!keep_alive_) return LingerThenClose();
  net::post(stream_.get_executor(),
            [self = shared_from_this()] { self->StartRequest(/*first=*/false); });
}

void Session::OnStreamWritten(beast::error_code ec) {
  if (write_timer_armed_) write_timer_.cancel();
  write_timer_armed_ = false;
  ++responses_sent_;  // a stale write timer must not touch the next chunk
  stream_writing_ = false;
  writer_.Reset();
  if (!streaming_) return;  // ended meanwhile
  if (ec) {
    spdlog::debug("http: stream to {} ends: {}", client_, ec.message());
    return EndStream();
  }
  last_stream_write_ = SteadyClock::now();
  if (stream_last_chunk_sent_) return FinishStream();
  PumpStream();
}

void Session::EndStream() {
  if (!streaming_) return;
  LogStreamEnd("connection closed");
  std::exchange(streaming_, nullptr)->Abort();
  stream_queue_.clear();
  idle_timer_.cancel();
  Close();
}

void Session::LogStreamEnd(std::string_view how) const {
  const auto took =
      std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - started_);
  spdlog::debug("http: {} {} {} body streamed: {}B in {}ms ({})", client_,
                exchange_.method.empty() ? "-" : exchange_.method,
                log_path_.empty() ? "-" : log_path_, stream_sent_, took.count(), how);
}

}  // namespace headcount::http_internal
