// HttpServer's per-connection session (internal to src/server): reads
// requests with Beast's parser, in place from its buffer, hands each to the
// handler and sends the answer with the ResponseWriter (http_connection.cc);
// a streamed answer (HttpResponse::stream) is sent as it is written
// (http_session_stream.cc). Everything of a session runs on its
// connection's I/O thread; only its ResponseSlot and its HttpStream's
// wake-up are reached from other threads.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "server/http_connection.h"
#include "server/http_stream.h"
#include "server/http_writer.h"
#include "server/response_slot.h"

namespace headcount::http_internal {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Stream = beast::basic_stream<tcp, Executor, beast::unlimited_rate_policy>;
using Timer = net::basic_waitable_timer<std::chrono::steady_clock,
                                        net::wait_traits<std::chrono::steady_clock>, Executor>;
using SteadyClock = std::chrono::steady_clock;

// Bytes read at a time while waiting for the next request or lingering.
inline constexpr std::size_t kReadChunkBytes = 4096;

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

  ~Session() override;

  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void Run();

  // The answer to request `ticket`, which the handler gave later (its
  // ResponseSlot claimed it and posted it here).
  void OnLateResponse(std::uint64_t ticket, HttpResponse response) override;

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
  void StartRequest(bool first);

  // Feeds what the buffer holds to the parser and answers the request once
  // it is complete. Bytes already received (a whole request usually comes in
  // one read, and pipelined requests wait in the buffer) are parsed here
  // without another trip through the I/O loop; only for missing bytes does
  // the session read from the socket.
  void ParseBuffered();

  void OnRead(beast::error_code ec, std::size_t bytes);

  void OnReadError(beast::error_code ec);

  // After header_limit: true if the request line never completed (Beast
  // stores the target once its line is parsed; only a huge target makes the
  // line alone overflow) or its target is too long; then 414 fits, not 431.
  bool OverflowIsLongTarget() const;

  void Handle();

  // Calls the handler with a responder for this request: its response if
  // it answered before returning (500 if it threw), nullopt if it will
  // answer later.
  std::optional<HttpResponse> CallHandler(const HttpRequest& request);

  // Waits for the handler's later answer, up to response_timeout; the timer
  // also keeps the session alive meanwhile (nothing else is pending on the
  // connection: the next pipelined request is read after this answer).
  void AwaitResponse(Awaited awaited);

  void SendAwaited(HttpResponse response);

  // Answers a request the server refuses itself, then closes the connection.
  void SendError(int status, std::string_view message);

  // Sends `outgoing` (see ResponseWriter). While the socket takes
  // everything at once, as it does for most responses, no timer or handler
  // is involved; when it is full, the session waits for it to drain, for at
  // most write_timeout in all.
  void Send(Outgoing outgoing, bool keep_alive);

  void WriteSome();

  void AwaitWritable();

  void OnWritable(beast::error_code ec);

  // What was being written is out (or failed): a response, or a chunk of
  // the stream that follows one.
  void WriteDone(beast::error_code ec);

  // The response is out (or failed): logs it, then reads the next request,
  // lingers before closing, or closes.
  void FinishWrite(beast::error_code ec);

  // The head of a streamed response is out: from now on the connection
  // sends what the producer writes. A stream that ends with its connection
  // (SSE) gets the idle chunk when nothing is written, and ends when the
  // producer ends it, the client leaves or a chunk cannot be sent within
  // write_timeout; no request is read any more, a read only tells when the
  // client leaves. A stream with a length (http_stream.h) reads nothing
  // (the next request may follow it), ends as its framing says and lets
  // the connection go on, or is broken off when its producer fails it or
  // writes nothing for response_timeout.
  void StartStreaming(std::shared_ptr<HttpStream> stream);

  bool StreamDelimited() const { return stream_chunked_ || stream_length_.has_value(); }

  void WatchStreamClient();

  // Breaks a stream with a length off when its producer wrote nothing for
  // response_timeout (a write under way is write_timeout's business). The
  // timer also keeps the session alive while it waits for the producer.
  void WatchStreamProducer();

  // Writes the idle chunk when nothing was written for the stream's idle
  // interval.
  void ArmStreamIdle();

  // Sends the next chunk the producer wrote, or ends the response once the
  // producer ended (or failed) the stream and all of it is out. Takes from
  // the stream only what is sent next, so the stream's max_pending_bytes
  // bounds what waits.
  void PumpStream();

  void SendStreamChunk(std::shared_ptr<const std::string> bytes);

  // The producer ended the stream and all of it is out: a stream that ends
  // with its connection closes it; one with a length is ended as its
  // framing says (the last chunk) and the connection goes on, or is broken
  // off when fewer bytes came than its Content-Length promised.
  void FinishStream();

  void OnStreamWritten(beast::error_code ec);

  // Ends a stream by closing the connection: the end of a stream that ends
  // with it, or a stream with a length broken off.
  void EndStream();
  // The access log's line for a streamed body: its bytes, its time since
  // the request, and how it ended.
  void LogStreamEnd(std::string_view how) const;

  void LingerThenClose();

  void Drain();

  void OnDrain(beast::error_code ec, std::size_t bytes);

  void Close();

  // A target longer than this is cut in the access log.
  static constexpr std::size_t kMaxLoggedPath = 256;

  Stream stream_;
  Timer write_timer_;
  Timer response_timer_;  // while a request waits for its handler's answer
  Timer idle_timer_;      // while streaming: the idle chunk's, or the producer watch
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
  bool streamed_ = false;        // the connection's response is a stream being sent
  bool stream_writing_ = false;  // a chunk is being written
  SteadyClock::time_point last_stream_write_;
  // Its framing (Outgoing), what of it is out, and what was taken from it
  // but not sent yet.
  bool stream_chunked_ = false;
  std::optional<std::uint64_t> stream_length_;
  std::uint64_t stream_sent_ = 0;
  bool chunk_open_ = false;              // a chunk's closing CRLF is due
  bool stream_last_chunk_sent_ = false;  // the last chunk is being written
  std::uint64_t stream_generation_ = 0;  // tells a stale producer watch from the current one
  std::deque<std::shared_ptr<const std::string>> stream_queue_;
};

}  // namespace headcount::http_internal
