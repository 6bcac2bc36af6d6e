// Tests of HttpServer with an AsyncHttpHandler over real sockets: answers
// given later, from other threads, reach their client while the I/O thread
// serves others; a lost responder is a 500; a late answer never answers the
// wrong request, is dropped once its connection is gone (the client left,
// the response timeout answered, the server stopped), and is safe after
// Stop() and after the server is destroyed.
#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include "server/http_server.h"
#include "server/http_server_testing.h"

namespace headcount {
namespace {

using namespace std::chrono_literals;
using http_testing::Client;
using http_testing::Get;
using http_testing::Ms;
using http_testing::RawResponse;
using http_testing::Steady;

class AsyncHandlerTest : public ::testing::Test {
 protected:
  AsyncHandlerTest() {
    options_.port = 0;
    options_.threads = 1;  // one I/O thread: a request blocking it would block all
    options_.read_timeout = 2s;
    options_.idle_timeout = 5s;
  }
  ~AsyncHandlerTest() override {
    if (server_) server_->Stop();
    for (std::thread& t : threads_) t.join();
  }

  void Start() {
    server_ = std::make_unique<HttpServer>(
        options_,
        [this](const HttpRequest& request, HttpResponder respond) {
          Handle(request, std::move(respond));
        },
        [this](const HttpExchange& x) {
          std::lock_guard lock(mu_);
          exchanges_.push_back(x);
        });
    const Status st = server_->Start();
    ASSERT_TRUE(st.ok()) << st.error().ToString();
  }

  // /now answers before returning; /later keeps the responder for the test
  // (Take); /thread answers from another thread 100 ms later; /drop loses
  // the responder; /defer-then-throw keeps it, then throws.
  void Handle(const HttpRequest& request, HttpResponder respond) {
    if (request.path == "/now") return respond.Respond(HttpResponse::Text(200, "now"));
    if (request.path == "/thread") {
      std::lock_guard lock(mu_);
      threads_.emplace_back([respond = std::move(respond)]() mutable {
        std::this_thread::sleep_for(100ms);
        respond.Respond(HttpResponse::Text(200, "from another thread"));
      });
      return;
    }
    if (request.path == "/drop") return;
    std::lock_guard lock(mu_);
    pending_.push_back(std::move(respond));
    if (request.path == "/defer-then-throw") throw std::runtime_error("after deferring");
  }

  // The responder of the oldest /later request not taken yet, once there is one.
  HttpResponder Take() {
    const auto deadline = Steady::now() + http_testing::kAnswerTimeout;
    while (Steady::now() < deadline) {
      {
        std::lock_guard lock(mu_);
        if (!pending_.empty()) {
          HttpResponder r = std::move(pending_.front());
          pending_.pop_front();
          return r;
        }
      }
      std::this_thread::sleep_for(5ms);
    }
    ADD_FAILURE() << "no request came";
    return {};
  }

  std::size_t Pending() {
    std::lock_guard lock(mu_);
    return pending_.size();
  }

  std::unique_ptr<Client> Connect() { return std::make_unique<Client>(server_->port()); }

  HttpServerOptions options_;
  std::unique_ptr<HttpServer> server_;
  std::mutex mu_;
  // Guarded by mu_.
  std::deque<HttpResponder> pending_;
  std::vector<std::thread> threads_;
  std::vector<HttpExchange> exchanges_;
};

TEST_F(AsyncHandlerTest, AnAnswerGivenLaterFromAnotherThreadReachesItsClient) {
  Start();
  auto c = Connect();
  ASSERT_TRUE(c->Send(Get("/later")));
  HttpResponder respond = Take();
  EXPECT_TRUE(c->Quiet(200ms));  // nothing yet
  std::thread([&respond] { respond.Respond(HttpResponse::Text(201, "later")); }).join();
  const auto r = c->Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, "later");
  EXPECT_EQ(r->headers.at("server"), "headcount");

  const auto t = c->Exchange(Get("/thread"));  // the same connection goes on
  ASSERT_TRUE(t);
  EXPECT_EQ(t->body, "from another thread");
}

TEST_F(AsyncHandlerTest, WhileARequestWaitsTheIoThreadServesOthers) {
  Start();  // with a single I/O thread
  std::vector<std::unique_ptr<Client>> waiting;
  for (int i = 0; i < 8; ++i) {
    waiting.push_back(Connect());
    ASSERT_TRUE(waiting.back()->Send(Get("/later")));
  }
  for (int i = 0; i < 100 && Pending() < 8; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(Pending(), 8u);

  const auto t0 = Steady::now();
  for (int i = 0; i < 20; ++i) {
    auto other = Connect();
    const auto r = other->Exchange(Get("/now"));
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->body, "now");
  }
  // Generous: 20 requests on loopback take milliseconds; a blocked thread
  // would not answer at all.
  EXPECT_LT(Steady::now() - t0, 2s);

  for (int i = 0; i < 8; ++i) Take().Respond(HttpResponse::Text(200, "done"));
  for (auto& c : waiting) {
    const auto r = c->Read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "done");
  }
}

TEST_F(AsyncHandlerTest, PipelinedRequestsWaitForALateAnswerAndKeepTheirOrder) {
  Start();
  auto c = Connect();
  ASSERT_TRUE(c->Send(Get("/later") + Get("/now")));
  HttpResponder respond = Take();
  EXPECT_TRUE(c->Quiet(200ms));  // /now is not answered before /later
  respond.Respond(HttpResponse::Text(200, "first"));
  const auto first = c->Read();
  const auto second = c->Read();
  ASSERT_TRUE(first);
  ASSERT_TRUE(second);
  EXPECT_EQ(first->body, "first");
  EXPECT_EQ(second->body, "now");
}

TEST_F(AsyncHandlerTest, AResponderLostWithoutAnsweringIs500) {
  Start();
  auto c = Connect();
  auto r = c->Exchange(Get("/drop"));  // dropped during the handler call
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->body, R"({"error":"internal error"})");

  ASSERT_TRUE(c->Send(Get("/later")));
  std::thread([responder = Take()] {}).join();  // dropped later, on another thread
  r = c->Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
}

TEST_F(AsyncHandlerTest, ALateAnswerNeverAnswersTheNextRequest) {
  Start();
  auto c = Connect();
  // The handler kept the responder and then threw: the exception answers.
  auto r = c->Exchange(Get("/defer-then-throw"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  HttpResponder stale = Take();

  ASSERT_TRUE(c->Send(Get("/later")));
  HttpResponder current = Take();
  stale.Respond(HttpResponse::Text(200, "stale"));  // belongs to the answered request
  EXPECT_TRUE(c->Quiet(200ms));
  current.Respond(HttpResponse::Text(200, "current"));
  r = c->Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "current");
  EXPECT_TRUE(c->Quiet(200ms));  // and nothing else
}

TEST_F(AsyncHandlerTest, AnAnswerAfterTheClientLeftIsDroppedAndItsSlotFreed) {
  options_.max_connections_per_client = 1;
  Start();
  {
    auto gone = Connect();
    ASSERT_TRUE(gone->Send(Get("/later")));
    for (int i = 0; i < 100 && Pending() < 1; ++i) std::this_thread::sleep_for(10ms);
  }  // the client closes its connection while the answer is pending
  std::thread([responder = Take()]() mutable {
    responder.Respond(HttpResponse::Text(200, "nobody reads this"));
  }).join();

  // The server finds the client gone and frees the connection's slot.
  std::optional<RawResponse> r;
  for (int i = 0; i < 50 && !r; ++i) {
    auto next = Connect();
    r = next->Exchange(Get("/now"));
    if (!r) std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "now");
}

TEST_F(AsyncHandlerTest, NoAnswerWithinTheResponseTimeoutIs503AndTheLateOneIsDropped) {
  options_.response_timeout = 1s;
  Start();
  auto c = Connect();
  const auto t0 = Steady::now();
  ASSERT_TRUE(c->Send(Get("/later")));
  HttpResponder late = Take();
  auto r = c->Read(/*head=*/false, 5s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_GE(Steady::now() - t0, 900ms);
  late.Respond(HttpResponse::Text(200, "too late"));
  r = c->Exchange(Get("/now"));  // keep-alive: the connection goes on
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "now");
}

TEST_F(AsyncHandlerTest, StopWithAnswersPendingIsPromptAndTheirAnswersAreSafeAfterIt) {
  Start();
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(Connect());
    ASSERT_TRUE(clients.back()->Send(Get("/later")));
  }
  for (int i = 0; i < 100 && Pending() < 3; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(Pending(), 3u);

  const auto t0 = Steady::now();
  server_->Stop();
  EXPECT_LT(Steady::now() - t0, 1s);
  for (auto& c : clients) EXPECT_TRUE(c->WaitClosed(1s));

  Take().Respond(HttpResponse::Text(200, "after Stop"));
  server_.reset();
  Take().Respond(HttpResponse::Text(200, "after the server is gone"));
  HttpResponder dropped = Take();  // destroyed unanswered: a 500 to nobody
}

TEST_F(AsyncHandlerTest, AnswersRacingStopAreSafe) {
  constexpr int kRequests = 40;
  Start();
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < kRequests; ++i) {
    clients.push_back(Connect());
    ASSERT_TRUE(clients.back()->Send(Get("/later")));
  }
  for (int i = 0; i < 200 && Pending() < kRequests; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(Pending(), std::size_t{kRequests});
  std::vector<HttpResponder> responders;
  for (int i = 0; i < kRequests; ++i) responders.push_back(Take());

  std::atomic<int> answered{0};
  std::thread answering([&] {
    for (HttpResponder& r : responders) {
      r.Respond(HttpResponse::Text(200, "racing"));
      ++answered;
    }
  });
  while (answered < kRequests / 2) std::this_thread::yield();
  server_->Stop();  // while the rest are being answered
  answering.join();
  EXPECT_EQ(answered, kRequests);
}

}  // namespace
}  // namespace headcount
