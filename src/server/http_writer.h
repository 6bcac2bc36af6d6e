// HttpServer's response writer (internal to src/server): turns an
// HttpResponse into what goes on the wire, the status line and headers
// formatted into one buffer and the body from memory or from a file, and
// writes it to a non-blocking socket itself: head and in-memory body in one
// gather sendmsg(2), a file with sendfile(2), no copy through a serializer or
// user space (bench/origin/why.md). Not synchronized: a connection's writer
// is used by that connection's thread only.
#pragma once

#include <boost/system/error_code.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "server/http.h"
#include "server/http_stream.h"

namespace headcount::http_internal {

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
  void Reset();

 private:
  int fd_ = -1;
};

// A response ready to send: the status line and headers formatted into one
// buffer, then the body, from memory or from a file.
struct Outgoing {
  std::string head;
  std::string body;  // sent right after head
  // When set, sent right after head instead of body (HttpResponse::shared_body).
  std::shared_ptr<const std::string> shared_body;
  UniqueFd file;  // when valid: its first file_size bytes follow body
  std::uint64_t file_size = 0;
  // When set, the head announces a body of unknown length and what the
  // stream is written follows it, until the connection closes.
  std::shared_ptr<HttpStream> stream;
  // How the stream's body is framed (HttpStreamOptions): with chunked
  // coding, or as exactly stream_length bytes; neither: until the close.
  bool stream_chunked = false;
  std::optional<std::uint64_t> stream_length;
  // The head says Connection: close whatever the request wanted (a stream
  // that ends with its connection).
  bool closes = false;
  // For the access log and metrics.
  int status = 0;
  std::uint64_t body_bytes = 0;
};

// Turns a handler's response into what goes on the wire for a request of
// HTTP `version` (10 or 11); `head`: a HEAD request (headers only, with the
// Content-Length a GET would get). The server's headers (Server,
// X-Content-Type-Options) come first; a handler's header that would frame
// the message or carries CR/LF is dropped and logged. An invalid status
// becomes 500; a file that is gone (or not a regular file) 404, one that
// cannot be opened 500. Opening a file never blocks (O_NONBLOCK: a FIFO is
// refused as not a regular file). A stream (HttpResponse::stream) gets a
// head with neither Content-Length nor chunked coding and `Connection:
// close` (its body ends when the connection does, RFC 9112 6.3), whatever
// `keep_alive` says, unless its options give a Content-Length or chunked
// coding (HTTP/1.1), which the head then says; for HEAD, just that head.
Outgoing BuildMessage(HttpResponse response, unsigned version, bool keep_alive, bool head);

// Sends one Outgoing over a non-blocking socket, in as many calls to
// WriteSome as the socket needs.
class ResponseWriter {
 public:
  enum class Progress {
    kDone,        // all of it is sent
    kWouldBlock,  // the socket is full: wait until it is writable, then call again
    kFailed,      // see the error code (the peer left, the file shrank, ...)
  };

  // Starts sending `out` (the previous one is dropped).
  void Start(Outgoing out);
  // Sends as much as the socket `fd` takes now. While it takes everything
  // at once, as it does for most responses, one call does it all. At most
  // kMaxSendfileBytes of a file per sendfile(2) call, so one large file does
  // not hold the thread while other connections wait.
  Progress WriteSome(int fd, boost::system::error_code& error);
  // Drops the response (closes its file).
  void Reset() { Start(Outgoing{}); }

  const Outgoing& outgoing() const { return out_; }

 private:
  Outgoing out_;
  std::size_t head_sent_ = 0;
  std::size_t body_sent_ = 0;
  std::uint64_t file_sent_ = 0;
};

}  // namespace headcount::http_internal
