// One player's keep-alive HTTP/1.1 connection to the origin: GETs one target
// at a time, connecting (again) when needed, and counts every attempt and
// every body byte. Internal to src/viewers. Used from one strand only.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "viewers/run_context.h"

namespace headcount::viewers {

// A Beast body that counts bytes and keeps them only when asked (playlists):
// segment bodies are dropped as they arrive, so N players never hold N segments.
struct CountedBody {
  struct value_type {  // NOLINT(readability-identifier-naming): Beast's name
    bool keep_text = false;
    std::string text;
    std::uint64_t bytes = 0;
  };

  class reader {  // NOLINT(readability-identifier-naming): Beast's name
   public:
    template <bool kIsRequest, class Fields>
    reader(boost::beast::http::header<kIsRequest, Fields>& /*header*/, value_type& body)
        : body_(body) {}

    void init(  // NOLINT(readability-identifier-naming): Beast's name
        const boost::optional<std::uint64_t>& /*content_length*/, boost::beast::error_code& ec) {
      ec = {};
    }

    template <class ConstBufferSequence>
    std::size_t put(  // NOLINT(readability-identifier-naming): Beast's name
        const ConstBufferSequence& buffers, boost::beast::error_code& ec) {
      std::size_t n = 0;
      for (auto it = boost::asio::buffer_sequence_begin(buffers);
           it != boost::asio::buffer_sequence_end(buffers); ++it) {
        const boost::asio::const_buffer buffer = *it;
        if (body_.keep_text) {
          body_.text.append(static_cast<const char*>(buffer.data()), buffer.size());
        }
        n += buffer.size();
      }
      body_.bytes += n;
      ec = {};
      return n;
    }

    void finish(boost::beast::error_code& ec) {  // NOLINT(readability-identifier-naming)
      ec = {};
    }

   private:
    value_type& body_;
  };
};

class OriginConnection : public std::enable_shared_from_this<OriginConnection> {
 public:
  // What is fetched: a playlist is kept (up to kMaxPlaylistBytes, 1 MiB) and
  // counted in playlist_requests, a segment only counted (up to
  // kMaxSegmentBytes, 64 MiB), an API answer (a heartbeat token) kept as a
  // playlist is and counted in api_requests.
  enum class Kind { kPlaylist, kSegment, kApi };

  struct Response {
    unsigned status = 0;
    std::string text;  // a playlist's body; empty for a segment
  };
  // The response (of any status), or kUnavailable (could not reach the
  // origin, or the connection broke: ec.message()) or kRejected (the body is
  // over its limit).
  using Callback = std::function<void(Result<Response>)>;

  // `ctx.endpoints` is read when connecting, not before.
  OriginConnection(const boost::asio::any_io_executor& strand, RunContext& ctx);
  OriginConnection(const OriginConnection&) = delete;
  OriginConnection& operator=(const OriginConnection&) = delete;

  // GETs `target` (origin-form, with its query) and calls `done` with the
  // outcome, on the strand. When the origin had closed an idle keep-alive
  // connection as it is reused, the request is sent once more at once on a new
  // one, as browsers do (not an error; counted as another attempt). One
  // request at a time.
  void Get(const std::string& target, Kind kind, Callback done);

  // POSTs `body` (of `content_type`) to `target`, as Get does (Kind::kApi).
  void Post(const std::string& target, std::string body, Callback done,
            std::string_view content_type = "application/json");

  // Closes the connection; the next Get opens a new one.
  void Close();

  // The target of the last Get (it may hold a session id: keep it out of logs).
  std::string_view target() const { return request_.target(); }
  // The strand the connection runs on (its owner's too).
  boost::asio::any_io_executor executor() { return stream_.get_executor(); }

 private:
  // Each step carries `done`, as asio handlers carry themselves: a request
  // dropped with its io_context takes its caller's callback with it.
  void Send(Callback done);
  void Write(Callback done);
  void OnConnect(boost::beast::error_code ec, Callback done);
  void OnWrite(boost::beast::error_code ec, Callback done);
  void OnRead(boost::beast::error_code ec, Callback done);
  void OnNetworkError(const boost::beast::error_code& ec, Callback done);

  RunContext& ctx_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  boost::beast::http::request<boost::beast::http::string_body> request_;
  std::optional<boost::beast::http::response_parser<CountedBody>> parser_;
  Kind kind_ = Kind::kPlaylist;

  bool connected_ = false;
  int requests_on_connection_ = 0;
  bool reused_connection_ = false;  // the request in flight went on a used connection
  bool stale_retry_used_ = false;   // since the last complete response
};

}  // namespace headcount::viewers
