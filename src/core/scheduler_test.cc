#include "core/scheduler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "core/testing/time.h"
#include "core/time_text.h"

namespace headcount {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

using testing::At;

// Jumps a FakeClock to each wake-up instant (plus a scripted lateness), and
// stops after a set number of waits.
class FakeWaiter final : public Waiter {
 public:
  FakeWaiter(FakeClock& clock, int max_waits) : clock_(clock), max_waits_(max_waits) {}
  bool WaitUntil(WallTime t) override {
    if (stopped_ || waits_ >= max_waits_) return false;
    ++waits_;
    const milliseconds late =
        lateness.empty() ? milliseconds{0} : lateness[waits_ % lateness.size()];
    if (clock_.Now() < t) clock_.Set(t + late);
    return true;
  }
  void Stop() override { stopped_ = true; }

  std::vector<milliseconds> lateness;

 private:
  FakeClock& clock_;
  const int max_waits_;
  int waits_ = 0;
  bool stopped_ = false;
};

TEST(NextTickTimeTest, FirstTickIsTheNextBoundary) {
  EXPECT_EQ(NextTickTime(At("2026-11-25T12:03:27Z"), std::nullopt, seconds{60}),
            At("2026-11-25T12:04:00Z"));
  EXPECT_EQ(NextTickTime(At("2026-11-25T12:03:27Z"), std::nullopt, seconds{5}),
            At("2026-11-25T12:03:30Z"));
}

TEST(NextTickTimeTest, FollowsTheLastBucket) {
  const Seconds last = std::chrono::floor<seconds>(At("2026-11-25T12:03:00Z"));
  EXPECT_EQ(NextTickTime(At("2026-11-25T12:03:00.900Z"), last, seconds{60}),
            At("2026-11-25T12:04:00Z"));
}

TEST(NextTickTimeTest, AfterAStallSkipsToTheCurrentBucket) {
  const Seconds last = std::chrono::floor<seconds>(At("2026-11-25T12:03:00Z"));
  EXPECT_EQ(NextTickTime(At("2026-11-25T12:20:45Z"), last, seconds{60}),
            At("2026-11-25T12:20:00Z"));
}

TEST(SchedulerTest, TicksAtEveryMinuteBoundary) {
  FakeClock clock(At("2026-11-25T12:03:27Z"));
  FakeWaiter waiter(clock, 5);
  Scheduler scheduler(clock, waiter, seconds{60});
  std::vector<std::string> ticks;
  scheduler.Run([&](Seconds b) { ticks.push_back(FormatRfc3339(b)); });
  EXPECT_EQ(ticks, (std::vector<std::string>{"2026-11-25T12:04:00Z", "2026-11-25T12:05:00Z",
                                             "2026-11-25T12:06:00Z", "2026-11-25T12:07:00Z",
                                             "2026-11-25T12:08:00Z"}));
}

TEST(SchedulerTest, NoDriftOverHoursWithSlowTicksAndLateWakeups) {
  FakeClock clock(At("2026-11-25T12:00:30Z"));
  FakeWaiter waiter(clock, 6 * 60);
  waiter.lateness = {milliseconds{0}, milliseconds{900}, milliseconds{50}, milliseconds{400}};
  Scheduler scheduler(clock, waiter, seconds{60});
  std::vector<Seconds> ticks;
  scheduler.Run([&](Seconds b) {
    ticks.push_back(b);
    clock.Advance(milliseconds{1500});  // each tick takes 1.5 s
  });
  ASSERT_EQ(ticks.size(), 360u);
  for (std::size_t i = 0; i < ticks.size(); ++i) {
    EXPECT_EQ(ticks[i], std::chrono::floor<seconds>(At("2026-11-25T12:01:00Z")) + seconds{60} * i);
  }
}

TEST(SchedulerTest, NoCatchUpBurstAfterASuspend) {
  FakeClock clock(At("2026-11-25T12:00:30Z"));
  FakeWaiter waiter(clock, 4);
  Scheduler scheduler(clock, waiter, seconds{60});
  std::vector<std::string> ticks;
  scheduler.Run([&](Seconds b) {
    ticks.push_back(FormatRfc3339(b));
    if (ticks.size() == 2) clock.Advance(std::chrono::minutes{17});  // laptop lid closed
  });
  // 12:03 .. 12:18 are gaps; one tick at 12:19, then the normal cadence.
  EXPECT_EQ(ticks, (std::vector<std::string>{"2026-11-25T12:01:00Z", "2026-11-25T12:02:00Z",
                                             "2026-11-25T12:19:00Z", "2026-11-25T12:20:00Z"}));
}

TEST(SchedulerTest, ClockSteppingBackNeverRepeatsABucket) {
  FakeClock clock(At("2026-11-25T12:00:30Z"));
  FakeWaiter waiter(clock, 6);
  Scheduler scheduler(clock, waiter, seconds{60});
  std::vector<Seconds> ticks;
  scheduler.Run([&](Seconds b) {
    ticks.push_back(b);
    if (ticks.size() == 2) clock.Advance(-std::chrono::minutes{3});  // NTP step back
  });
  for (std::size_t i = 1; i < ticks.size(); ++i) EXPECT_GT(ticks[i], ticks[i - 1]);
}

TEST(SchedulerTest, StopLetsTheRunningTickFinish) {
  SystemClock clock;
  SystemWaiter waiter;
  Scheduler scheduler(clock, waiter, seconds{1});
  std::atomic<int> started{0};
  std::atomic<int> finished{0};
  std::thread runner([&] {
    scheduler.Run([&](Seconds) {
      ++started;
      std::this_thread::sleep_for(milliseconds{300});
      ++finished;
    });
  });
  while (started == 0) std::this_thread::sleep_for(milliseconds{5});
  const auto stop_at = std::chrono::steady_clock::now();
  scheduler.Stop();
  runner.join();
  EXPECT_EQ(started.load(), finished.load());
  EXPECT_LT(std::chrono::steady_clock::now() - stop_at, milliseconds{900});
}

TEST(SchedulerTest, RealTicksLandOnTheBoundary) {
  SystemClock clock;
  SystemWaiter waiter;
  Scheduler scheduler(clock, waiter, seconds{1});
  std::vector<milliseconds> offsets;
  std::thread runner([&] {
    scheduler.Run([&](Seconds bucket) {
      offsets.push_back(std::chrono::duration_cast<milliseconds>(clock.Now() - bucket));
      if (offsets.size() == 2) scheduler.Stop();
    });
  });
  runner.join();
  ASSERT_EQ(offsets.size(), 2u);
  // Woken at the boundary, not before it, and not a whole bucket late.
  for (const auto off : offsets) {
    EXPECT_GE(off.count(), 0);
    EXPECT_LT(off.count(), 1000);
  }
}

}  // namespace
}  // namespace headcount
