// HttpStream: the body of a response that is sent as it is written, for as
// long as both ends want it (server-sent events). A handler returns it in
// HttpResponse::stream; the server sends the status line and headers, then
// every chunk the producer writes, in order, from any thread, until the
// producer ends the stream or the connection goes (the client left, a chunk
// could not be sent within the server's write_timeout, more than
// max_pending_bytes waited unsent, the server stopped). Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

namespace headcount {

struct HttpStreamOptions {
  // Written by the server whenever nothing was written for `idle_interval`
  // (zero: never), e.g. an SSE comment that keeps proxies from closing an
  // idle connection.
  std::string idle_chunk;
  std::chrono::milliseconds idle_interval{0};
  // Unsent bytes beyond this close the stream: a client that reads slower
  // than the producer writes is let go, not buffered without end.
  std::size_t max_pending_bytes = std::size_t{1} << 20;
};

class HttpStream {
 public:
  explicit HttpStream(HttpStreamOptions options = {}) : options_(std::move(options)) {}
  HttpStream(const HttpStream&) = delete;
  HttpStream& operator=(const HttpStream&) = delete;

  // Queues `chunk` for sending. False, dropping it, once the stream is
  // closed (then the producer forgets the stream), and when the chunk would
  // pass max_pending_bytes (which closes it).
  bool Write(std::string_view chunk);
  // Ends the response: what is queued is sent, then the connection closes.
  void End();
  // True once the stream ended or its connection went away.
  bool closed() const;

  const HttpStreamOptions& options() const { return options_; }

  // The server's side (src/server/http_connection.cc).
  // Calls `wake` (from the thread that writes, or the one that ends) after
  // every Write or End, and once now if anything is queued or it ended;
  // `wake` must be quick and must not call back into the stream.
  void Attach(const std::function<void()>& wake);
  // What is queued (all of it, in order), and whether the producer ended the
  // stream after it.
  struct Pending {
    std::string bytes;
    bool ended = false;
  };
  Pending Take();
  // The connection is gone: every later Write fails; drops `wake`.
  void Abort();

 private:
  const HttpStreamOptions options_;
  mutable std::mutex mu_;
  std::string pending_;         // guarded by mu_
  bool ended_ = false;          // guarded by mu_: End() was called
  bool aborted_ = false;        // guarded by mu_: the connection is gone or overflowed
  std::function<void()> wake_;  // guarded by mu_
};

}  // namespace headcount
