// The response writer (see http_writer.h).
#include "server/http_writer.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/status.hpp>
#include <cerrno>
#include <optional>
#include <string_view>
#include <system_error>

namespace headcount::http_internal {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;

constexpr std::string_view kServerName = "headcount";
// At most this many bytes of a file per sendfile(2) call, so one large file
// does not hold an I/O thread while other connections wait.
constexpr std::size_t kMaxSendfileBytes = std::size_t{1024} * 1024;
constexpr int kMinStatus = 100;
constexpr int kMaxStatus = 999;

// Headers that frame the message: the server sets them, a handler may not.
bool IsFramingHeader(std::string_view name) {
  return beast::iequals(name, "content-length") || beast::iequals(name, "transfer-encoding") ||
         beast::iequals(name, "connection");
}

// 1xx, 204 and 304 responses carry neither a body nor a Content-Length (RFC 9110).
bool StatusHasBody(int status) { return status >= 200 && status != 204 && status != 304; }

bool HasLineBreak(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

// The status line and headers of `response` for a request of HTTP `version`
// (10 or 11), announcing `content_length` body bytes (none: a body that
// ends with the connection). The server's headers
// come first; a handler's header that would frame the message or carries a
// CR or LF (it could start a header or a body of its own) is dropped and
// logged.
std::string FormatHead(const HttpResponse& response, unsigned version, bool keep_alive,
                       std::optional<std::uint64_t> content_length, bool chunked = false) {
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
  if (StatusHasBody(response.status) && content_length) {
    head += "Content-Length: ";
    head += std::to_string(*content_length);
    head += "\r\n";
  } else if (StatusHasBody(response.status) && chunked) {
    head += "Transfer-Encoding: chunked\r\n";
  }
  // HTTP/1.1 keeps a connection open unless told, HTTP/1.0 closes it unless told.
  if (version >= 11 && !keep_alive) head += "Connection: close\r\n";
  if (version < 11 && keep_alive) head += "Connection: keep-alive\r\n";
  head += "\r\n";
  return head;
}

}  // namespace

void UniqueFd::Reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Outgoing BuildMessage(HttpResponse response, unsigned version, bool keep_alive, bool head) {
  if (response.status < kMinStatus || response.status > kMaxStatus) {
    spdlog::error("http: handler returned invalid status {}", response.status);
    response = HttpResponse::Error(500, "internal error");
  }
  if (!StatusHasBody(response.status)) {
    response.body.clear();
    response.shared_body.reset();
    response.file.reset();
    response.stream.reset();
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
  if (response.stream) {
    // A body with a length (given, or chunked for HTTP/1.1) lets the
    // connection live on; one that ends with the connection closes it.
    const HttpStreamOptions& framing = response.stream->options();
    const bool chunked = !framing.content_length && framing.chunked && version >= 11;
    const bool delimited = framing.content_length.has_value() || chunked;
    out.head =
        FormatHead(response, version, keep_alive && delimited, framing.content_length, chunked);
    out.closes = !delimited || !keep_alive;
    out.stream_chunked = chunked;
    out.stream_length = framing.content_length;
    // For HEAD the stream is let go here: the parameter lives on (its caller
    // destroys it) until the head is sent, and its producer should know at once.
    if (head) response.stream.reset();
    out.stream = std::move(response.stream);
    return out;
  }
  if (response.shared_body) {
    out.head = FormatHead(response, version, keep_alive, response.shared_body->size());
    if (!head) {
      out.body_bytes = response.shared_body->size();
      out.shared_body = std::move(response.shared_body);
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

void ResponseWriter::Start(Outgoing out) {
  out_ = std::move(out);
  head_sent_ = 0;
  body_sent_ = 0;
  file_sent_ = 0;
}

ResponseWriter::Progress ResponseWriter::WriteSome(int fd, boost::system::error_code& error) {
  for (;;) {
    const bool file_left = out_.file.valid() && file_sent_ < out_.file_size;
    const std::string_view body = out_.shared_body ? *out_.shared_body : out_.body;
    const std::size_t head_left = out_.head.size() - head_sent_;
    const std::size_t body_left = body.size() - body_sent_;
    ssize_t sent = 0;
    if (head_left + body_left > 0) {
      std::array<iovec, 2> parts{};
      std::size_t count = 0;
      if (head_left > 0) parts[count++] = {out_.head.data() + head_sent_, head_left};
      // sendmsg takes the iovec's base as non-const, but only reads it.
      if (body_left > 0) {
        parts[count++] = {const_cast<char*>(body.data()) + body_sent_, body_left};
      }
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
      if (sent == 0) {  // the file shrank under us
        error = http::error::short_read;
        return Progress::kFailed;
      }
      if (sent > 0) {
        file_sent_ = static_cast<std::uint64_t>(offset);
        continue;
      }
    } else {
      return Progress::kDone;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Progress::kWouldBlock;
    error = boost::system::error_code(errno, boost::system::system_category());
    return Progress::kFailed;
  }
}

}  // namespace headcount::http_internal
