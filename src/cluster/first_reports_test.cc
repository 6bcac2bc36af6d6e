// A heartbeat viewer's and a CMCD sid's first reports, shared: HeartbeatViewers
// of three nodes with SharedViewers on one FakeRedis.
#include "cluster/first_reports.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "cluster/shared_viewers.h"
#include "cluster/testing/fake_redis.h"
#include "core/testing/time.h"
#include "heartbeat/heartbeat_viewers.h"

namespace headcount {
namespace {

using std::chrono::seconds;
using testing::At;
using testing::FakeRedis;

constexpr char kClusterKey[] = "the cluster's session key, 32 by";

// One node: its heartbeat viewers telling its shared viewers.
struct HeartbeatNode {
  explicit HeartbeatNode(Redis& redis)
      : shared(redis, SharedViewersOptions{}),
        heartbeats(
            HeartbeatOptions{.key = kClusterKey, .max_viewers_per_client = 0, .sink = &shared}) {}
  SharedViewers shared;
  HeartbeatViewers heartbeats;
};

class FirstReportsTest : public ::testing::Test {
 protected:
  FirstReportsTest() {
    for (int i = 0; i < 3; ++i) nodes_.push_back(std::make_unique<HeartbeatNode>(redis_));
    // Each node's flusher has run once: Redis answers.
    for (auto& n : nodes_) EXPECT_TRUE(n->shared.Count(kChannels, clock_.Now()).ok());
  }
  // Every node's flusher runs, then node 0 counts (the tick).
  std::int64_t FlushAndCount() {
    for (auto& n : nodes_) EXPECT_TRUE(n->shared.Flush().ok());
    const auto counts = nodes_[0]->shared.Count(kChannels, clock_.Now());
    EXPECT_TRUE(counts.ok());
    return counts.ok() ? counts->at("live") : -1;
  }

  const std::vector<ChannelId> kChannels = {"live"};
  FakeClock clock_{At("2026-12-07T17:00:00Z")};
  FakeRedis redis_{clock_};
  std::vector<std::unique_ptr<HeartbeatNode>> nodes_;
};

// A probe beats once on node 1; a burst token beats on nodes 1 and 2 within
// half the interval (one heartbeat, as on one node): neither ever counts.
TEST_F(FirstReportsTest, AHeartbeatViewerWhoseBeatsGoRoundRobinCountsFromItsSecondAProbeNever) {
  const std::string token = *nodes_[0]->heartbeats.Mint("live", clock_.Now());
  const std::string probe = *nodes_[0]->heartbeats.Mint("live", clock_.Now());
  const std::string burst = *nodes_[0]->heartbeats.Mint("live", clock_.Now());
  EXPECT_EQ(nodes_[1]->heartbeats.Beat("live", probe, "10.0.0.9", clock_.Now()),
            BeatResult::kAccepted);
  EXPECT_EQ(nodes_[1]->heartbeats.Beat("live", burst, "10.0.0.9", clock_.Now()),
            BeatResult::kAccepted);
  EXPECT_EQ(nodes_[2]->heartbeats.Beat("live", burst, "10.0.0.9", clock_.Now() + seconds(2)),
            BeatResult::kAccepted);
  for (int beat = 0; beat < 6; ++beat) {
    EXPECT_EQ(nodes_[beat % 3]->heartbeats.Beat("live", token, "10.0.0.1", clock_.Now()),
              BeatResult::kAccepted)
        << "beat " << beat;
    // Each node heard the token once: none counts it alone, the cluster does.
    EXPECT_EQ(FlushAndCount(), beat == 0 ? 0 : 1) << "after beat " << beat;
    clock_.Advance(seconds(10));
  }
  // Past the expiry after the last beat: gone.
  clock_.Advance(seconds(21));
  EXPECT_EQ(FlushAndCount(), 0);
}

TEST_F(FirstReportsTest, ACmcdSidWhoseReportsGoRoundRobinCountsFromItsSecondAProbeNever) {
  EXPECT_EQ(nodes_[2]->heartbeats.Report("live", "probe", "10.0.0.9", clock_.Now(),
                                         CmcdPlayState::kWatching),
            ReportResult::kAccepted);
  for (int report = 0; report < 4; ++report) {
    EXPECT_EQ(nodes_[report % 3]->heartbeats.Report("live", "sid-1", "10.0.0.1", clock_.Now(),
                                                    CmcdPlayState::kWatching),
              ReportResult::kAccepted);
    EXPECT_EQ(FlushAndCount(), report == 0 ? 0 : 1) << "after report " << report;
    clock_.Advance(seconds(30));
  }
  // A report that it stopped, on a node that never heard of it: gone.
  EXPECT_EQ(nodes_[1]->heartbeats.Report("live", "sid-1", "10.0.0.1", clock_.Now(),
                                         CmcdPlayState::kNotWatching),
            ReportResult::kAccepted);
  EXPECT_EQ(FlushAndCount(), 0);
}

TEST_F(FirstReportsTest, AnOldTokenNoNodeHeardOfIsRefusedOneHeardOfIsNot) {
  const std::string token = *nodes_[0]->heartbeats.Mint("live", clock_.Now());
  const std::string dead = *nodes_[0]->heartbeats.Mint("live", clock_.Now());
  EXPECT_EQ(nodes_[0]->heartbeats.Beat("live", token, "10.0.0.1", clock_.Now()),
            BeatResult::kAccepted);
  EXPECT_EQ(FlushAndCount(), 0);
  clock_.Advance(seconds(29));
  EXPECT_EQ(nodes_[1]->heartbeats.Beat("live", token, "10.0.0.1", clock_.Now()),
            BeatResult::kAccepted);
  EXPECT_EQ(FlushAndCount(), 1);
  // Made 40 s ago: one node with no record of it would say expired, but node
  // 2 asks the cluster, which heard of it 11 s ago.
  clock_.Advance(seconds(11));
  EXPECT_EQ(nodes_[2]->heartbeats.Beat("live", token, "10.0.0.1", clock_.Now()),
            BeatResult::kAccepted);
  EXPECT_EQ(FlushAndCount(), 1);
  // A token nobody heard of: taken, never counted, refused from then on.
  EXPECT_EQ(nodes_[2]->heartbeats.Beat("live", dead, "10.0.0.2", clock_.Now()),
            BeatResult::kAccepted);
  EXPECT_EQ(FlushAndCount(), 1);
  clock_.Advance(seconds(10));
  EXPECT_EQ(nodes_[2]->heartbeats.Beat("live", dead, "10.0.0.2", clock_.Now()),
            BeatResult::kExpired);
  EXPECT_EQ(FlushAndCount(), 1);
}

TEST_F(FirstReportsTest, WithRedisDownEachNodeDecidesAlone) {
  redis_.set_down(true);
  for (auto& n : nodes_) EXPECT_FALSE(n->shared.Count(kChannels, clock_.Now()).ok());
  const std::string token = *nodes_[0]->heartbeats.Mint("live", clock_.Now());
  EXPECT_EQ(nodes_[0]->heartbeats.Beat("live", token, "10.0.0.1", clock_.Now()),
            BeatResult::kAccepted);
  EXPECT_FALSE(nodes_[0]->shared.Flush().ok());
  clock_.Advance(seconds(10));
  EXPECT_EQ(nodes_[0]->heartbeats.Beat("live", token, "10.0.0.1", clock_.Now()),
            BeatResult::kAccepted);
  EXPECT_EQ(nodes_[0]->heartbeats.CountActive(clock_.Now()).at("live"), 1);  // local count
  // An old token this node has no record of: expired, as on one node.
  clock_.Advance(seconds(25));
  EXPECT_EQ(nodes_[1]->heartbeats.Beat("live", token, "10.0.0.1", clock_.Now()),
            BeatResult::kExpired);
}

}  // namespace
}  // namespace headcount
