// Time as a seam: logic asks a Clock for "now" instead of the system, so tests
// drive time by hand. SystemClock is thread-safe; FakeClock is too (atomic).
#pragma once

#include <atomic>
#include <chrono>

namespace headcount {

using WallTime = std::chrono::system_clock::time_point;
// A bucket start or any whole-second instant since the Unix epoch.
using Seconds = std::chrono::sys_seconds;

class Clock {
 public:
  virtual ~Clock() = default;
  Clock() = default;
  Clock(const Clock&) = delete;
  Clock& operator=(const Clock&) = delete;

  virtual WallTime Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  WallTime Now() const override { return std::chrono::system_clock::now(); }
};

class FakeClock final : public Clock {
 public:
  explicit FakeClock(WallTime start = WallTime{}) : now_(start) {}
  WallTime Now() const override { return now_.load(); }
  void Set(WallTime t) { now_.store(t); }
  void Advance(std::chrono::nanoseconds d) { now_.store(now_.load() + d); }

 private:
  std::atomic<WallTime> now_;
};

// The start of the bucket of length `length` that holds `t`: buckets are
// aligned to the Unix epoch, so every interval that divides a day starts at
// :00 of the minute (or hour). `length` must be positive.
Seconds BucketStart(WallTime t, std::chrono::seconds length);

}  // namespace headcount
