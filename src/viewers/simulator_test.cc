// Integration tests for ViewerSimulator against a small in-process HLS origin
// on 127.0.0.1 that hands out session ids (?hcs=) the way headcount's origin does.
#include "viewers/simulator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace headcount {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using std::chrono::milliseconds;
using std::chrono::seconds;
using SteadyTime = std::chrono::steady_clock::time_point;

constexpr std::int64_t kFirstLiveSegment = 10;  // newest segment when the origin starts
constexpr std::int64_t kLiveWindow = 6;         // segments in the live playlist
constexpr std::int64_t kEndedSegments = 5;      // segments in the ended playlist
constexpr std::size_t kSegmentBytes = 1000;

double SecondsBetween(SteadyTime from, SteadyTime to) {
  return std::chrono::duration<double>(to - from).count();
}

// One request as the origin saw it.
struct Seen {
  SteadyTime at;
  std::string path;  // without the query
  std::string hcs;   // the session id parameter, "" when absent
  int connection;    // which TCP connection carried it
};

// Sequence number in ".../seg_<n>.ts", or -1.
std::int64_t SegmentNumber(const std::string& path) {
  const std::size_t at = path.rfind("/seg_");
  if (at == std::string::npos) return -1;
  return std::stoll(path.substr(at + 5));
}

// The value of `name` in "a=1&name=v", or "".
std::string QueryParam(std::string_view query, std::string_view name) {
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

// Imitates a session-counting origin: /live/master.m3u8 mints an id when the
// request has none and puts it in every URI it hands out; /live/low/index.m3u8
// is a live playlist (target duration 1) that gains a segment every second
// and carries the caller's id on each segment URI. Thread-safe.
class TestOrigin {
 public:
  enum class Mode { kLive, kEnded, kNotFound };

  // With `drop_connections`, the origin closes every connection after one
  // response without saying so (as an idle timeout does).
  explicit TestOrigin(Mode mode, bool drop_connections = false)
      : mode_(mode),
        drop_connections_(drop_connections),
        acceptor_(io_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)),
        port_(acceptor_.local_endpoint().port()),
        start_(std::chrono::steady_clock::now()) {
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

  http::response<http::string_body> Handle(const http::request<http::empty_body>& request,
                                           int connection) {
    const std::string target(request.target());
    const std::size_t q = target.find('?');
    const std::string path = target.substr(0, q);
    std::string hcs = q == std::string::npos ? "" : QueryParam(target.substr(q + 1), "hcs");
    {
      const std::lock_guard<std::mutex> lock(mu_);
      seen_.push_back({std::chrono::steady_clock::now(), path, hcs, connection});
      if (path == "/live/master.m3u8" && hcs.empty()) hcs = "s" + std::to_string(++minted_);
    }
    http::response<http::string_body> response(http::status::ok, request.version());
    response.keep_alive(request.keep_alive());
    response.set(http::field::content_type, "application/vnd.apple.mpegurl");
    if (mode_ == Mode::kNotFound) {
      response.result(http::status::not_found);
      response.body() = "not found";
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
    http::request<http::empty_body> request_;
  };

  void Accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec) return;
      int id = 0;
      {
        const std::lock_guard<std::mutex> lock(mu_);
        id = connections_++;
      }
      std::make_shared<Connection>(std::move(socket), this, id)->Read();
      Accept();
    });
  }

  std::string MediaPlaylist(const std::string& hcs) const {
    std::int64_t first = 0;
    std::int64_t end = kEndedSegments;
    if (mode_ == Mode::kLive) {
      const auto elapsed =
          std::chrono::duration_cast<seconds>(std::chrono::steady_clock::now() - start_);
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
  const bool drop_connections_;
  net::io_context io_;
  tcp::acceptor acceptor_;
  const unsigned short port_;
  const SteadyTime start_;
  std::thread thread_;

  // Guarded by mu_.
  mutable std::mutex mu_;
  std::vector<Seen> seen_;
  int connections_ = 0;
  int minted_ = 0;
};

// The requests of each session id, in arrival order.
std::map<std::string, std::vector<Seen>> BySession(const std::vector<Seen>& requests) {
  std::map<std::string, std::vector<Seen>> out;
  for (const Seen& r : requests) {
    if (!r.hcs.empty()) out[r.hcs].push_back(r);
  }
  return out;
}

// Entry requests without a session id: one per player start.
std::vector<Seen> Arrivals(const std::vector<Seen>& requests) {
  std::vector<Seen> out;
  for (const Seen& r : requests) {
    if (r.path == "/live/master.m3u8" && r.hcs.empty()) out.push_back(r);
  }
  return out;
}

TEST(ViewerSimulator, NPlayersAreNSessionsThatFollowTheLiveEdge) {
  TestOrigin origin(TestOrigin::Mode::kLive);
  ViewerSimulator simulator({.url = origin.Url(), .count = 3, .duration = seconds(4)});
  const SteadyTime t0 = std::chrono::steady_clock::now();
  const Status status = simulator.Run();
  const double took = SecondsBetween(t0, std::chrono::steady_clock::now());
  ASSERT_TRUE(status.ok()) << status.error().ToString();
  EXPECT_GE(took, 3.9);  // the duration ends Run on its own
  EXPECT_LE(took, 5.0);

  const std::vector<Seen> requests = origin.Requests();
  EXPECT_EQ(Arrivals(requests).size(), 3U);
  const auto sessions = BySession(requests);
  ASSERT_EQ(sessions.size(), 3U) << "every follow-up request must carry its player's id";
  EXPECT_EQ(requests.size(),
            3U + sessions.at("s1").size() + sessions.at("s2").size() + sessions.at("s3").size());
  EXPECT_EQ(origin.Connections(), 3) << "one keep-alive connection per player";

  std::int64_t segments = 0;
  for (const auto& [id, seen] : sessions) {
    int reloads = 0;
    std::vector<std::int64_t> sequence;
    for (const Seen& r : seen) {
      EXPECT_NE(r.path, "/live/high/index.m3u8") << "players take the first variant";
      if (r.path == "/live/low/index.m3u8") ++reloads;
      if (SegmentNumber(r.path) >= 0) sequence.push_back(SegmentNumber(r.path));
    }
    EXPECT_GE(reloads, 2) << id;
    EXPECT_LE(reloads, 8) << id << ": about one reload per target duration";
    ASSERT_GE(sequence.size(), 3U) << id;
    // Joins 3 segments from the live edge (the first playlist ends at 10).
    EXPECT_GE(sequence.front(), kFirstLiveSegment - 2) << id;
    EXPECT_LE(sequence.front(), kFirstLiveSegment) << id;
    for (std::size_t i = 1; i < sequence.size(); ++i) {
      EXPECT_EQ(sequence[i], sequence[i - 1] + 1) << id << ": in order, each once, no gaps";
    }
    EXPECT_GE(sequence.back(), kFirstLiveSegment + 2) << id << ": keeps up with the stream";
    segments += static_cast<std::int64_t>(sequence.size());
  }

  const SimulatorStats stats = simulator.stats();
  EXPECT_EQ(stats.players_started, 3);
  EXPECT_EQ(stats.players_active, 0);  // Run has returned
  EXPECT_EQ(stats.errors, 0);
  EXPECT_EQ(stats.segment_requests, segments);
  EXPECT_EQ(stats.playlist_requests + stats.segment_requests,
            static_cast<std::int64_t>(requests.size()));
  EXPECT_GE(stats.bytes, segments * static_cast<std::int64_t>(kSegmentBytes));
}

TEST(ViewerSimulator, ManyPlayersOnTwoThreadsAreExactlyThatManySessions) {
  constexpr int kPlayers = 200;
  TestOrigin origin(TestOrigin::Mode::kLive);
  ViewerSimulator simulator(
      {.url = origin.Url(), .count = kPlayers, .duration = milliseconds(2500), .threads = 2});
  ASSERT_TRUE(simulator.Run().ok());
  const std::vector<Seen> requests = origin.Requests();
  EXPECT_EQ(Arrivals(requests).size(), static_cast<std::size_t>(kPlayers));
  const auto sessions = BySession(requests);
  EXPECT_EQ(sessions.size(), static_cast<std::size_t>(kPlayers));
  for (const auto& [id, seen] : sessions) {
    std::int64_t last = -1;
    for (const Seen& r : seen) {
      const std::int64_t n = SegmentNumber(r.path);
      if (n < 0) continue;
      EXPECT_GT(n, last) << id;
      last = n;
    }
    EXPECT_GE(last, kFirstLiveSegment) << id;
  }
  EXPECT_EQ(simulator.stats().errors, 0);
  EXPECT_EQ(origin.Connections(), kPlayers);
}

TEST(ViewerSimulator, ReconnectsQuietlyWhenTheOriginDropsIdleConnections) {
  TestOrigin origin(TestOrigin::Mode::kLive, /*drop_connections=*/true);
  ViewerSimulator simulator({.url = origin.Url(), .count = 2, .duration = milliseconds(2500)});
  ASSERT_TRUE(simulator.Run().ok());
  const std::vector<Seen> requests = origin.Requests();
  EXPECT_EQ(BySession(requests).size(), 2U);
  EXPECT_GT(origin.Connections(), 2);
  EXPECT_EQ(simulator.stats().errors, 0) << "a closed idle connection is not an error";
  EXPECT_GE(simulator.stats().segment_requests, 6);
}

TEST(ViewerSimulator, RampSpreadsPlayerStarts) {
  TestOrigin origin(TestOrigin::Mode::kLive);
  ViewerSimulator simulator({.url = origin.Url(),
                             .count = 4,
                             .ramp = seconds(2),
                             .duration = milliseconds(2500),
                             .threads = 2});
  const SteadyTime t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(simulator.Run().ok());
  const std::vector<Seen> arrivals = Arrivals(origin.Requests());
  ASSERT_EQ(arrivals.size(), 4U);
  for (std::size_t i = 0; i < arrivals.size(); ++i) {
    EXPECT_NEAR(SecondsBetween(t0, arrivals[i].at), 0.5 * static_cast<double>(i), 0.3)
        << "player " << i;
  }
  EXPECT_EQ(BySession(origin.Requests()).size(), 4U);
  EXPECT_EQ(simulator.stats().players_started, 4);
}

TEST(ViewerSimulator, StopEndsRunPromptly) {
  TestOrigin origin(TestOrigin::Mode::kLive);
  ViewerSimulator simulator({.url = origin.Url(), .count = 2});  // no duration
  Status status = Error::Internal("not run");
  std::thread runner([&] { status = simulator.Run(); });
  const SteadyTime give_up = std::chrono::steady_clock::now() + seconds(3);
  while (simulator.stats().segment_requests < 2 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_EQ(simulator.stats().players_active, 2);
  const SteadyTime stop_at = std::chrono::steady_clock::now();
  simulator.Stop();
  runner.join();
  EXPECT_LT(SecondsBetween(stop_at, std::chrono::steady_clock::now()), 0.5);
  EXPECT_TRUE(status.ok()) << status.error().ToString();
  EXPECT_EQ(simulator.stats().players_active, 0);
  EXPECT_GE(simulator.stats().segment_requests, 2);
}

TEST(ViewerSimulator, StopBeforeRunMakesRunReturnAtOnce) {
  TestOrigin origin(TestOrigin::Mode::kLive);
  ViewerSimulator simulator({.url = origin.Url(), .count = 2});
  simulator.Stop();
  ASSERT_TRUE(simulator.Run().ok());
  EXPECT_TRUE(origin.Requests().empty());
  EXPECT_EQ(simulator.stats().players_started, 0);
}

TEST(ViewerSimulator, EndedStreamIsPlayedToItsEndThenRunReturns) {
  TestOrigin origin(TestOrigin::Mode::kEnded);
  ViewerSimulator simulator({.url = origin.Url(), .count = 2});  // no duration
  Status status = Error::Internal("not run");
  std::atomic<bool> done{false};
  std::thread runner([&] {
    status = simulator.Run();
    done = true;
  });
  // Watchdog: Run must end by itself well before this.
  const SteadyTime give_up = std::chrono::steady_clock::now() + seconds(8);
  while (!done && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  if (!done) {
    ADD_FAILURE() << "Run did not return after every player reached #EXT-X-ENDLIST";
    simulator.Stop();
  }
  runner.join();
  ASSERT_TRUE(status.ok()) << status.error().ToString();

  const auto sessions = BySession(origin.Requests());
  ASSERT_EQ(sessions.size(), 2U);
  for (const auto& [id, seen] : sessions) {
    std::vector<std::int64_t> sequence;
    int reloads = 0;
    for (const Seen& r : seen) {
      if (r.path == "/live/low/index.m3u8") ++reloads;
      if (SegmentNumber(r.path) >= 0) sequence.push_back(SegmentNumber(r.path));
    }
    EXPECT_EQ(reloads, 1) << id << ": an ended playlist is not reloaded";
    EXPECT_EQ(sequence, (std::vector<std::int64_t>{0, 1, 2, 3, 4})) << id;
  }
}

TEST(ViewerSimulator, HttpErrorsAreCountedAndRetriedWithoutSpinning) {
  TestOrigin origin(TestOrigin::Mode::kNotFound);
  ViewerSimulator simulator({.url = origin.Url(), .count = 2, .duration = milliseconds(2500)});
  ASSERT_TRUE(simulator.Run().ok());
  // Each player: t=0, then after the default retry delay (2 s).
  const auto requests = static_cast<std::int64_t>(origin.Requests().size());
  EXPECT_GE(requests, 4) << "each player retries";
  EXPECT_LE(requests, 8) << "a failing playlist is retried about once per target duration";
  const SimulatorStats stats = simulator.stats();
  EXPECT_EQ(stats.errors, requests);
  EXPECT_EQ(stats.playlist_requests, requests);
  EXPECT_EQ(stats.segment_requests, 0);
}

TEST(ViewerSimulator, UnreachableOriginBacksOff) {
  unsigned short closed_port = 0;
  {
    net::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    closed_port = acceptor.local_endpoint().port();
  }  // closed: connections are refused
  ViewerSimulator simulator({.url = "http://127.0.0.1:" + std::to_string(closed_port) + "/a.m3u8",
                             .count = 1,
                             .duration = seconds(2)});
  ASSERT_TRUE(simulator.Run().ok());
  const SimulatorStats stats = simulator.stats();
  EXPECT_GE(stats.errors, 2);
  EXPECT_LE(stats.errors, 5) << "reconnects back off";
  EXPECT_EQ(stats.errors, stats.playlist_requests);
}

TEST(ViewerSimulator, RejectsBadOptions) {
  const SimulatorOptions bad[] = {
      {.url = "http://127.0.0.1:1/a.m3u8", .count = 0},
      {.url = "http://127.0.0.1:1/a.m3u8", .count = kMaxPlayers + 1},
      {.url = "http://127.0.0.1:1/a.m3u8", .count = 1, .ramp = milliseconds(-1)},
      {.url = "http://127.0.0.1:1/a.m3u8", .count = 1, .threads = 0},
      {.url = "https://127.0.0.1:1/a.m3u8", .count = 1},
      {.url = "127.0.0.1:1/a.m3u8", .count = 1},
  };
  for (const SimulatorOptions& options : bad) {
    ViewerSimulator simulator(options);
    const Status status = simulator.Run();
    ASSERT_FALSE(status.ok()) << options.url << " count " << options.count;
    EXPECT_EQ(status.error().code(), ErrorCode::kInvalidArgument);
  }
  ViewerSimulator https({.url = "https://example.com/a.m3u8"});
  const Status status = https.Run();
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message().find("https"), std::string::npos);
}

TEST(ViewerSimulator, RunIsOneShot) {
  TestOrigin origin(TestOrigin::Mode::kLive);
  ViewerSimulator simulator({.url = origin.Url(), .count = 1, .duration = milliseconds(100)});
  ASSERT_TRUE(simulator.Run().ok());
  EXPECT_FALSE(simulator.Run().ok());
}

}  // namespace
}  // namespace headcount
