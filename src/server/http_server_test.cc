// Tests of HttpServer over real sockets: what reaches the handler, what the
// client gets back (headers, HEAD, keep-alive, pipelining, 204, 500 for an
// exception), the access log, and Start/Stop.
#include "server/http_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "server/http_server_testing.h"

namespace headcount {
namespace {

using namespace std::chrono_literals;
using http_testing::Client;
using http_testing::Get;
using http_testing::HttpServerTest;
using http_testing::Steady;
using ::testing::HasSubstr;

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

// The client_address option decides what handlers see as the client, from
// the peer and the request's headers (serve believes X-Forwarded-For from a
// trusted proxy that way).
TEST_F(HttpServerTest, ClientAddressOptionSetsTheHandlersClient) {
  options_.client_address = [](const std::string& peer, const HttpRequest& request) {
    return peer + "|" + request.Header("x-forwarded-for").value_or("none");
  };
  Start();
  auto c = Connect();
  auto r = c->Exchange(Get("/x", "X-Forwarded-For: 198.51.100.7\r\n"));
  ASSERT_TRUE(r);
  EXPECT_EQ(nlohmann::json::parse(r->body)["client"], "127.0.0.1|198.51.100.7");
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
