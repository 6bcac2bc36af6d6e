// RetryPolicy and RetryBudget. Thread-safety as in the header.
#include "core/retry.h"

#include <algorithm>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <utility>

namespace headcount {
namespace {

// Keeps base * 2^n far from overflowing nanoseconds.
constexpr int kMaxBackoffDoublings = 30;

}  // namespace

SleepFunction RealSleep() {
  return [](std::chrono::nanoseconds d) { std::this_thread::sleep_for(d); };
}

JitterFunction SeededJitter(std::uint64_t seed) {
  struct State {
    std::mutex mu;
    std::mt19937_64 engine;  // guarded by mu
  };
  auto state = std::make_shared<State>();
  state->engine.seed(seed != 0 ? seed : std::random_device{}());
  return [state](std::int64_t max) {
    std::uniform_int_distribution<std::int64_t> pick(0, max);
    std::lock_guard lock(state->mu);
    return pick(state->engine);
  };
}

Result<RetryPolicy> RetryPolicy::Create(RetryLimits limits, const Clock& clock, SleepFunction sleep,
                                        JitterFunction jitter) {
  if (limits.max_attempts < 1) return Error::InvalidArgument("retry: max_attempts must be >= 1");
  if (limits.base.count() <= 0 || limits.cap < limits.base) {
    return Error::InvalidArgument("retry: the backoff needs 0 < base <= cap");
  }
  if (!sleep || !jitter) return Error::InvalidArgument("retry: no sleep or jitter function");
  return RetryPolicy(limits, clock, std::move(sleep), std::move(jitter));
}

RetryPolicy::RetryPolicy(RetryLimits limits, const Clock& clock, SleepFunction sleep,
                         JitterFunction jitter)
    : limits_(limits), clock_(&clock), sleep_(std::move(sleep)), jitter_(std::move(jitter)) {}

std::chrono::nanoseconds RetryPolicy::Ceiling(int retry) const {
  const int doublings = std::clamp(retry - 1, 0, kMaxBackoffDoublings);
  return std::min<std::chrono::nanoseconds>(
      limits_.cap, std::chrono::nanoseconds(limits_.base) * (std::int64_t{1} << doublings));
}

std::chrono::nanoseconds RetryPolicy::Backoff(int retry) const {
  const std::int64_t ceiling = Ceiling(retry).count();
  // A jitter source that strays out of range cannot stretch a wait.
  return std::chrono::nanoseconds(std::clamp<std::int64_t>(jitter_(ceiling), 0, ceiling));
}

RetryBudget::RetryBudget(const RetryPolicy& policy, WallTime deadline)
    : policy_(policy), deadline_(deadline) {}

RetryVerdict RetryBudget::StartAttempt() {
  if (policy_.clock().Now() >= deadline_) return RetryVerdict::kPastDeadline;
  if (attempts_ >= policy_.limits().max_attempts) return RetryVerdict::kAttemptsUsedUp;
  ++attempts_;
  return RetryVerdict::kGo;
}

RetryVerdict RetryBudget::WaitToRetry(
    const std::function<void(std::chrono::nanoseconds)>& before_wait) {
  if (attempts_ >= policy_.limits().max_attempts) return RetryVerdict::kAttemptsUsedUp;
  const std::chrono::nanoseconds wait = policy_.Backoff(std::max(attempts_, 1));
  if (policy_.clock().Now() + wait >= deadline_) return RetryVerdict::kPastDeadline;
  if (before_wait) before_wait(wait);
  policy_.Sleep(wait);
  return RetryVerdict::kGo;
}

std::chrono::milliseconds RetryBudget::TimeLeft() const {
  const WallTime now = policy_.clock().Now();
  if (now >= deadline_) return std::chrono::milliseconds::zero();
  return std::chrono::ceil<std::chrono::milliseconds>(deadline_ - now);
}

}  // namespace headcount
