// The minute-aligned scheduler: calls a tick at the start of every bucket
// (:00 of each interval since the epoch), one tick per bucket at most, no
// catch-up burst after a stall or suspend (missed buckets stay gaps). Run()
// blocks its thread; Stop() may be called from any thread or a signal waiter.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>

#include "core/clock.h"

namespace headcount {

// Blocks until a wall-clock instant, or until stopped. Thread-safe.
class Waiter {
 public:
  virtual ~Waiter() = default;
  Waiter() = default;
  Waiter(const Waiter&) = delete;
  Waiter& operator=(const Waiter&) = delete;

  // Returns true once the clock reads `t` or later, false if Stop() came first.
  virtual bool WaitUntil(WallTime t) = 0;
  // Wakes every waiter now and makes every later WaitUntil return false.
  virtual void Stop() = 0;
};

// Waits on the system clock. Sleeps in slices of at most kMaxSlice so a wall
// clock step (NTP, suspend/resume) is noticed within one slice.
class SystemWaiter final : public Waiter {
 public:
  static constexpr std::chrono::milliseconds kMaxSlice{500};

  bool WaitUntil(WallTime t) override;
  void Stop() override;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;  // guarded by mu_
};

// The next instant a tick is due: the start of the bucket after the last one
// ticked, or, if that is already past (a stall), the start of the bucket
// holding `now`, so missed buckets are skipped rather than replayed.
// With no last tick, the next bucket boundary after `now`.
WallTime NextTickTime(WallTime now, std::optional<Seconds> last_bucket,
                      std::chrono::seconds interval);

class Scheduler {
 public:
  Scheduler(const Clock& clock, Waiter& waiter, std::chrono::seconds interval)
      : clock_(clock), waiter_(waiter), interval_(interval) {}

  // Calls tick(bucket_start) once per bucket until Stop(). A tick that is
  // running when Stop() is called finishes first.
  void Run(const std::function<void(Seconds bucket)>& tick);
  void Stop() { waiter_.Stop(); }

 private:
  const Clock& clock_;
  Waiter& waiter_;
  const std::chrono::seconds interval_;
};

}  // namespace headcount
