#include "viewers/origin_connection.h"

#include <chrono>
#include <cstdint>
#include <string_view>
#include <utility>

namespace headcount::viewers {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// Per request, from connect through the last body byte.
constexpr auto kRequestTimeout = std::chrono::seconds(10);
constexpr std::uint64_t kMaxPlaylistBytes = std::uint64_t{1} << 20;
constexpr std::uint64_t kMaxSegmentBytes = std::uint64_t{64} << 20;
constexpr std::string_view kUserAgent = "headcount-viewers/0.1";

bool IsClosedByPeer(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == net::error::eof ||
         ec == net::error::connection_reset || ec == net::error::broken_pipe;
}

}  // namespace

OriginConnection::OriginConnection(const net::any_io_executor& strand, RunContext& ctx)
    : ctx_(ctx), stream_(strand) {
  request_.version(11);
  request_.method(http::verb::get);
  request_.set(http::field::host, ctx_.entry.HostHeader());
  request_.set(http::field::user_agent, kUserAgent);
  request_.set(http::field::accept, "*/*");
}

void OriginConnection::Get(const std::string& target, Kind kind, Callback done) {
  request_.method(http::verb::get);
  request_.target(target);
  request_.erase(http::field::content_type);
  request_.body().clear();
  request_.prepare_payload();
  kind_ = kind;
  Send(std::move(done));
}

void OriginConnection::Post(const std::string& target, std::string body, Callback done,
                            std::string_view content_type) {
  request_.method(http::verb::post);
  request_.target(target);
  request_.set(http::field::content_type, content_type);
  request_.body() = std::move(body);
  request_.prepare_payload();
  kind_ = Kind::kApi;
  Send(std::move(done));
}

void OriginConnection::Send(Callback done) {
  const bool segment = kind_ == Kind::kSegment;
  switch (kind_) {
    case Kind::kPlaylist:
      ++ctx_.counters.playlist_requests;
      break;
    case Kind::kSegment:
      ++ctx_.counters.segment_requests;
      break;
    case Kind::kApi:
      ++ctx_.counters.api_requests;
      break;
  }
  parser_.emplace();
  parser_->body_limit(segment ? kMaxSegmentBytes : kMaxPlaylistBytes);
  parser_->get().body().keep_text = !segment;
  if (connected_) return Write(std::move(done));
  reused_connection_ = false;
  stream_.expires_after(kRequestTimeout);
  stream_.async_connect(ctx_.endpoints, [self = shared_from_this(), done = std::move(done)](
                                            beast::error_code ec, const tcp::endpoint&) mutable {
    self->OnConnect(ec, std::move(done));
  });
}

void OriginConnection::OnConnect(beast::error_code ec, Callback done) {
  if (ec) return OnNetworkError(ec, std::move(done));
  connected_ = true;
  requests_on_connection_ = 0;
  Write(std::move(done));
}

void OriginConnection::Write(Callback done) {
  reused_connection_ = requests_on_connection_ > 0;
  stream_.expires_after(kRequestTimeout);
  http::async_write(stream_, request_,
                    [self = shared_from_this(), done = std::move(done)](
                        beast::error_code ec, std::size_t /*bytes*/) mutable {
                      self->OnWrite(ec, std::move(done));
                    });
}

void OriginConnection::OnWrite(beast::error_code ec, Callback done) {
  if (ec) return OnNetworkError(ec, std::move(done));
  http::async_read(stream_, buffer_, *parser_,
                   [self = shared_from_this(), done = std::move(done)](
                       beast::error_code read_ec, std::size_t /*bytes*/) mutable {
                     self->OnRead(read_ec, std::move(done));
                   });
}

void OriginConnection::OnRead(beast::error_code ec, Callback done) {
  if (ec == http::error::body_limit) {
    Close();  // the rest of the body is still on the wire
    return done(Error::Rejected(kind_ == Kind::kSegment ? "segment larger than kMaxSegmentBytes"
                                                        : "answer larger than kMaxPlaylistBytes"));
  }
  if (ec) return OnNetworkError(ec, std::move(done));
  stream_.expires_never();
  ++requests_on_connection_;
  stale_retry_used_ = false;
  auto& response = parser_->get();
  ctx_.counters.bytes += static_cast<std::int64_t>(response.body().bytes);
  if (!response.keep_alive()) Close();
  done(Response{response.result_int(), std::move(response.body().text)});
}

void OriginConnection::OnNetworkError(const beast::error_code& ec, Callback done) {
  const bool stale = reused_connection_ && !stale_retry_used_ && IsClosedByPeer(ec);
  Close();
  if (stale) {
    stale_retry_used_ = true;
    return Send(std::move(done));
  }
  done(Error::Unavailable(ec.message()));
}

void OriginConnection::Close() {
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream_.close();
  connected_ = false;
  buffer_.consume(buffer_.size());  // unread bytes belonged to the old connection
}

}  // namespace headcount::viewers
