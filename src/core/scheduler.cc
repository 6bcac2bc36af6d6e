#include "core/scheduler.h"

#include <algorithm>

namespace headcount {

bool SystemWaiter::WaitUntil(WallTime t) {
  std::unique_lock lock(mu_);
  while (!stopped_) {
    const auto now = std::chrono::system_clock::now();
    if (now >= t) return true;
    const auto slice = std::min<std::chrono::nanoseconds>(t - now, kMaxSlice);
    cv_.wait_for(lock, slice);
  }
  return false;
}

void SystemWaiter::Stop() {
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
  }
  cv_.notify_all();
}

WallTime NextTickTime(WallTime now, std::optional<Seconds> last_bucket,
                      std::chrono::seconds interval) {
  const Seconds current = BucketStart(now, interval);
  if (!last_bucket) return current + interval;
  const Seconds next = *last_bucket + interval;
  // Past due by a whole bucket or more: skip to the bucket we are in.
  return next < current ? current : next;
}

void Scheduler::Run(const std::function<void(Seconds bucket)>& tick) {
  std::optional<Seconds> last;
  while (true) {
    const WallTime due = NextTickTime(clock_.Now(), last, interval_);
    if (!waiter_.WaitUntil(due)) return;
    const Seconds bucket = BucketStart(clock_.Now(), interval_);
    // The clock may have stepped back while we slept: never tick a bucket twice.
    if (last && bucket <= *last) continue;
    tick(bucket);
    last = bucket;
  }
}

}  // namespace headcount
