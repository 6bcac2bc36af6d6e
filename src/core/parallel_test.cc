#include "core/parallel.h"

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <set>
#include <thread>

namespace headcount {
namespace {

TEST(ParallelForTest, CallsEveryIndexOnce) {
  std::mutex mu;
  std::multiset<std::size_t> seen;
  ParallelFor(1000, 8, [&](std::size_t i) {
    std::lock_guard lock(mu);
    seen.insert(i);
  });
  ASSERT_EQ(seen.size(), 1000u);
  for (std::size_t i = 0; i < 1000; ++i) EXPECT_EQ(seen.count(i), 1u);
}

TEST(ParallelForTest, RunsConcurrently) {
  std::atomic<int> running{0};
  std::atomic<int> peak{0};
  ParallelFor(8, 4, [&](std::size_t) {
    const int now = ++running;
    int p = peak.load();
    while (now > p && !peak.compare_exchange_weak(p, now)) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    --running;
  });
  EXPECT_EQ(peak.load(), 4);
}

TEST(ParallelForTest, NothingToDo) {
  int calls = 0;
  ParallelFor(0, 4, [&](std::size_t) { ++calls; });
  EXPECT_EQ(calls, 0);
}

}  // namespace
}  // namespace headcount
