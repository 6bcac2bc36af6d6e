// Tests of HttpServer over real sockets on 127.0.0.1 (ephemeral port), with a
// tiny blocking client written on POSIX sockets so the test does not compile
// Beast again. Timeouts are short (1 s) so the slow-client cases stay quick.
#include "server/http_server.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <thread>

namespace headcount {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using Ms = std::chrono::milliseconds;
using Steady = std::chrono::steady_clock;

// How long the client waits for an answer that should come.
constexpr Ms kAnswerTimeout = 5s;

struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

// A blocking HTTP/1.1 client on one TCP connection.
class Client {
 public:
  explicit Client(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Client() { ::close(fd_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }  // NOLINT(readability-identifier-naming)

  // Sends all of `data`; false if the connection broke.
  bool Send(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // Reads one response (no body for HEAD); empty if the connection closed or
  // nothing complete came within `timeout`.
  std::optional<RawResponse> Read(bool head = false, Ms timeout = kAnswerTimeout) {
    const auto deadline = Steady::now() + timeout;
    std::size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill(deadline)) return std::nullopt;
    }
    RawResponse r;
    const std::string head_text = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    std::size_t line_end = head_text.find("\r\n");
    const std::string status_line = head_text.substr(0, line_end);
    if (status_line.rfind("HTTP/1.", 0) != 0) return std::nullopt;
    r.status = std::stoi(status_line.substr(9, 3));
    while (line_end != std::string::npos) {
      const std::size_t start = line_end + 2;
      line_end = head_text.find("\r\n", start);
      const std::string line = head_text.substr(start, line_end - start);
      const std::size_t colon = line.find(':');
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      r.headers[name] = value;
    }
    if (head || r.status == 204 || r.status == 304) return r;
    const auto length = r.headers.find("content-length");
    if (length == r.headers.end()) return std::nullopt;  // the server always sends one
    const std::size_t n = std::stoul(length->second);
    while (buf_.size() < n) {
      if (!Fill(deadline)) return std::nullopt;
    }
    r.body = buf_.substr(0, n);
    buf_.erase(0, n);
    return r;
  }

  // Sends `request` and reads the answer.
  std::optional<RawResponse> Exchange(const std::string& request, bool head = false) {
    if (!Send(request)) return std::nullopt;
    return Read(head);
  }

  // True if the server closes the connection within `timeout` (bytes that
  // arrive meanwhile are dropped).
  bool WaitClosed(Ms timeout = kAnswerTimeout) {
    const auto deadline = Steady::now() + timeout;
    for (;;) {
      buf_.clear();
      if (!Fill(deadline)) return !timed_out_;
    }
  }

  // True if the server closes the connection with no further byte.
  bool ClosesWithoutData(Ms timeout = kAnswerTimeout) {
    if (!buf_.empty()) return false;
    return !Fill(Steady::now() + timeout) && !timed_out_;
  }

  // True if nothing is pending: no bytes buffered and none arrive within `wait`.
  bool Quiet(Ms wait) {
    if (!buf_.empty()) return false;
    return !Fill(Steady::now() + wait) && timed_out_;
  }

 private:
  // Reads more into buf_; false on close, error or deadline (timed_out_ says which).
  bool Fill(Steady::time_point deadline) {
    timed_out_ = false;
    const auto left = std::chrono::duration_cast<Ms>(deadline - Steady::now());
    pollfd p{fd_, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      timed_out_ = true;
      return false;
    }
    char chunk[65536];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;  // closed or reset
    buf_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  bool timed_out_ = false;
  std::string buf_;
};

std::string Get(const std::string& target, const std::string& extra = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: t\r\n" + extra + "\r\n";
}

class HttpServerTest : public ::testing::Test {
 protected:
  HttpServerTest() {
    options_.port = 0;
    options_.read_timeout = 1s;
    options_.write_timeout = 2s;
    options_.idle_timeout = 2s;
  }
  ~HttpServerTest() override {
    if (server_) server_->Stop();
  }

  // Starts the server with options_ and the handler below.
  void Start() {
    server_ = std::make_unique<HttpServer>(
        options_, [this](const HttpRequest& req) { return Handle(req); },
        [this](const HttpExchange& x) {
          std::lock_guard lock(mu_);
          exchanges_.push_back(x);
        });
    const Status st = server_->Start();
    ASSERT_TRUE(st.ok()) << st.error().ToString();
    ASSERT_NE(server_->port(), 0);
  }

  // Echoes the request as JSON; /slow waits, /throw throws, /file sends file_.
  HttpResponse Handle(const HttpRequest& req) {
    if (req.path == "/throw") throw std::runtime_error("boom");
    if (req.path == "/slow") std::this_thread::sleep_for(150ms);
    if (req.path == "/nocontent") return HttpResponse::Text(204, "dropped");
    if (req.path == "/file") {
      HttpResponse r;
      r.content_type = "video/mp2t";
      r.file = file_;
      return r;
    }
    nlohmann::json query = nlohmann::json::object();
    for (const auto& [k, v] : req.query) query[k] = v;
    HttpResponse r = HttpResponse::Json(200, nlohmann::json{{"method", req.method},
                                                            {"path", req.path},
                                                            {"target", req.target},
                                                            {"query", query},
                                                            {"headers", req.headers},
                                                            {"client", req.client_address},
                                                            {"body", req.body}}
                                                 .dump());
    r.headers.emplace_back("X-Test", "yes");
    r.headers.emplace_back("X-Bad", "a\r\nSet-Cookie: evil=1");
    return r;
  }

  std::unique_ptr<Client> Connect() { return std::make_unique<Client>(server_->port()); }

  // The exchanges observed so far, once there are `n` (the observer runs after
  // the response is written, so it may lag the client by a moment).
  std::vector<HttpExchange> Exchanges(std::size_t n) {
    const auto deadline = Steady::now() + kAnswerTimeout;
    for (;;) {
      {
        std::lock_guard lock(mu_);
        if (exchanges_.size() >= n || Steady::now() > deadline) return exchanges_;
      }
      std::this_thread::sleep_for(5ms);
    }
  }

  HttpServerOptions options_;
  std::unique_ptr<HttpServer> server_;
  std::filesystem::path file_;
  std::mutex mu_;
  std::vector<HttpExchange> exchanges_;  // guarded by mu_
};

TEST_F(HttpServerTest, GetPassesTheRequestToTheHandler) {
  Start();
  auto c = Connect();
  auto r = c->Exchange(
      "GET /hello%20world?since=1h&hcs=secret HTTP/1.1\r\nHost: t\r\nX-Mixed-Case: V\r\n"
      "X-Mixed-Case: W\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->headers["server"], "headcount");
  EXPECT_EQ(r->headers["x-content-type-options"], "nosniff");
  EXPECT_EQ(r->headers["content-type"], "application/json");
  EXPECT_EQ(r->headers["x-test"], "yes");
  EXPECT_EQ(r->headers.count("x-bad"), 0u);  // a header with CR/LF is dropped
  EXPECT_EQ(r->headers.count("set-cookie"), 0u);
  EXPECT_EQ(r->headers["content-length"], std::to_string(r->body.size()));
  const auto body = nlohmann::json::parse(r->body);
  EXPECT_EQ(body["method"], "GET");
  EXPECT_EQ(body["path"], "/hello world");
  EXPECT_EQ(body["target"], "/hello%20world?since=1h&hcs=secret");
  EXPECT_EQ(body["query"]["since"], "1h");
  EXPECT_EQ(body["headers"]["x-mixed-case"], "V, W");
  EXPECT_EQ(body["headers"]["host"], "t");
  EXPECT_EQ(body["client"], "127.0.0.1");

  const auto exchanges = Exchanges(1);
  ASSERT_EQ(exchanges.size(), 1u);
  EXPECT_EQ(exchanges[0].method, "GET");
  EXPECT_EQ(exchanges[0].path, "/hello world");
  EXPECT_EQ(exchanges[0].status, 200);
  EXPECT_EQ(exchanges[0].body_bytes, r->body.size());
}

TEST_F(HttpServerTest, AccessLogHasNoQueryString) {
  std::ostringstream log;
  auto previous = spdlog::default_logger();
  auto logger = std::make_shared<spdlog::logger>(
      "test", std::make_shared<spdlog::sinks::ostream_sink_mt>(log));
  logger->set_level(spdlog::level::debug);
  logger->set_pattern("%v");
  spdlog::set_default_logger(logger);
  Start();
  auto c = Connect();
  ASSERT_TRUE(c->Exchange(Get("/hls/demo/stream.m3u8?hcs=SECRET-SESSION")));
  ASSERT_TRUE(c->Exchange(Get("/" + std::string(5000, 'q') + "?hcs=SECRET-SESSION")));  // 414
  Exchanges(2);
  server_->Stop();
  spdlog::set_default_logger(previous);
  const std::string text = log.str();
  EXPECT_THAT(text, HasSubstr("GET /hls/demo/stream.m3u8 200 "));
  EXPECT_THAT(text, HasSubstr(" 414 "));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("SECRET")));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("hcs")));
}

TEST_F(HttpServerTest, PostBodyReachesTheHandler) {
  Start();
  auto c = Connect();
  auto r = c->Exchange(
      "POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello");
  ASSERT_TRUE(r);
  EXPECT_EQ(nlohmann::json::parse(r->body)["body"], "hello");
}

TEST_F(HttpServerTest, HeadSendsLengthWithoutBody) {
  Start();
  auto c = Connect();
  auto get = c->Exchange(Get("/x"));
  ASSERT_TRUE(get);
  ASSERT_TRUE(c->Send("HEAD /x HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto head = c->Read(/*head=*/true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->headers["content-length"],
            std::to_string(get->body.size() + 1));  // "HEAD" is one letter longer than "GET"
  // No body followed: the next bytes are the next response.
  auto next = c->Exchange(Get("/after"));
  ASSERT_TRUE(next);
  EXPECT_EQ(next->status, 200);
  EXPECT_EQ(nlohmann::json::parse(next->body)["path"], "/after");
}

TEST_F(HttpServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  Start();
  auto c = Connect();
  for (int i = 0; i < 5; ++i) {
    auto r = c->Exchange(Get("/n" + std::to_string(i)));
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(nlohmann::json::parse(r->body)["path"], "/n" + std::to_string(i));
    EXPECT_NE(r->headers["connection"], "close");
  }
}

TEST_F(HttpServerTest, ConnectionCloseAndHttp10CloseAfterTheResponse) {
  Start();
  auto c = Connect();
  auto r = c->Exchange(Get("/a", "Connection: close\r\n"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->headers["connection"], "close");
  EXPECT_TRUE(c->WaitClosed());

  auto d = Connect();
  auto r10 = d->Exchange("GET /b HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(r10);
  EXPECT_EQ(r10->status, 200);
  EXPECT_TRUE(d->WaitClosed());
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  Start();
  auto c = Connect();
  ASSERT_TRUE(c->Send(Get("/slow") + Get("/fast") + Get("/third")));
  for (const char* path : {"/slow", "/fast", "/third"}) {
    auto r = c->Read();
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(nlohmann::json::parse(r->body)["path"], path);
  }
}

TEST_F(HttpServerTest, ThousandsOfPipelinedRequestsAreAllAnswered) {
  // All in one send: the server finds many complete requests in each read,
  // and answers each at once (loopback takes the small responses).
  constexpr int kRequests = 3000;
  Start();
  auto c = Connect();
  std::string pipeline;
  for (int i = 0; i < kRequests; ++i) pipeline += Get("/p" + std::to_string(i));
  ASSERT_TRUE(c->Send(pipeline));
  for (int i = 0; i < kRequests; ++i) {
    auto r = c->Read();
    ASSERT_TRUE(r) << i;
    ASSERT_EQ(nlohmann::json::parse(r->body)["path"], "/p" + std::to_string(i));
  }
}

TEST_F(HttpServerTest, HugeHeaderIs431) {
  Start();
  auto c = Connect();
  auto r = c->Exchange(Get("/x", "X-Big: " + std::string(20000, 'a') + "\r\n"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
  EXPECT_TRUE(nlohmann::json::parse(r->body).contains("error"));
  EXPECT_EQ(r->headers["connection"], "close");
  EXPECT_TRUE(c->WaitClosed());
}

TEST_F(HttpServerTest, LongTargetIs414) {
  Start();
  auto c = Connect();
  auto r = c->Exchange(Get("/" + std::string(5000, 'a')));  // fits the header limit
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 414);
  EXPECT_TRUE(c->WaitClosed());

  auto h = Connect();  // HEAD: the error has a length but no body
  ASSERT_TRUE(h->Send("HEAD /" + std::string(5000, 'a') + " HTTP/1.1\r\nHost: t\r\n\r\n"));
  r = h->Read(/*head=*/true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 414);
  EXPECT_TRUE(h->ClosesWithoutData());

  auto d = Connect();
  r = d->Exchange(Get("/" + std::string(20000, 'a')));  // larger than the header limit
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 414);
}

TEST_F(HttpServerTest, BigBodyIs413) {
  Start();
  auto c = Connect();
  // Announced too big: refused before the body is read.
  auto r = c->Exchange("POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_TRUE(c->WaitClosed());

  // Sent in full: the response still arrives (the server drains, no reset).
  auto d = Connect();
  const std::string body(70000, 'b');
  r = d->Exchange("POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 70000\r\n\r\n" + body);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);

  // Chunked, growing past the limit.
  auto e = Connect();
  std::string chunked = "POST /p HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 20; ++i) chunked += "1000\r\n" + std::string(4096, 'c') + "\r\n";
  r = e->Exchange(chunked);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
}

TEST_F(HttpServerTest, MalformedRequestsAre400) {
  Start();
  for (const std::string& request :
       {std::string("GARBAGE\r\n\r\n"), Get("/a/../b"), Get("/%2e%2e/etc/passwd"), Get("/a%00"),
        Get("/a%zz"), std::string("GET /x HTTP/1.1\r\nHost: t\r\nContent-Length: zz\r\n\r\n")}) {
    auto c = Connect();
    auto r = c->Exchange(request);
    ASSERT_TRUE(r) << request;
    EXPECT_EQ(r->status, 400) << request;
    EXPECT_EQ(r->headers["content-type"], "application/json") << request;
    EXPECT_TRUE(nlohmann::json::parse(r->body).contains("error")) << request;
  }
}

TEST_F(HttpServerTest, NoContentHasNoBodyAndNoLength) {
  Start();
  auto c = Connect();
  auto r = c->Exchange(Get("/nocontent"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204);
  EXPECT_EQ(r->headers.count("content-length"), 0u);
  auto next = c->Exchange(Get("/next"));  // framing intact
  ASSERT_TRUE(next);
  EXPECT_EQ(nlohmann::json::parse(next->body)["path"], "/next");
}

TEST_F(HttpServerTest, HandlerExceptionIs500AndTheConnectionLives) {
  Start();
  auto c = Connect();
  auto r = c->Exchange(Get("/throw"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->body, R"({"error":"internal error"})");
  auto next = c->Exchange(Get("/ok"));
  ASSERT_TRUE(next);
  EXPECT_EQ(next->status, 200);
}

TEST_F(HttpServerTest, SlowlorisIsDisconnectedWhileOthersAreServed) {
  Start();
  auto slow = Connect();
  const auto started = Steady::now();
  ASSERT_TRUE(slow->Send("GET / HTTP/1.1\r\nHost: t\r\n"));  // half a header, then nothing

  auto trickle = Connect();  // one byte every 200 ms: never a whole request
  std::atomic<bool> trickle_cut{false};
  std::thread trickler([&] {
    const std::string request = Get("/" + std::string(100, 't'));
    for (const char ch : request) {
      if (!trickle->Send(std::string_view(&ch, 1))) break;
      std::this_thread::sleep_for(200ms);
      if (Steady::now() - started > 4s) break;
    }
    trickle_cut = true;
  });

  for (int i = 0; i < 3; ++i) {
    auto other = Connect();
    auto r = other->Exchange(Get("/other"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_TRUE(slow->WaitClosed(3s));
  const auto elapsed = Steady::now() - started;
  EXPECT_GE(elapsed, 900ms);
  EXPECT_LT(elapsed, 3s);
  EXPECT_TRUE(trickle->WaitClosed(3s));
  EXPECT_LT(Steady::now() - started, 3s);
  trickler.join();
}

TEST_F(HttpServerTest, IdleKeepAliveConnectionIsClosedAfterIdleTimeout) {
  options_.idle_timeout = 1s;
  Start();
  auto c = Connect();
  ASSERT_TRUE(c->Exchange(Get("/a")));
  const auto t0 = Steady::now();
  EXPECT_TRUE(c->WaitClosed(3s));
  EXPECT_GE(Steady::now() - t0, 900ms);
}

TEST_F(HttpServerTest, PerClientConnectionCap) {
  options_.max_connections_per_client = 2;
  Start();
  auto a = Connect();
  auto b = Connect();
  ASSERT_TRUE(a->Exchange(Get("/a")));  // both accepted and counted
  ASSERT_TRUE(b->Exchange(Get("/b")));
  auto c = Connect();
  ASSERT_TRUE(c->connected());  // the kernel accepts; the server closes it
  EXPECT_TRUE(c->WaitClosed(2s));
  EXPECT_TRUE(a->Exchange(Get("/a2")));  // the first two still work

  a.reset();  // frees a slot once the server notices
  std::optional<RawResponse> r;
  for (int i = 0; i < 20 && !r; ++i) {
    std::this_thread::sleep_for(50ms);
    auto d = Connect();
    r = d->Exchange(Get("/d"));
  }
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(HttpServerTest, TotalConnectionCap) {
  options_.max_connections = 1;
  Start();
  auto a = Connect();
  ASSERT_TRUE(a->Exchange(Get("/a")));
  auto b = Connect();
  EXPECT_TRUE(b->WaitClosed(2s));
  EXPECT_TRUE(a->Exchange(Get("/a2")));
}

class FileResponseTest : public HttpServerTest {
 protected:
  FileResponseTest() {
    file_ = std::filesystem::temp_directory_path() /
            ("headcount_http_server_test_" + std::to_string(::getpid()) + ".ts");
    created_ = file_;
    std::mt19937 rng(7);
    content_.resize(300 * 1000 + 7);
    for (char& ch : content_) ch = static_cast<char>(rng());
    std::ofstream(file_, std::ios::binary) << content_;
  }
  ~FileResponseTest() override {
    std::error_code ec;
    std::filesystem::remove(created_, ec);
  }

  std::filesystem::path created_;  // the one file this test made (file_ may change)
  std::string content_;
};

TEST_F(FileResponseTest, StreamsTheFileWithItsLength) {
  Start();
  auto c = Connect();
  auto r = c->Exchange(Get("/file"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->headers["content-type"], "video/mp2t");
  EXPECT_EQ(r->headers["content-length"], std::to_string(content_.size()));
  EXPECT_TRUE(r->body == content_);

  ASSERT_TRUE(c->Send("HEAD /file HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto head = c->Read(/*head=*/true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->headers["content-length"], std::to_string(content_.size()));
  EXPECT_TRUE(c->Quiet(300ms));  // no body after HEAD

  const auto exchanges = Exchanges(2);
  ASSERT_EQ(exchanges.size(), 2u);
  EXPECT_EQ(exchanges[0].body_bytes, content_.size());
  EXPECT_EQ(exchanges[1].body_bytes, 0u);
}

TEST_F(FileResponseTest, VanishedFileIs404) {
  Start();
  std::filesystem::remove(created_);
  auto c = Connect();
  auto r = c->Exchange(Get("/file"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->headers["content-type"], "application/json");
  EXPECT_TRUE(nlohmann::json::parse(r->body).contains("error"));

  file_ = std::filesystem::temp_directory_path();  // a folder is not a file either
  auto dir = c->Exchange(Get("/file"));
  ASSERT_TRUE(dir);
  EXPECT_EQ(dir->status, 404);
}

// Bigger than loopback's socket buffers, so the server has to wait for the
// client to read.
constexpr std::size_t kBigFileBytes = std::size_t{32} * 1024 * 1024;

std::string BigContent() {
  std::string content(kBigFileBytes, '\0');
  for (std::size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>(i * 131 / 7);
  return content;
}

TEST_F(FileResponseTest, FileBiggerThanTheSocketBuffersArrivesWhole) {
  content_ = BigContent();
  std::ofstream(file_, std::ios::binary | std::ios::trunc) << content_;
  Start();
  auto c = Connect();
  ASSERT_TRUE(c->Send(Get("/file")));
  std::this_thread::sleep_for(300ms);  // the server fills the socket and waits
  auto r = c->Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->headers["content-length"], std::to_string(kBigFileBytes));
  EXPECT_TRUE(r->body == content_);
  EXPECT_TRUE(c->Exchange(Get("/a")));  // and the connection goes on
}

TEST_F(FileResponseTest, ClientThatStopsReadingIsDroppedAfterTheWriteTimeout) {
  content_ = BigContent();
  std::ofstream(file_, std::ios::binary | std::ios::trunc) << content_;
  options_.write_timeout = 1s;
  options_.max_connections_per_client = 1;
  Start();
  const auto t0 = Steady::now();
  auto stalled = Connect();
  ASSERT_TRUE(stalled->Send(Get("/file")));  // and never reads
  std::this_thread::sleep_for(200ms);
  EXPECT_TRUE(Connect()->WaitClosed(500ms));  // its connection holds the only slot

  // Once the write timeout ends the stalled response, the slot is free again.
  std::optional<RawResponse> served;
  while (!served && Steady::now() - t0 < 5s) {
    auto next = Connect();
    served = next->Exchange(Get("/a"));
    if (!served) std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(served);
  EXPECT_GE(Steady::now() - t0, 900ms);
  const auto exchanges = Exchanges(1);
  ASSERT_FALSE(exchanges.empty());
  EXPECT_EQ(exchanges[0].path, "/file");
}

TEST_F(FileResponseTest, FifoIsNotServedAndDoesNotBlock) {
  const std::filesystem::path fifo = created_.string() + ".fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  file_ = fifo;
  Start();
  auto c = Connect();
  auto r = c->Exchange(Get("/file"));
  std::filesystem::remove(fifo);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
}

TEST_F(HttpServerTest, StopReturnsPromptlyWithOpenConnections) {
  options_.read_timeout = 30s;
  options_.idle_timeout = 30s;
  Start();
  const std::uint16_t port = server_->port();
  auto idle = Connect();  // connected, never sends
  auto half = Connect();
  ASSERT_TRUE(half->Send("GET / HTTP/1.1\r\nHost: t\r\n"));
  auto kept = Connect();
  ASSERT_TRUE(kept->Exchange(Get("/a")));
  std::this_thread::sleep_for(100ms);  // let the server accept them all

  const auto t0 = Steady::now();
  server_->Stop();
  EXPECT_LT(Steady::now() - t0, 1s);
  EXPECT_TRUE(idle->WaitClosed(1s));
  EXPECT_TRUE(half->WaitClosed(1s));
  EXPECT_TRUE(kept->WaitClosed(1s));
  EXPECT_EQ(server_->port(), 0);
  Client late(port);
  EXPECT_FALSE(late.connected());  // nobody listens any more
  server_->Stop();                 // idempotent
}

TEST_F(HttpServerTest, CanStartAgainAfterStop) {
  Start();
  server_->Stop();
  ASSERT_TRUE(server_->Start().ok());
  auto c = Connect();
  EXPECT_TRUE(c->Exchange(Get("/again")));
  EXPECT_FALSE(server_->Start().ok());  // already running
}

TEST(HttpServerStartTest, ErrorsNameTheAddress) {
  HttpServerOptions options;
  options.port = 0;
  auto handler = [](const HttpRequest&) { return HttpResponse::Text(200, "x"); };
  HttpServer first(options, handler);
  ASSERT_TRUE(first.Start().ok());

  options.port = first.port();
  HttpServer second(options, handler);
  const Status taken = second.Start();
  ASSERT_FALSE(taken.ok());
  EXPECT_THAT(taken.error().message(), HasSubstr("127.0.0.1:" + std::to_string(first.port())));
  EXPECT_EQ(second.port(), 0);

  options.address = "not-an-address";
  HttpServer third(options, handler);
  const Status bad = third.Start();
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message(), HasSubstr("not-an-address"));
  third.Stop();  // never started: fine
}

}  // namespace
}  // namespace headcount
