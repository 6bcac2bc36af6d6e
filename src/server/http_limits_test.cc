// Tests of HttpServer's limits with small settings: oversized requests get
// the status that names the limit, malformed ones 400, slow and idle clients
// are dropped while others are served, and connection caps hold.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "server/http_server.h"
#include "server/http_server_testing.h"

namespace headcount {
namespace {

using namespace std::chrono_literals;
using http_testing::Get;
using http_testing::HttpServerTest;
using http_testing::RawResponse;
using http_testing::Steady;

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

}  // namespace
}  // namespace headcount
