// HttpStream: the body of a response that is sent as it is written: for as
// long as both ends want it (server-sent events), or a body of known or
// chunked length that arrives over time (the upstream proxy's media). A
// handler returns it in HttpResponse::stream; the server sends the status
// line and headers, then every chunk the producer writes, in order, from any
// thread, until the producer ends (or fails) the stream or the connection
// goes (the client left, a chunk could not be sent within the server's
// write_timeout, more than max_pending_bytes waited unsent, the producer
// wrote nothing for the server's response_timeout, the server stopped).
// Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace headcount {

struct HttpStreamOptions {
  // Written by the server whenever nothing was written for `idle_interval`
  // (zero: never), e.g. an SSE comment that keeps proxies from closing an
  // idle connection. Only for a stream that ends with its connection.
  std::string idle_chunk;
  std::chrono::milliseconds idle_interval{0};
  // Unsent bytes beyond this close the stream: a client that reads slower
  // than the producer writes is let go, not buffered without end. Chunks
  // written as shared buffers count too, though they cost nothing more
  // while their producer holds them anyway.
  std::size_t max_pending_bytes = std::size_t{1} << 20;
  // How the body is framed:
  //  - content_length set: the head says Content-Length and exactly that
  //    many bytes must be written before End; the connection may be kept
  //    alive after it;
  //  - else `chunked`: Transfer-Encoding: chunked (HTTP/1.1; an HTTP/1.0
  //    client gets a body that ends with the connection), kept alive after it;
  //  - else the body ends when the connection does (Connection: close).
  // With either of the first two, Fail (or an End short of the length)
  // closes the connection without ending the body, so the client sees a
  // truncated transfer, never a short body that looks complete.
  std::optional<std::uint64_t> content_length;
  bool chunked = false;
};

class HttpStream {
 public:
  explicit HttpStream(HttpStreamOptions options = {}) : options_(std::move(options)) {}
  HttpStream(const HttpStream&) = delete;
  HttpStream& operator=(const HttpStream&) = delete;

  // Queues `chunk` for sending (a copy; the shared_ptr form keeps the
  // caller's buffer instead, which must not change). False, dropping it,
  // once the stream is closed (then the producer forgets the stream), and
  // when the chunk would pass max_pending_bytes (which closes it).
  bool Write(std::string_view chunk);
  bool Write(std::shared_ptr<const std::string> chunk);
  // Ends the response: what is queued is sent, then the connection closes
  // (or, for a body with a length, stays open for the next request).
  void End();
  // Breaks the response off: the connection closes without ending the body.
  void Fail();
  // True once the stream ended or failed, or its connection went away.
  bool closed() const;

  const HttpStreamOptions& options() const { return options_; }

  // The server's side (src/server/http_connection.cc).
  // Calls `wake` (from the thread that writes, or the one that ends) after
  // every Write, End or Fail, and once now if anything is queued or it
  // ended; `wake` must be quick and must not call back into the stream.
  void Attach(const std::function<void()>& wake);
  // What is queued (all of it, in order), and whether the producer ended
  // the stream after it, or broke it off (or the connection overflowed).
  struct Pending {
    std::vector<std::shared_ptr<const std::string>> chunks;
    bool ended = false;
    bool failed = false;
    // The chunks' bytes in one string (tests).
    std::string Joined() const;
  };
  Pending Take();
  // The connection is gone: every later Write fails; drops `wake`.
  void Abort();

 private:
  bool Queue(std::shared_ptr<const std::string> chunk, std::size_t size);

  const HttpStreamOptions options_;
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<const std::string>> pending_;  // guarded by mu_
  std::size_t pending_bytes_ = 0;                            // guarded by mu_
  bool ended_ = false;                                       // guarded by mu_: End() was called
  bool failed_ = false;                                      // guarded by mu_: Fail() was called
  bool aborted_ = false;        // guarded by mu_: the connection is gone or overflowed
  std::function<void()> wake_;  // guarded by mu_
};

}  // namespace headcount
