// Retries with exponential backoff and full jitter, bounded by an attempt
// count and a deadline: the one retry policy of the AWS client and of the
// DynamoDB store's resends. RetryPolicy is immutable and thread-safe (its
// jitter source must be); a RetryBudget belongs to one operation and is not
// synchronized.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

#include "core/clock.h"
#include "core/result.h"

namespace headcount {

// Waits; the seam that lets retry tests run without sleeping.
using SleepFunction = std::function<void(std::chrono::nanoseconds)>;
// std::this_thread::sleep_for.
SleepFunction RealSleep();

// A uniformly random integer in [0, max], max >= 0: the jitter seam. May be
// called from many threads at once.
using JitterFunction = std::function<std::int64_t(std::int64_t max)>;
// A std::mt19937_64 behind a mutex, seeded with `seed` (0: from
// std::random_device).
JitterFunction SeededJitter(std::uint64_t seed);

struct RetryLimits {
  // Attempts in all, the first one included; at least 1.
  int max_attempts = 1;
  // The wait before retry n (1-based) is uniform in
  // [0, min(cap, base * 2^(n-1))] ("full jitter"); 0 < base <= cap.
  std::chrono::milliseconds base{1};
  std::chrono::milliseconds cap{1};
};

class RetryPolicy {
 public:
  // kInvalidArgument for limits out of range or an empty function. `clock`
  // must outlive the policy and every budget started from it.
  static Result<RetryPolicy> Create(RetryLimits limits, const Clock& clock, SleepFunction sleep,
                                    JitterFunction jitter);

  // The longest wait before retry number `retry` (1-based):
  // min(cap, base * 2^(retry-1)).
  std::chrono::nanoseconds Ceiling(int retry) const;
  // The wait before retry number `retry`: uniform in [0, Ceiling(retry)].
  std::chrono::nanoseconds Backoff(int retry) const;

  const RetryLimits& limits() const { return limits_; }
  const Clock& clock() const { return *clock_; }
  void Sleep(std::chrono::nanoseconds d) const { sleep_(d); }

 private:
  RetryPolicy(RetryLimits limits, const Clock& clock, SleepFunction sleep, JitterFunction jitter);

  RetryLimits limits_;
  const Clock* clock_;
  SleepFunction sleep_;
  JitterFunction jitter_;
};

// What a RetryBudget says before an attempt or a retry.
enum class RetryVerdict {
  kGo,              // go ahead (WaitToRetry: the wait is over)
  kAttemptsUsedUp,  // max_attempts attempts have been made
  kPastDeadline,    // the deadline has passed, or the wait would end at or after it
};

// The attempts of one operation under a policy: at most max_attempts in
// all, none started at or after the deadline, and no wait that would end at
// or after it. Calls that make up one operation share one budget (a
// DynamoDB BatchWriteItem and the resends of its unprocessed items), so
// their attempts add up instead of multiplying.
//
// Example:
//   RetryBudget budget(policy, deadline);
//   while (budget.StartAttempt() == RetryVerdict::kGo) {
//     if (TryOnce()) return ok;
//     if (budget.WaitToRetry() != RetryVerdict::kGo) break;
//   }
class RetryBudget {
 public:
  // `policy` must outlive the budget.
  RetryBudget(const RetryPolicy& policy, WallTime deadline);

  // Before an attempt: kGo, counting the attempt, while the deadline is
  // ahead and fewer than max_attempts were made; otherwise why not, counting
  // nothing.
  RetryVerdict StartAttempt();
  // After a failed attempt: if another may follow, calls `before_wait` (if
  // given: a log line) with its backoff (Backoff(attempts())), sleeps it and
  // returns kGo; otherwise returns why not, without sleeping:
  // kAttemptsUsedUp, or kPastDeadline when the wait would end at or after
  // the deadline.
  RetryVerdict WaitToRetry(const std::function<void(std::chrono::nanoseconds)>& before_wait = {});

  int attempts() const { return attempts_; }
  int attempts_left() const { return policy_.limits().max_attempts - attempts_; }
  WallTime deadline() const { return deadline_; }
  // Time left before the deadline, rounded up to a whole millisecond; zero
  // once it has passed.
  std::chrono::milliseconds TimeLeft() const;

 private:
  const RetryPolicy& policy_;
  const WallTime deadline_;
  int attempts_ = 0;
};

}  // namespace headcount
