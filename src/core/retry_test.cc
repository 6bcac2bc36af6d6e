// RetryPolicy and RetryBudget on a FakeClock: the backoff's ceiling and
// jitter, the attempt count, and the deadline that no wait may cross.
#include "core/retry.h"

#include <gtest/gtest.h>

#include <optional>
#include <vector>

#include "core/time_text.h"

namespace headcount {
namespace {

using namespace std::chrono_literals;
using std::chrono::nanoseconds;

WallTime Start() { return *ParseRfc3339("2026-03-01T12:00:00Z"); }

// A policy whose sleeps advance a FakeClock and whose jitter is scripted:
// it answers `jitter_fraction` of the range it is given.
struct Fixture {
  explicit Fixture(RetryLimits limits, double jitter_fraction = 1.0) {
    Result<RetryPolicy> made = RetryPolicy::Create(
        limits, clock,
        [this](nanoseconds d) {
          sleeps.push_back(d);
          clock.Advance(d);
        },
        [this, jitter_fraction](std::int64_t max) {
          ranges.push_back(max);
          return static_cast<std::int64_t>(static_cast<double>(max) * jitter_fraction);
        });
    EXPECT_TRUE(made.ok()) << made.error().ToString();
    policy.emplace(std::move(made).value());
  }

  FakeClock clock{Start()};
  std::vector<nanoseconds> sleeps;
  std::vector<std::int64_t> ranges;  // the max each jitter call was given
  std::optional<RetryPolicy> policy;
};

TEST(RetryPolicy, CeilingDoublesFromBaseUpToCap) {
  Fixture f({.max_attempts = 10, .base = 50ms, .cap = 300ms});
  EXPECT_EQ(f.policy->Ceiling(1), 50ms);
  EXPECT_EQ(f.policy->Ceiling(2), 100ms);
  EXPECT_EQ(f.policy->Ceiling(3), 200ms);
  EXPECT_EQ(f.policy->Ceiling(4), 300ms);
  EXPECT_EQ(f.policy->Ceiling(1000), 300ms);  // no overflow far out
}

TEST(RetryPolicy, FullJitterDrawsFromZeroToTheCeiling) {
  Fixture f({.max_attempts = 10, .base = 50ms, .cap = 300ms}, 0.5);
  EXPECT_EQ(f.policy->Backoff(2), 50ms);  // half of 100 ms
  EXPECT_EQ(f.ranges, (std::vector<std::int64_t>{nanoseconds(100ms).count()}));
  // A jitter source out of range cannot stretch or invert a wait.
  Fixture wild({.max_attempts = 10, .base = 50ms, .cap = 300ms}, 3.0);
  EXPECT_EQ(wild.policy->Backoff(1), 50ms);
  Fixture negative({.max_attempts = 10, .base = 50ms, .cap = 300ms}, -1.0);
  EXPECT_EQ(negative.policy->Backoff(1), 0ms);
}

TEST(RetryPolicy, CreateChecksItsLimits) {
  FakeClock clock;
  const auto make = [&](RetryLimits limits) {
    return RetryPolicy::Create(limits, clock, RealSleep(), SeededJitter(1));
  };
  EXPECT_TRUE(make({.max_attempts = 1, .base = 1ms, .cap = 1ms}).ok());
  EXPECT_FALSE(make({.max_attempts = 0, .base = 1ms, .cap = 1ms}).ok());
  EXPECT_FALSE(make({.max_attempts = 3, .base = 0ms, .cap = 1ms}).ok());
  EXPECT_FALSE(make({.max_attempts = 3, .base = 2ms, .cap = 1ms}).ok());
  EXPECT_FALSE(RetryPolicy::Create({.max_attempts = 1, .base = 1ms, .cap = 1ms}, clock, nullptr,
                                   SeededJitter(1))
                   .ok());
}

TEST(SeededJitter, SameSeedSameDrawsAllInRange) {
  const JitterFunction a = SeededJitter(42);
  const JitterFunction b = SeededJitter(42);
  for (int i = 0; i < 100; ++i) {
    const std::int64_t x = a(1000);
    EXPECT_EQ(x, b(1000));
    EXPECT_GE(x, 0);
    EXPECT_LE(x, 1000);
  }
  EXPECT_EQ(a(0), 0);
}

TEST(RetryBudget, CountsEveryAttemptAgainstOneMaximum) {
  Fixture f({.max_attempts = 3, .base = 10ms, .cap = 1s});
  RetryBudget budget(*f.policy, Start() + 1h);
  std::vector<nanoseconds> announced;
  const auto announce = [&](nanoseconds d) { announced.push_back(d); };
  EXPECT_EQ(budget.StartAttempt(), RetryVerdict::kGo);
  EXPECT_EQ(budget.WaitToRetry(announce), RetryVerdict::kGo);
  EXPECT_EQ(budget.StartAttempt(), RetryVerdict::kGo);
  EXPECT_EQ(budget.WaitToRetry(announce), RetryVerdict::kGo);
  EXPECT_EQ(budget.StartAttempt(), RetryVerdict::kGo);
  EXPECT_EQ(budget.attempts(), 3);
  EXPECT_EQ(budget.attempts_left(), 0);
  // Used up: no wait, and no further attempt, whoever asks.
  EXPECT_EQ(budget.WaitToRetry(announce), RetryVerdict::kAttemptsUsedUp);
  EXPECT_EQ(budget.StartAttempt(), RetryVerdict::kAttemptsUsedUp);
  EXPECT_EQ(budget.attempts(), 3);
  // The waits were the full ceilings of retries 1 and 2, announced, then
  // slept on the clock.
  EXPECT_EQ(announced, (std::vector<nanoseconds>{10ms, 20ms}));
  EXPECT_EQ(f.sleeps, announced);
  EXPECT_EQ(f.clock.Now(), Start() + 30ms);
}

TEST(RetryBudget, NeverWaitsAcrossTheDeadline) {
  Fixture f({.max_attempts = 100, .base = 400ms, .cap = 400ms});
  const WallTime deadline = Start() + 1s;
  RetryBudget budget(*f.policy, deadline);
  int attempts = 0;
  while (budget.StartAttempt() == RetryVerdict::kGo) {
    ++attempts;
    const RetryVerdict next = budget.WaitToRetry();
    if (next != RetryVerdict::kGo) {
      EXPECT_EQ(next, RetryVerdict::kPastDeadline);
      break;
    }
  }
  // 0 ms, 400 ms and 800 ms start; a wait from 800 ms would end at 1.2 s.
  EXPECT_EQ(attempts, 3);
  EXPECT_EQ(f.sleeps.size(), 2u);
  EXPECT_LE(f.clock.Now(), deadline);
  EXPECT_EQ(budget.TimeLeft(), 200ms);
}

TEST(RetryBudget, NoAttemptStartsAtOrAfterTheDeadline) {
  Fixture f({.max_attempts = 3, .base = 10ms, .cap = 10ms});
  RetryBudget budget(*f.policy, Start());
  EXPECT_EQ(budget.StartAttempt(), RetryVerdict::kPastDeadline);
  EXPECT_EQ(budget.attempts(), 0);
  EXPECT_EQ(budget.TimeLeft(), 0ms);
}

}  // namespace
}  // namespace headcount
