// The cluster's Redis parts against a real redis-server (integration).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <thread>
#include <vector>

#include "cluster/cluster_node.h"
#include "cluster/cluster_ticks.h"
#include "cluster/redis_client.h"
#include "cluster/redis_url.h"
#include "cluster/shared_viewers.h"
#include "cluster/testing/redis_server.h"
#include "cluster/tick_lease.h"
#include "core/testing/time.h"
#include "heartbeat/heartbeat_viewers.h"

namespace headcount {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::RedisServer;

constexpr char kPassword[] = "redis-test-s3cret";

RedisOptions OptionsFor(const std::string& url) {
  RedisOptions options;
  Result<RedisEndpoint> endpoint = ParseRedisUrl(url);
  EXPECT_TRUE(endpoint.ok());
  if (endpoint.ok()) options.endpoint = *endpoint;
  options.connect_timeout = milliseconds(500);
  options.io_timeout = milliseconds(1000);
  return options;
}

class ClusterRedisTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    Result<std::unique_ptr<RedisServer>> made = RedisServer::Create(kPassword);
    ASSERT_TRUE(made.ok()) << made.error().message();
    shared_redis = std::move(*made);
  }
  static void TearDownTestSuite() { shared_redis.reset(); }
  void SetUp() override {
    ASSERT_NE(shared_redis, nullptr);
    ASSERT_TRUE(shared_redis->Start().ok());
    RedisPool admin(OptionsFor(shared_redis->Url()));
    ASSERT_TRUE(admin.RunOne({"FLUSHALL"}).ok());
  }

  static std::unique_ptr<RedisServer> shared_redis;
};

std::unique_ptr<RedisServer> ClusterRedisTest::shared_redis;

TEST_F(ClusterRedisTest, PipelinesRepliesInOrderWithRefusalsAsReplies) {
  RedisPool redis(OptionsFor(shared_redis->Url()));
  const std::vector<RedisCommand> commands = {
      {"SET", "k", "v"}, {"GET", "k"}, {"INCR", "k"}, {"GET", "missing"}, {"ZADD", "z", "1", "m"}};
  const Result<std::vector<RedisReply>> r = redis.Run(commands);
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_EQ(r->size(), 5u);
  EXPECT_EQ((*r)[0].text, "OK");
  EXPECT_EQ((*r)[1].text, "v");
  EXPECT_TRUE((*r)[2].is_error());  // not an integer: a reply, not a failure
  EXPECT_EQ((*r)[3].type, RedisReply::Type::kNil);
  EXPECT_EQ((*r)[4].integer, 1);
}

TEST_F(ClusterRedisTest, AWrongPasswordIsRefusedWithoutSayingIt) {
  RedisOptions options = OptionsFor(shared_redis->Url());
  options.endpoint.password = "not-the-password";
  RedisPool redis(options);
  const Result<RedisReply> r = redis.RunOne({"PING"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kRejected);
  EXPECT_THAT(r.error().message(), Not(HasSubstr("not-the-password")));
  EXPECT_THAT(r.error().message(), HasSubstr("127.0.0.1:" + std::to_string(shared_redis->port())));
}

TEST_F(ClusterRedisTest, ARestartCostsTheCallsInFlightAndTheNextOneReconnects) {
  RedisPool redis(OptionsFor(shared_redis->Url()));
  ASSERT_TRUE(redis.RunOne({"PING"}).ok());
  shared_redis->Kill();
  const Result<RedisReply> down = redis.RunOne({"PING"});
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.error().code(), ErrorCode::kUnavailable);
  EXPECT_THAT(down.error().message(), Not(HasSubstr(kPassword)));
  ASSERT_TRUE(shared_redis->Start().ok());
  const Result<RedisReply> back = redis.RunOne({"PING"});
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(back->text, "PONG");
}

TEST_F(ClusterRedisTest, ThreeNodesCountAMovingViewerOnce) {
  RedisPool redis(OptionsFor(shared_redis->Url()));
  SharedViewersOptions options;
  SharedViewers a(redis, options), b(redis, options), c(redis, options);
  const WallTime now = testing::At("2026-12-07T17:00:00Z");
  for (unsigned char viewer = 0; viewer < 30; ++viewer) {
    SessionTable::Key key{};
    key[0] = viewer;
    SharedViewers* nodes[] = {&a, &b, &c};
    // Each viewer lands on one node, a third of them on every node.
    nodes[viewer % 3]->Seen(ViewerSink::Kind::kSession, "demo", key, now);
    if (viewer < 10) {
      for (SharedViewers* n : nodes) n->Seen(ViewerSink::Kind::kSession, "demo", key, now);
    }
  }
  // Each node flushes every second on its own; a count flushes its node's.
  ASSERT_TRUE(a.Flush().ok());
  ASSERT_TRUE(b.Flush().ok());
  ASSERT_TRUE(c.Flush().ok());
  const std::vector<ChannelId> channels = {"demo"};
  for (SharedViewers* n : {&a, &b, &c}) {
    const auto counts = n->Count(channels, now + seconds(1));
    ASSERT_TRUE(counts.ok()) << counts.error().message();
    EXPECT_EQ(counts->at("demo"), 30);
  }
  const auto later = a.Count(channels, now + seconds(31));
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(later->at("demo"), 0);
}

// The first-report script in the real Redis: a token and a sid whose
// reports go to three nodes in turn count once; a probe never does.
TEST_F(ClusterRedisTest, HeartbeatsAndSidsRoundRobinCountOnceAProbeNever) {
  RedisPool redis(OptionsFor(shared_redis->Url()));
  std::vector<std::unique_ptr<SharedViewers>> shared;
  std::vector<std::unique_ptr<HeartbeatViewers>> heartbeats;
  for (int i = 0; i < 3; ++i) {
    shared.push_back(std::make_unique<SharedViewers>(redis, SharedViewersOptions{}));
    heartbeats.push_back(std::make_unique<HeartbeatViewers>(
        HeartbeatOptions{.key = "the cluster's session key, 32 by", .sink = shared.back().get()}));
  }
  const std::vector<ChannelId> tokens = {"tokens"}, sids = {"sids"};
  WallTime now = testing::At("2026-12-07T17:00:00Z");
  for (auto& node : shared) ASSERT_TRUE(node->Count(tokens, now).ok());  // Redis answers
  const auto count = [&](const std::vector<ChannelId>& channel) {
    for (auto& node : shared) EXPECT_TRUE(node->Flush().ok());
    const auto counts = shared[0]->Count(channel, now);
    EXPECT_TRUE(counts.ok()) << counts.error().message();
    return counts.ok() ? counts->at(channel[0]) : -1;
  };
  const std::string token = *heartbeats[0]->Mint("tokens", now);
  const std::string probe = *heartbeats[0]->Mint("tokens", now);
  EXPECT_EQ(heartbeats[2]->Beat("tokens", probe, "10.0.0.9", now), BeatResult::kAccepted);
  EXPECT_EQ(heartbeats[2]->Report("sids", "probe", "10.0.0.9", now, CmcdPlayState::kWatching),
            ReportResult::kAccepted);
  for (int report = 0; report < 5; ++report) {
    const std::size_t node = report % 3;
    EXPECT_EQ(heartbeats[node]->Beat("tokens", token, "10.0.0.1", now), BeatResult::kAccepted);
    EXPECT_EQ(heartbeats[node]->Report("sids", "sid-1", "10.0.0.1", now, CmcdPlayState::kWatching),
              ReportResult::kAccepted);
    EXPECT_EQ(count(tokens), report == 0 ? 0 : 1) << "after report " << report;
    EXPECT_EQ(count(sids), report == 0 ? 0 : 1) << "after report " << report;
    now += seconds(10);
  }
  // A token made 50 s ago that no node heard of is refused.
  const std::string dead = *heartbeats[0]->Mint("tokens", now - seconds(50));
  EXPECT_EQ(heartbeats[1]->Beat("tokens", dead, "10.0.0.2", now), BeatResult::kAccepted);
  EXPECT_EQ(count(tokens), 1);
  EXPECT_EQ(heartbeats[1]->Beat("tokens", dead, "10.0.0.2", now + seconds(10)),
            BeatResult::kExpired);
}

TEST_F(ClusterRedisTest, TheLeaseScriptsFenceByBucket) {
  RedisPool redis(OptionsFor(shared_redis->Url()));
  TickLease a(redis, "hc:", "a"), b(redis, "hc:", "b");
  const Seconds first = std::chrono::floor<seconds>(testing::At("2026-12-07T17:00:00Z"));
  ASSERT_EQ(*a.Acquire(first, milliseconds(5000)), TickLease::Outcome::kAcquired);
  EXPECT_EQ(*b.Acquire(first, milliseconds(5000)), TickLease::Outcome::kHeld);
  ASSERT_TRUE(*a.Complete(first, "report 1"));
  EXPECT_EQ(*b.Acquire(first, milliseconds(5000)), TickLease::Outcome::kDone);
  EXPECT_EQ(**b.Shared(), "report 1");
  // The next bucket: b's, with a lease that expires (b stalls past it).
  const Seconds second = first + seconds(60);
  ASSERT_EQ(*b.Acquire(second, milliseconds(100)), TickLease::Outcome::kAcquired);
  std::this_thread::sleep_for(milliseconds(250));  // Redis's own expiry, in real time
  ASSERT_EQ(*a.Acquire(second, milliseconds(5000)), TickLease::Outcome::kAcquired);
  EXPECT_FALSE(*b.Complete(second, "stale"));  // fenced: not b's lease any more
  ASSERT_TRUE(*a.Complete(second, "report 2"));
  EXPECT_EQ(**b.Shared(), "report 2");
  EXPECT_EQ(*b.Acquire(first, milliseconds(5000)), TickLease::Outcome::kDone);  // never back
}

TEST_F(ClusterRedisTest, OnlyTheHolderRenewsItsLease) {
  RedisPool redis(OptionsFor(shared_redis->Url()));
  TickLease a(redis, "hc:", "a"), b(redis, "hc:", "b");
  const Seconds bucket = std::chrono::floor<seconds>(testing::At("2026-12-07T17:00:00Z"));
  // Generous margins: a loaded machine may be late by hundreds of ms.
  constexpr milliseconds kTtl{1000};
  ASSERT_EQ(*a.Acquire(bucket, kTtl), TickLease::Outcome::kAcquired);
  for (int i = 0; i < 4; ++i) {  // 1.2 s in all, past the TTL
    std::this_thread::sleep_for(kTtl * 3 / 10);
    ASSERT_TRUE(*a.Renew(kTtl));
  }
  EXPECT_EQ(*b.Acquire(bucket, kTtl), TickLease::Outcome::kHeld);
  EXPECT_FALSE(*b.Renew(kTtl));                           // b took no lease
  std::this_thread::sleep_for(kTtl + milliseconds(200));  // a stopped renewing: it died
  EXPECT_EQ(*b.Acquire(bucket, kTtl), TickLease::Outcome::kAcquired);
  EXPECT_FALSE(*a.Renew(kTtl));
}

// A tick longer than the lease's TTL keeps it (the holder renews it), so no
// other node runs the bucket meanwhile.
TEST_F(ClusterRedisTest, ALongTickKeepsItsLease) {
  RedisPool redis(OptionsFor(shared_redis->Url()));
  TickLease lease_a(redis, "hc:", "a"), lease_b(redis, "hc:", "b");
  ClusterHealth health;
  SystemClock clock;
  SystemWaiter waiter;
  constexpr seconds kInterval{2};  // a TTL of kMinLeaseTtl
  std::optional<TickLease::Outcome> seen_by_b;
  ClusterTicks a(
      lease_a, health, clock, waiter, {.interval = kInterval},
      [&](WallTime now, WallTime) {
        std::this_thread::sleep_for(LeaseTtl(kInterval) * 3 / 2);
        seen_by_b = *lease_b.Acquire(BucketStart(now, kInterval), LeaseTtl(kInterval));
        TickReport r;
        r.bucket = BucketStart(now, kInterval);
        return r;
      },
      [](const TickReport&) {}, [] {});
  const WallTime now = clock.Now();
  const auto report = a.Run(now, now + seconds(10));
  ASSERT_TRUE(report.has_value());
  ASSERT_TRUE(seen_by_b.has_value());
  EXPECT_EQ(*seen_by_b, TickLease::Outcome::kHeld);
  EXPECT_EQ(*lease_b.Acquire(BucketStart(now, kInterval), LeaseTtl(kInterval)),
            TickLease::Outcome::kDone);
}

TEST_F(ClusterRedisTest, NodesWithAnotherSessionKeyAreRefused) {
  RedisPool redis(OptionsFor(shared_redis->Url()));
  ASSERT_TRUE(CheckClusterSessionKey(redis, "hc:", "the cluster's key, 32 bytes long").ok());
  ASSERT_TRUE(CheckClusterSessionKey(redis, "hc:", "the cluster's key, 32 bytes long").ok());
  const Status other = CheckClusterSessionKey(redis, "hc:", "another key, also 32 bytes long!");
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(other.error().message(), HasSubstr("origin.session_key_file"));
  EXPECT_TRUE(CheckClusterSessionKey(redis, "other:", "another key, also 32 bytes long!").ok());
}

}  // namespace
}  // namespace headcount
