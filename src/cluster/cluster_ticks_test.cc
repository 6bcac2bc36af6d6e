#include "cluster/cluster_ticks.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "cluster/testing/fake_redis.h"
#include "core/testing/time.h"

namespace headcount {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::At;
using testing::FakeRedis;

// Moves the clock to each instant waited for.
class ClockWaiter final : public Waiter {
 public:
  explicit ClockWaiter(FakeClock& clock) : clock_(clock) {}
  bool WaitUntil(WallTime t) override {
    if (clock_.Now() < t) clock_.Set(t);
    ++waits;
    return !stopped;
  }
  void Stop() override { stopped = true; }
  int waits = 0;
  bool stopped = false;

 private:
  FakeClock& clock_;
};

constexpr seconds kInterval{60};

// One node: its lease, health, and what its pipeline did.
struct Node {
  Node(FakeRedis& redis, FakeClock& clock, Waiter& waiter, const std::string& name)
      : lease(redis, "headcount:", name),
        ticks(
            lease, health, clock, waiter, {.interval = kInterval, .follow_poll = milliseconds(200)},
            [this](WallTime now, WallTime) {
              TickReport r;
              r.bucket = BucketStart(now, kInterval);
              r.seen = 1;
              r.stored = 1;
              r.summaries.push_back(
                  {"demo", r.bucket, kInterval, {1, 2, 3, 4, viewers}, Trend::kRising});
              ran.push_back(r.bucket);
              return r;
            },
            [this](const TickReport& r) { followed.push_back(r.bucket); },
            [this] { ++forgotten; }) {}

  std::int64_t viewers = 5;
  TickLease lease;
  ClusterHealth health;
  ClusterTicks ticks;
  std::vector<Seconds> ran;
  std::vector<Seconds> followed;
  int forgotten = 0;
};

class ClusterTicksTest : public ::testing::Test {
 protected:
  Seconds Bucket() const { return BucketStart(clock_.Now(), kInterval); }
  WallTime Deadline() const { return WallTime(Bucket()) + kInterval - kInterval / 10; }

  FakeClock clock_{At("2026-12-07T17:00:00Z")};
  FakeRedis redis_{clock_};
  ClockWaiter waiter_{clock_};
  Node a_{redis_, clock_, waiter_, "a"};
  Node b_{redis_, clock_, waiter_, "b"};
  Node c_{redis_, clock_, waiter_, "c"};
};

TEST_F(ClusterTicksTest, OneNodeRunsEachBucketAndTheOthersPublishItsReport) {
  for (int minute = 0; minute < 3; ++minute) {
    const Seconds bucket = Bucket();
    const auto ra = a_.ticks.Run(clock_.Now(), Deadline());
    const auto rb = b_.ticks.Run(clock_.Now(), Deadline());
    const auto rc = c_.ticks.Run(clock_.Now(), Deadline());
    ASSERT_TRUE(ra && rb && rc);
    EXPECT_EQ(ra->summaries, rb->summaries);
    EXPECT_EQ(ra->summaries, rc->summaries);
    EXPECT_EQ(rb->bucket, bucket);
    clock_.Advance(kInterval);
  }
  EXPECT_EQ(a_.ran.size(), 3u);  // the first to ask ran every bucket
  EXPECT_TRUE(b_.ran.empty());
  EXPECT_TRUE(c_.ran.empty());
  EXPECT_EQ(b_.followed.size(), 3u);
  EXPECT_EQ(c_.followed.size(), 3u);
  EXPECT_EQ(a_.forgotten, 1);  // before its first tick only: it wrote every bucket since
}

TEST_F(ClusterTicksTest, ABucketIsNeverRunTwiceEvenWhenAskedAgain) {
  ASSERT_TRUE(a_.ticks.Run(clock_.Now(), Deadline()));
  clock_.Advance(seconds(5));
  ASSERT_TRUE(b_.ticks.Run(clock_.Now(), Deadline()));  // POST /api/tick on b
  ASSERT_TRUE(a_.ticks.Run(clock_.Now(), Deadline()));  // and on a
  EXPECT_EQ(a_.ran.size() + b_.ran.size(), 1u);
}

TEST_F(ClusterTicksTest, WhenTheHolderDiesTheNextBucketIsAnothersAndItsCacheIsForgotten) {
  ASSERT_TRUE(a_.ticks.Run(clock_.Now(), Deadline()));
  ASSERT_TRUE(b_.ticks.Run(clock_.Now(), Deadline()));  // b follows a
  clock_.Advance(kInterval);
  // A node takes the lease and dies with it.
  TickLease dying(redis_, "headcount:", "dying");
  ASSERT_EQ(*dying.Acquire(Bucket(), milliseconds(20'000)), TickLease::Outcome::kAcquired);
  const Seconds lost = Bucket();
  // b waits for its report, then runs the bucket itself once the lease is free.
  const auto rb = b_.ticks.Run(clock_.Now(), Deadline());
  ASSERT_TRUE(rb);
  EXPECT_EQ(rb->bucket, lost);
  ASSERT_EQ(b_.ran.size(), 1u);
  EXPECT_GT(waiter_.waits, 0);
  EXPECT_EQ(b_.forgotten, 1);  // the bucket before was a's
  clock_.Advance(kInterval);
  ASSERT_TRUE(b_.ticks.Run(clock_.Now(), Deadline()));
  EXPECT_EQ(b_.forgotten, 1);  // b wrote the bucket before
  // a comes back: it did not write the last buckets, so its cache goes.
  clock_.Advance(kInterval);
  const int before = a_.forgotten;
  ASSERT_TRUE(a_.ticks.Run(clock_.Now(), Deadline()));
  EXPECT_EQ(a_.forgotten, before + 1);
}

TEST_F(ClusterTicksTest, AHolderThatOutlivesTheDeadlineLeavesNothingToShow) {
  TickLease slow(redis_, "headcount:", "slow");
  ASSERT_EQ(*slow.Acquire(Bucket(), milliseconds(120'000)), TickLease::Outcome::kAcquired);
  EXPECT_FALSE(b_.ticks.Run(clock_.Now(), Deadline()).has_value());
  EXPECT_TRUE(b_.ran.empty());
  EXPECT_LE(clock_.Now(), Deadline());
}

TEST_F(ClusterTicksTest, WithoutRedisEachNodeTicksAloneAndResumesAfter) {
  ASSERT_TRUE(a_.ticks.Run(clock_.Now(), Deadline()));
  clock_.Advance(kInterval);
  redis_.set_down(true);
  const auto ra = a_.ticks.Run(clock_.Now(), Deadline());
  const auto rb = b_.ticks.Run(clock_.Now(), Deadline());
  ASSERT_TRUE(ra && rb);  // both count locally meanwhile
  EXPECT_EQ(a_.ran.size(), 2u);
  EXPECT_EQ(b_.ran.size(), 1u);
  ASSERT_TRUE(a_.health.degraded().has_value());
  EXPECT_NE(a_.health.degraded()->find("Connection refused"), std::string::npos);
  const int forgotten = a_.forgotten;
  clock_.Advance(kInterval);
  redis_.set_down(false);
  ASSERT_TRUE(a_.ticks.Run(clock_.Now(), Deadline()));
  ASSERT_TRUE(b_.ticks.Run(clock_.Now(), Deadline()));
  EXPECT_FALSE(a_.health.degraded().has_value());
  EXPECT_FALSE(b_.health.degraded().has_value());
  EXPECT_EQ(a_.ran.size() + b_.ran.size(), 4u);  // one run for the bucket after
  // The buckets of the outage may be anyone's: the first led tick after forgets.
  EXPECT_EQ(a_.forgotten, forgotten + 1);
}

// The limit of a Redis without persistence: a restart between the leader's
// tick and another node's asking for the same bucket lets that node run it
// again (the store's upsert keeps one sample per channel and bucket).
TEST_F(ClusterTicksTest, ARedisRestartForgetsTheLastBucketSoItMayRunOnceMore) {
  ASSERT_TRUE(a_.ticks.Run(clock_.Now(), Deadline()));
  redis_.Restart();  // tick:done is gone
  EXPECT_TRUE(b_.ticks.Run(clock_.Now(), Deadline()));
  EXPECT_EQ(b_.ran.size(), 1u);
  clock_.Advance(kInterval);
  ASSERT_TRUE(a_.ticks.Run(clock_.Now(), Deadline()));
  ASSERT_TRUE(b_.ticks.Run(clock_.Now(), Deadline()));
  EXPECT_EQ(a_.ran.size() + b_.ran.size(), 3u);
}

}  // namespace
}  // namespace headcount
