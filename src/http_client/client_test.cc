// The HTTP client over real loopback sockets, plain HTTP: keep-alive reuse,
// servers that close, the one resend of a request on a dropped connection,
// timeouts, the body limit, the connection cap. TLS and proxies have their
// own files.
#include "http_client/client.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <thread>
#include <vector>

#include "http_client/beast_transport.h"
#include "http_client/testing/fixtures.h"
#include "http_client/testing/test_server.h"

namespace headcount::http_client {
namespace {

using namespace std::chrono_literals;
using testing::ReceivedRequest;
using testing::ScriptedResponse;
using testing::TestServer;

std::string UrlOf(const TestServer& server, const std::string& path = "/") {
  return "http://127.0.0.1:" + std::to_string(server.port()) + path;
}

using testing::Get;
TEST(HttpClient, TenSequentialRequestsShareOneConnection) {
  TestServer server([](const ReceivedRequest& r) { return ScriptedResponse{.body = r.target}; });
  BeastTransport transport(ClientOptions{});
  for (int i = 0; i < 10; ++i) {
    Result<HttpResponse> r = transport.Send(Get(UrlOf(server, "/n/" + std::to_string(i))));
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "/n/" + std::to_string(i));
  }
  EXPECT_EQ(server.requests().size(), 10u);
  EXPECT_EQ(server.connections(), 1);
}

TEST(HttpClient, SendsMethodHeadersAndBodyAndReadsHeaders) {
  TestServer server([](const ReceivedRequest& r) {
    return ScriptedResponse{.status = 201, .body = r.body, .headers = {{"X-Answer", "42"}}};
  });
  BeastTransport transport(ClientOptions{});
  HttpRequest request = Get(UrlOf(server, "/items?x=1"));
  request.method = "POST";
  request.headers = {{"Content-Type", "application/json"}, {"X-Amz-Target", "A.B"}};
  request.body = R"({"a":1})";
  Result<HttpResponse> r = transport.Send(request);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, R"({"a":1})");
  ASSERT_NE(FindHeader(r->headers, "x-answer"), nullptr);
  EXPECT_EQ(*FindHeader(r->headers, "x-answer"), "42");
  const ReceivedRequest got = server.requests().at(0);
  EXPECT_EQ(got.method, "POST");
  EXPECT_EQ(got.target, "/items?x=1");
  EXPECT_EQ(*FindHeader(got.headers, "Host"), "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(*FindHeader(got.headers, "Content-Length"), "7");
  EXPECT_EQ(*FindHeader(got.headers, "X-Amz-Target"), "A.B");
}

TEST(HttpClient, ServerThatClosesAfterEachResponseStillWorks) {
  TestServer server(
      [](const ReceivedRequest&) { return ScriptedResponse{.body = "ok", .close = true}; });
  BeastTransport transport(ClientOptions{});
  for (int i = 0; i < 5; ++i) {
    HttpRequest request = Get(UrlOf(server));
    request.method = "POST";  // never resent: each goes out on a fresh connection anyway
    Result<HttpResponse> r = transport.Send(request);
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    EXPECT_EQ(r->body, "ok");
  }
  EXPECT_EQ(server.requests().size(), 5u);
  EXPECT_EQ(server.connections(), 5);
}

TEST(HttpClient, ConnectionClosedWhileIdleIsNotReused) {
  // The server answers as keep-alive, then drops the connection: the pool
  // sees the FIN and opens a new one, so even a POST (never resent) goes
  // through.
  TestServer server(
      [](const ReceivedRequest&) { return ScriptedResponse{.body = "ok", .drop_after = true}; });
  BeastTransport transport(ClientOptions{});
  HttpRequest post = Get(UrlOf(server));
  post.method = "POST";
  ASSERT_TRUE(transport.Send(post).ok());
  // Network time, not logic: the server's FIN follows its answer on
  // loopback within microseconds.
  std::this_thread::sleep_for(100ms);
  Result<HttpResponse> r = transport.Send(post);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(server.requests().size(), 2u);
  EXPECT_EQ(server.connections(), 2);
}

TEST(HttpClient, RequestOnADroppedKeptAliveConnectionIsResentOnceWhenSafe) {
  // The 2nd request meets a connection the server closes without answering
  // (as a server that timed out the idle connection just then would).
  std::atomic<int> calls{0};
  TestServer server([&calls](const ReceivedRequest&) {
    return ScriptedResponse{.body = "ok", .hang_up = ++calls == 2};
  });
  BeastTransport transport(ClientOptions{});
  ASSERT_TRUE(transport.Send(Get(UrlOf(server))).ok());
  Result<HttpResponse> r = transport.Send(Get(UrlOf(server)));  // GET: safe to resend
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->body, "ok");
  EXPECT_EQ(server.requests().size(), 3u);
  EXPECT_EQ(server.connections(), 2);
}

TEST(HttpClient, PostOnADroppedConnectionIsNotResentUnlessMarked) {
  std::atomic<int> calls{0};
  TestServer server([&calls](const ReceivedRequest&) {
    const int n = ++calls;
    return ScriptedResponse{.body = "ok", .hang_up = n == 2 || n == 4};
  });
  BeastTransport transport(ClientOptions{});
  HttpRequest post = Get(UrlOf(server));
  post.method = "POST";
  ASSERT_TRUE(transport.Send(post).ok());
  Result<HttpResponse> r = transport.Send(post);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message().find("read"), std::string::npos) << r.error().message();
  EXPECT_EQ(server.requests().size(), 2u);

  ASSERT_TRUE(transport.Send(post).ok());  // 3rd: a new connection, kept alive
  post.resend_when_stale = true;
  r = transport.Send(post);  // 4th is dropped, 5th answers
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(server.requests().size(), 5u);
}

TEST(HttpClient, ServerThatNeverAnswersTimesOut) {
  TestServer server([](const ReceivedRequest&) { return ScriptedResponse{.delay = 10s}; });
  BeastTransport transport(ClientOptions{});
  HttpRequest request = Get(UrlOf(server, "/slow?token=secret"));
  request.timeout = 200ms;
  const auto started = std::chrono::steady_clock::now();
  Result<HttpResponse> r = transport.Send(request);
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message().find("read: timed out after 200 ms"), std::string::npos)
      << r.error().message();
  EXPECT_EQ(r.error().message().find("secret"), std::string::npos) << "query in the message";
  EXPECT_LT(took, 5s);  // far from the server's 10 s
}

// A listener whose accept queue is full: the kernel drops further SYNs, so
// a connect to it hangs until the client gives up.
class FullBacklogListener {
 public:
  FullBacklogListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(fd_, 0), 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    // Fill the queue: connect until one does not complete at once.
    for (int i = 0; i < 16; ++i) {
      const int c = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      fillers_.push_back(c);
      (void)::connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
      pollfd p{c, POLLOUT, 0};
      if (::poll(&p, 1, 200) == 0) return;  // this one hangs: the queue is full
    }
    ADD_FAILURE() << "could not fill the accept queue";
  }
  ~FullBacklogListener() {
    for (int c : fillers_) ::close(c);
    ::close(fd_);
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::vector<int> fillers_;
};

TEST(HttpClient, ConnectTimesOutOnAServerThatDoesNotAccept) {
  FullBacklogListener listener;
  BeastTransport transport(ClientOptions{});
  HttpRequest request = Get("http://127.0.0.1:" + std::to_string(listener.port()) + "/");
  request.connect_timeout = 200ms;
  request.timeout = 10s;
  const auto started = std::chrono::steady_clock::now();
  Result<HttpResponse> r = transport.Send(request);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message().find("connect: timed out after 200 ms (connect timeout)"),
            std::string::npos)
      << r.error().message();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
}

TEST(HttpClient, RefusedConnectionIsUnavailable) {
  int port = 0;
  {
    port = TestServer([](const ReceivedRequest&) { return ScriptedResponse{}; }).port();
  }
  BeastTransport transport(ClientOptions{});
  Result<HttpResponse> r = transport.Send(Get("http://127.0.0.1:" + std::to_string(port) + "/"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message().find("connect: Connection refused"), std::string::npos)
      << r.error().message();
}

TEST(HttpClient, BodyOverTheLimitIsRejected) {
  TestServer server([](const ReceivedRequest&) {
    return ScriptedResponse{.body = std::string(std::size_t{64} * 1024, 'x')};
  });
  BeastTransport transport(ClientOptions{});
  HttpRequest request = Get(UrlOf(server));
  request.max_response_bytes = 1024;
  Result<HttpResponse> r = transport.Send(request);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kRejected) << r.error().ToString();
  request.max_response_bytes = std::size_t{64} * 1024;  // exactly the body: fine
  r = transport.Send(request);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->body.size(), 64u * 1024);
}

TEST(HttpClient, MalformedRequestsAreInvalidArguments) {
  BeastTransport transport(ClientOptions{});
  HttpRequest request = Get("http://127.0.0.1:1/");
  request.headers = {{"X-Evil", "a\r\nInjected: yes"}};
  EXPECT_EQ(transport.Send(request).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(transport.Send(Get("ftp://example.com/")).error().code(), ErrorCode::kInvalidArgument);
}

TEST(HttpClient, ConnectionCapMakesRequestsWaitWithoutAThreadEach) {
  TestServer server(
      [](const ReceivedRequest&) { return ScriptedResponse{.body = "ok", .delay = 50ms}; });
  boost::asio::io_context io;
  ClientOptions options;
  options.max_connections_per_endpoint = 2;
  Result<std::unique_ptr<Client>> client = Client::Create(io.get_executor(), options);
  ASSERT_TRUE(client.ok());
  int ok = 0;
  for (int i = 0; i < 6; ++i) {
    (*client)->Send(Get(UrlOf(server)), [&ok](const Result<HttpResponse>& r) {
      EXPECT_TRUE(r.ok()) << r.error().ToString();
      if (r.ok()) ++ok;
    });
  }
  io.run();  // this thread alone runs all six
  EXPECT_EQ(ok, 6);
  EXPECT_EQ(server.connections(), 2);
}

TEST(HttpClient, WaitingForAFreeConnectionCountsAgainstTheTimeout) {
  TestServer server([](const ReceivedRequest&) { return ScriptedResponse{.delay = 1s}; });
  boost::asio::io_context io;
  ClientOptions options;
  options.max_connections_per_endpoint = 1;
  Result<std::unique_ptr<Client>> client = Client::Create(io.get_executor(), options);
  ASSERT_TRUE(client.ok());
  std::optional<Result<HttpResponse>> first;
  std::optional<Result<HttpResponse>> second;
  (*client)->Send(Get(UrlOf(server)), [&](Result<HttpResponse> r) { first = std::move(r); });
  HttpRequest quick = Get(UrlOf(server));
  quick.timeout = 100ms;
  (*client)->Send(quick, [&](Result<HttpResponse> r) { second = std::move(r); });
  io.run();
  ASSERT_TRUE(first && first->ok());
  ASSERT_TRUE(second && !second->ok());
  EXPECT_NE(second->error().message().find("waiting for a free connection: timed out"),
            std::string::npos)
      << second->error().message();
  EXPECT_EQ(server.requests().size(), 1u);
}

// Client::Stream: the head first, then the body in pieces, then the end; the
// connection goes back to the pool for the next request.
TEST(HttpClient, StreamHandsOverTheHeadThenTheBodyInPiecesThenTheEnd) {
  const std::string body(std::size_t{300} * 1024, 'b');
  TestServer server([&body](const ReceivedRequest&) {
    return ScriptedResponse{.body = body, .headers = {{"X-Answer", "42"}}};
  });
  boost::asio::io_context io;
  Result<std::unique_ptr<Client>> client = Client::Create(io.get_executor(), ClientOptions{});
  ASSERT_TRUE(client.ok());
  std::vector<std::string> events;
  std::string got;
  std::size_t pieces = 0;
  for (int i = 0; i < 2; ++i) {
    Client::StreamHandlers handlers;
    handlers.on_head = [&](const Result<HttpResponse>& head) {
      ASSERT_TRUE(head.ok()) << head.error().ToString();
      events.push_back("head " + std::to_string(head->status));
      const std::string* answer = FindHeader(head->headers, "X-Answer");
      EXPECT_TRUE(answer != nullptr && *answer == "42");
      EXPECT_TRUE(head->body.empty());
    };
    handlers.on_body = [&](const std::string& piece) {
      EXPECT_FALSE(piece.empty());
      if (got.empty()) events.push_back("body");
      got += piece;
      ++pieces;
    };
    handlers.on_end = [&](const Status& end) {
      EXPECT_TRUE(end.ok());
      events.push_back("end");
    };
    got.clear();
    (*client)->Stream(Get(UrlOf(server)), std::move(handlers));
    io.restart();
    io.run();
    EXPECT_EQ(got, body);
  }
  EXPECT_EQ(events,
            (std::vector<std::string>{"head 200", "body", "end", "head 200", "body", "end"}));
  EXPECT_GT(pieces, 2U) << "a large body comes in more than one piece";
  EXPECT_EQ(server.connections(), 1) << "the connection is reused";
}

TEST(HttpClient, StreamOfABodyOverTheLimitIsRejectedAtItsHead) {
  TestServer server([](const ReceivedRequest&) {
    return ScriptedResponse{.body = std::string(std::size_t{64} * 1024, 'x')};
  });
  boost::asio::io_context io;
  Result<std::unique_ptr<Client>> client = Client::Create(io.get_executor(), ClientOptions{});
  ASSERT_TRUE(client.ok());
  HttpRequest request = Get(UrlOf(server));
  request.max_response_bytes = 1024;
  std::optional<Error> error;
  bool more = false;
  Client::StreamHandlers handlers;
  handlers.on_head = [&](const Result<HttpResponse>& head) {
    if (!head.ok()) error = head.error();
  };
  handlers.on_body = [&](const std::string&) { more = true; };
  handlers.on_end = [&](const Status&) { more = true; };
  (*client)->Stream(request, std::move(handlers));
  io.run();
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code(), ErrorCode::kRejected) << error->ToString();
  EXPECT_FALSE(more) << "nothing follows an error before the head";
}

}  // namespace
}  // namespace headcount::http_client
