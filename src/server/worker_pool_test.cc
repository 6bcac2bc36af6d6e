// Tests of WorkerPool (work runs on its threads and answers from there; a
// full queue is a 503 at once, never a longer queue; Stop answers the waiting
// and waits for the running) and of ConcurrencyLimit.
#include "server/worker_pool.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <memory>
#include <thread>

#include "server/testing/answer.h"

namespace headcount {
namespace {

using ::testing::HasSubstr;

// How long a test waits for something that should happen.
constexpr std::chrono::seconds kWait{10};

using http_testing::Answer;
using http_testing::HasHeader;
using http_testing::RespondTo;

// Waits until `started` counts `n` (a worker took the work), up to kWait.
bool WaitStarted(const std::atomic<int>& started, int n) {
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  while (started < n) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// Work that waits for `release` and then answers `text`.
WorkerPool::Work Held(std::shared_future<void> release, std::string text,
                      std::atomic<int>* started = nullptr) {
  return [release = std::move(release), text = std::move(text), started] {
    if (started != nullptr) ++*started;
    release.wait();
    return HttpResponse::Text(200, text);
  };
}

TEST(WorkerPoolTest, RunsTheWorkOnAWorkerAndAnswersFromThere) {
  WorkerPool pool(WorkerPoolOptions{.threads = 2});
  std::promise<void> release;
  std::atomic<int> started{0};
  const auto answer = std::make_shared<Answer>();
  pool.Submit(RespondTo(answer), Held(release.get_future().share(), "done", &started));
  EXPECT_FALSE(answer->arrived);  // Submit did not wait for the work
  release.set_value();
  ASSERT_TRUE(answer->Ready(kWait));
  EXPECT_EQ(answer->future.get().body, "done");
  EXPECT_NE(answer->thread, std::this_thread::get_id());
  EXPECT_EQ(started, 1);
}

TEST(WorkerPoolTest, AFullQueueIs503WithRetryAfterAtOnceNotALongerQueue) {
  WorkerPool pool(WorkerPoolOptions{.threads = 1, .max_queued = 2});
  std::promise<void> release;
  const std::shared_future<void> held = release.get_future().share();
  std::atomic<int> started{0};
  const auto running = std::make_shared<Answer>();
  pool.Submit(RespondTo(running), Held(held, "running", &started));
  ASSERT_TRUE(WaitStarted(started, 1));  // the only thread is busy
  const auto queued1 = std::make_shared<Answer>();
  const auto queued2 = std::make_shared<Answer>();
  pool.Submit(RespondTo(queued1), Held(held, "queued1"));
  pool.Submit(RespondTo(queued2), Held(held, "queued2"));

  bool ran = false;
  const auto refused = std::make_shared<Answer>();
  pool.Submit(RespondTo(refused), [&ran] {
    ran = true;
    return HttpResponse::Text(200, "never");
  });
  ASSERT_TRUE(refused->arrived);  // answered on this thread, before Submit returned
  EXPECT_EQ(refused->thread, std::this_thread::get_id());
  const HttpResponse busy = refused->future.get();
  EXPECT_EQ(busy.status, 503);
  EXPECT_TRUE(HasHeader(busy, "Retry-After", std::to_string(kBusyRetryAfter.count())));
  EXPECT_THAT(busy.body, HasSubstr("busy"));

  release.set_value();
  for (const auto& [answer, text] : {std::pair(running, "running"), std::pair(queued1, "queued1"),
                                     std::pair(queued2, "queued2")}) {
    ASSERT_TRUE(answer->Ready(kWait)) << text;
    EXPECT_EQ(answer->future.get().body, text);
  }
  pool.Stop();
  EXPECT_FALSE(ran);
}

TEST(WorkerPoolTest, WorkThatThrowsIs500) {
  WorkerPool pool(WorkerPoolOptions{.threads = 1});
  const auto answer = std::make_shared<Answer>();
  pool.Submit(RespondTo(answer), []() -> HttpResponse { throw std::runtime_error("store broke"); });
  ASSERT_TRUE(answer->Ready(kWait));
  const HttpResponse r = answer->future.get();
  EXPECT_EQ(r.status, 500);
  EXPECT_THAT(r.body, ::testing::Not(HasSubstr("store broke")));  // no internals to clients
}

TEST(WorkerPoolTest, TheWorkIsGoneBeforeTheAnswerIsSent) {
  // What the work holds (a ConcurrencyLimit permit, a reference to the Api)
  // is released before the client can see the answer and, say, stop the
  // server and destroy what it referred to.
  ConcurrencyLimit limit(1);
  WorkerPool pool(WorkerPoolOptions{.threads = 1});
  std::atomic<std::size_t> in_use_at_answer{99};
  pool.Submit(
      HttpResponder::FromFunction([&](const HttpResponse&) { in_use_at_answer = limit.in_use(); }),
      [permit = limit.TryAcquire()] { return HttpResponse::Text(200, "ok"); });
  pool.Stop();  // waits for it
  EXPECT_EQ(in_use_at_answer, 0u);
}

TEST(WorkerPoolTest, StopAnswersTheWaiting503AndWaitsForTheRunning) {
  auto pool = std::make_unique<WorkerPool>(WorkerPoolOptions{.threads = 1});
  std::promise<void> release;
  std::atomic<int> started{0};
  const auto running = std::make_shared<Answer>();
  const auto waiting = std::make_shared<Answer>();
  pool->Submit(RespondTo(running), Held(release.get_future().share(), "finished", &started));
  ASSERT_TRUE(WaitStarted(started, 1));
  pool->Submit(RespondTo(waiting), [] { return HttpResponse::Text(200, "never"); });

  std::thread stopper([&] { pool->Stop(); });
  ASSERT_TRUE(waiting->Ready(kWait));
  EXPECT_EQ(waiting->future.get().status, 503);
  EXPECT_FALSE(running->arrived);  // Stop is still waiting for it
  release.set_value();
  stopper.join();
  ASSERT_TRUE(running->Ready());
  EXPECT_EQ(running->future.get().body, "finished");

  const auto late = std::make_shared<Answer>();
  pool->Submit(RespondTo(late), [] { return HttpResponse::Text(200, "never"); });
  ASSERT_TRUE(late->arrived);
  EXPECT_EQ(late->future.get().status, 503);
  pool->Stop();  // idempotent
  pool.reset();
}

TEST(ConcurrencyLimitTest, HandsOutAtMostMaxPermitsAndTakesThemBack) {
  ConcurrencyLimit limit(2);
  ConcurrencyLimit::Permit a = limit.TryAcquire();
  ConcurrencyLimit::Permit b = limit.TryAcquire();
  EXPECT_TRUE(a);
  EXPECT_TRUE(b);
  EXPECT_FALSE(limit.TryAcquire());
  EXPECT_EQ(limit.in_use(), 2u);
  ConcurrencyLimit::Permit moved = std::move(a);
  EXPECT_EQ(limit.in_use(), 2u);  // moving does not give it back
  moved = ConcurrencyLimit::Permit();
  EXPECT_EQ(limit.in_use(), 1u);
  EXPECT_TRUE(limit.TryAcquire());  // a temporary: back at once
  EXPECT_EQ(limit.in_use(), 1u);
}

}  // namespace
}  // namespace headcount
