// A small HLS origin on 127.0.0.1 for the viewer simulator's tests: it hands
// out session ids (?hcs=) the way headcount's origin does, serves a live,
// stalled or ended stream (or fails in chosen ways) on a Clock, and records
// every request it reads. Thread-safe; for tests.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "core/clock.h"

namespace headcount::testing {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

inline constexpr std::int64_t kFirstLiveSegment = 10;  // newest segment when the origin starts
inline constexpr std::int64_t kLiveWindow = 6;         // segments in the live playlist
inline constexpr std::int64_t kEndedSegments = 5;      // segments in the ended playlist
inline constexpr std::size_t kSegmentBytes = 1000;

// One request as the origin saw it.
struct Seen {
  WallTime at;         // on the test's fake clock
  std::string path;    // without the query; "" for a connection hung up on
  std::string hcs;     // the session id parameter, "" when absent
  int connection;      // which TCP connection carried it
  std::string body{};  // a POST's body
};

// Sequence number in ".../seg_<n>.ts", or -1.
inline std::int64_t SegmentNumber(const std::string& path) {
  const std::size_t at = path.rfind("/seg_");
  if (at == std::string::npos) return -1;
  return std::stoll(path.substr(at + 5));
}

// The value of `name` in "a=1&name=v", or "".
inline std::string QueryParam(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    if (pair.substr(0, name.size()) == name && pair.size() > name.size() &&
        pair[name.size()] == '=') {
      return std::string(pair.substr(name.size() + 1));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return "";
}

// Imitates a session-counting origin (and the heartbeat API of channel
// "live", tokens t1, t2, ...): /live/master.m3u8 mints an id when the
// request has none and puts it in every URI it hands out; /live/low/index.m3u8
// is a live playlist (target duration 1) that gains a segment every second of
// `clock` and carries the caller's id on each segment URI. Thread-safe.
class TestOrigin {
 public:
  enum class Mode {
    kLive,
    kStalled,   // live, but the playlist never changes
    kEnded,     // #EXT-X-ENDLIST, kEndedSegments segments
    kNotFound,  // 404 to everything
    kHangUp,    // closes every connection at once, answering nothing
  };

  // With `drop_connections`, the origin closes every connection after one
  // response without saying so (as an idle timeout does).
  TestOrigin(Mode mode, const Clock& clock, bool drop_connections = false)
      : mode_(mode),
        clock_(clock),
        drop_connections_(drop_connections),
        acceptor_(io_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)),
        port_(acceptor_.local_endpoint().port()),
        start_(clock.Now()) {
    Accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~TestOrigin() {
    io_.stop();
    thread_.join();
  }
  TestOrigin(const TestOrigin&) = delete;
  TestOrigin& operator=(const TestOrigin&) = delete;

  std::string Url() const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/live/master.m3u8";
  }
  std::vector<Seen> Requests() const {
    const std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }
  int Connections() const {
    const std::lock_guard<std::mutex> lock(mu_);
    return connections_;
  }

  http::response<http::string_body> Handle(const http::request<http::string_body>& request,
                                           int connection) {
    const std::string target(request.target());
    const std::size_t q = target.find('?');
    const std::string path = target.substr(0, q);
    std::string hcs = q == std::string::npos ? "" : QueryParam(target.substr(q + 1), "hcs");
    {
      const std::lock_guard<std::mutex> lock(mu_);
      seen_.push_back({clock_.Now(), path, hcs, connection, request.body()});
      if (path == "/live/master.m3u8" && hcs.empty()) hcs = "s" + std::to_string(++minted_);
      if (path == "/api/channels/live/viewers") hcs = "t" + std::to_string(++tokens_);
    }
    http::response<http::string_body> response(http::status::ok, request.version());
    response.keep_alive(request.keep_alive());
    response.set(http::field::content_type, "application/vnd.apple.mpegurl");
    if (mode_ == Mode::kNotFound) {
      response.result(http::status::not_found);
      response.body() = "not found";
    } else if (request.method() == http::verb::post && path == "/api/channels/live/viewers") {
      // The heartbeat API of `serve`, with a 2 s heartbeat.
      response.result(http::status::created);
      response.set(http::field::content_type, "application/json");
      response.body() = R"({"token":")" + hcs + R"(","heartbeat_s":2,"expires_s":6})";
    } else if (request.method() == http::verb::post &&
               (path == "/api/channels/live/heartbeat" || path == "/api/channels/live/cmcd")) {
      response.result(http::status::no_content);
    } else if (path == "/live/master.m3u8") {
      response.body() =
          "#EXTM3U\n"
          "#EXT-X-STREAM-INF:BANDWIDTH=800000\n"
          "low/index.m3u8?v=1&hcs=" +
          hcs +
          "\n"
          "#EXT-X-STREAM-INF:BANDWIDTH=1600000\n"
          "high/index.m3u8?v=1&hcs=" +
          hcs + "\n";
    } else if (path == "/live/low/index.m3u8") {
      response.body() = MediaPlaylist(hcs);
    } else if (SegmentNumber(path) >= 0) {
      response.set(http::field::content_type, "video/mp2t");
      response.body() = std::string(kSegmentBytes, 'x');
    } else {
      response.result(http::status::not_found);
    }
    response.prepare_payload();
    return response;
  }

 private:
  // One keep-alive connection: read a request, answer it, repeat.
  class Connection : public std::enable_shared_from_this<Connection> {
   public:
    Connection(tcp::socket socket, TestOrigin* origin, int id)
        : socket_(std::move(socket)), origin_(origin), id_(id) {}
    void Read() {
      request_ = {};
      http::async_read(socket_, buffer_, request_,
                       [self = shared_from_this()](beast::error_code ec, std::size_t) {
                         if (!ec) self->Respond();
                       });
    }

   private:
    void Respond() {
      auto response =
          std::make_shared<http::response<http::string_body>>(origin_->Handle(request_, id_));
      http::async_write(socket_, *response,
                        [self = shared_from_this(), response](beast::error_code ec, std::size_t) {
                          if (!ec && response->keep_alive() && !self->origin_->drop_connections_) {
                            self->Read();
                          }
                        });
    }

    tcp::socket socket_;
    TestOrigin* origin_;
    const int id_;
    beast::flat_buffer buffer_;
    http::request<http::string_body> request_;
  };

  void Accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec) return;
      int id = 0;
      {
        const std::lock_guard<std::mutex> lock(mu_);
        id = connections_++;
        if (mode_ == Mode::kHangUp) seen_.push_back({clock_.Now(), "", "", id});
      }
      if (mode_ != Mode::kHangUp) std::make_shared<Connection>(std::move(socket), this, id)->Read();
      Accept();  // a hung-up socket closes here
    });
  }

  std::string MediaPlaylist(const std::string& hcs) const {
    std::int64_t first = 0;
    std::int64_t end = kEndedSegments;
    if (mode_ == Mode::kLive || mode_ == Mode::kStalled) {
      const auto elapsed =
          mode_ == Mode::kLive
              ? std::chrono::duration_cast<std::chrono::seconds>(clock_.Now() - start_)
              : std::chrono::seconds(0);
      end = kFirstLiveSegment + elapsed.count() + 1;
      first = end - kLiveWindow;
    }
    std::string out = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n";
    out += "#EXT-X-MEDIA-SEQUENCE:" + std::to_string(first) + "\n";
    for (std::int64_t seq = first; seq < end; ++seq) {
      const std::string name = "seg_" + std::to_string(seq) + ".ts?hcs=" + hcs;
      out += "#EXTINF:1.000,\n";
      switch (seq % 3) {  // every URI form a player must resolve
        case 0:
          out += name + "\n";
          break;
        case 1:
          out += "/live/low/" + name + "\n";
          break;
        default:
          out += "http://127.0.0.1:" + std::to_string(port_) + "/live/low/" + name + "\n";
      }
    }
    if (mode_ == Mode::kEnded) out += "#EXT-X-ENDLIST\n";
    return out;
  }

  const Mode mode_;
  const Clock& clock_;
  const bool drop_connections_;
  net::io_context io_;
  tcp::acceptor acceptor_;
  const unsigned short port_;
  const WallTime start_;
  std::thread thread_;

  // Guarded by mu_.
  mutable std::mutex mu_;
  std::vector<Seen> seen_;
  int connections_ = 0;
  int minted_ = 0;
  int tokens_ = 0;
};

}  // namespace headcount::testing
