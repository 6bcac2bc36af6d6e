#include "cluster/shared_viewers.h"

#include <gtest/gtest.h>

#include <vector>

#include "cluster/testing/fake_redis.h"
#include "core/testing/time.h"

namespace headcount {
namespace {

using std::chrono::seconds;
using testing::At;
using testing::FakeRedis;
using Kind = ViewerSink::Kind;

SessionTable::Key ViewerKey(unsigned char n) {
  SessionTable::Key key{};
  key[0] = n;
  return key;
}

class SharedViewersTest : public ::testing::Test {
 protected:
  SharedViewersOptions Options() {
    SharedViewersOptions o;
    o.session_timeout = seconds(30);
    o.token_timeout = seconds(30);
    o.sid_timeout = seconds(75);
    return o;
  }

  FakeClock clock_{At("2026-12-07T17:00:00Z")};
  FakeRedis redis_{clock_};
};

TEST_F(SharedViewersTest, RequestsAreBatchedOneRoundTripPerFlush) {
  SharedViewers node(redis_, Options());
  for (int request = 0; request < 1000; ++request) {
    node.Seen(Kind::kSession, "demo", ViewerKey(request % 10), clock_.Now());
  }
  EXPECT_EQ(redis_.round_trips(), 0u);  // nothing sent per media request
  EXPECT_EQ(node.pending(), 10u);       // one update per viewer
  ASSERT_TRUE(node.Flush().ok());
  EXPECT_EQ(redis_.round_trips(), 1u);
  EXPECT_EQ(redis_.zcard("headcount:viewers:session:demo"), 10u);
  EXPECT_EQ(node.pending(), 0u);
  ASSERT_TRUE(node.Flush().ok());  // nothing new: nothing sent
  EXPECT_EQ(redis_.round_trips(), 1u);
}

TEST_F(SharedViewersTest, AViewerOnSeveralNodesIsOneViewer) {
  SharedViewers a(redis_, Options());
  SharedViewers b(redis_, Options());
  SharedViewers c(redis_, Options());
  a.Seen(Kind::kSession, "demo", ViewerKey(1), clock_.Now());
  b.Seen(Kind::kSession, "demo", ViewerKey(1), clock_.Now());  // it moved
  b.Seen(Kind::kSession, "demo", ViewerKey(2), clock_.Now());
  c.Seen(Kind::kSession, "demo", ViewerKey(3), clock_.Now());
  ASSERT_TRUE(a.Flush().ok());
  ASSERT_TRUE(b.Flush().ok());
  const std::vector<ChannelId> channels = {"demo", "quiet"};
  const auto counts = c.Count(channels, clock_.Now());  // flushes c's own
  ASSERT_TRUE(counts.ok()) << counts.error().message();
  EXPECT_EQ(counts->at("demo"), 3);
  EXPECT_EQ(counts->at("quiet"), 0);
}

TEST_F(SharedViewersTest, ViewersExpireByTheirKindsTimeout) {
  SharedViewers node(redis_, Options());
  node.Seen(Kind::kSession, "demo", ViewerKey(1), clock_.Now());
  node.Seen(Kind::kSid, "demo", ViewerKey(2), clock_.Now());
  node.Seen(Kind::kSid, "demo", ViewerKey(3), clock_.Now());
  const std::vector<ChannelId> channels = {"demo"};
  clock_.Advance(seconds(29));
  EXPECT_EQ(node.Count(channels, clock_.Now())->at("demo"), 2);  // max(1 session, 2 sids)
  clock_.Advance(seconds(2));  // the session is gone, the sids are not
  EXPECT_EQ(node.Count(channels, clock_.Now())->at("demo"), 2);
  EXPECT_EQ(redis_.zcard("headcount:viewers:session:demo"), 0u);
  node.Gone(Kind::kSid, "demo", ViewerKey(3));  // paused
  EXPECT_EQ(node.Count(channels, clock_.Now())->at("demo"), 1);
  clock_.Advance(seconds(75));
  EXPECT_EQ(node.Count(channels, clock_.Now())->at("demo"), 0);
}

TEST_F(SharedViewersTest, ALateBatchNeverMovesAViewerBack) {
  SharedViewers a(redis_, Options());
  SharedViewers b(redis_, Options());
  const WallTime early = clock_.Now();
  a.Seen(Kind::kSession, "demo", ViewerKey(1), early + seconds(20));
  ASSERT_TRUE(a.Flush().ok());
  b.Seen(Kind::kSession, "demo", ViewerKey(1), early);  // b's batch was slow
  ASSERT_TRUE(b.Flush().ok());
  clock_.Advance(seconds(40));  // 40 s after `early`, 20 s after the newest
  const std::vector<ChannelId> channels = {"demo"};
  EXPECT_EQ(a.Count(channels, clock_.Now())->at("demo"), 1);
}

TEST_F(SharedViewersTest, UpdatesWaitOutAnOutageAndNewerOnesWin) {
  SharedViewers node(redis_, Options());
  node.Seen(Kind::kSession, "demo", ViewerKey(1), clock_.Now());
  node.Seen(Kind::kSession, "demo", ViewerKey(2), clock_.Now());
  redis_.set_down(true);
  const Status failed = node.Flush();
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(node.pending(), 2u);
  clock_.Advance(seconds(20));
  node.Gone(Kind::kSession, "demo", ViewerKey(2));  // newer than the kept update
  const std::vector<ChannelId> channels = {"demo"};
  EXPECT_FALSE(node.Count(channels, clock_.Now()).ok());
  redis_.set_down(false);
  const auto counts = node.Count(channels, clock_.Now());
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->at("demo"), 1);
}

TEST_F(SharedViewersTest, PendingUpdatesAreBounded) {
  SharedViewersOptions options = Options();
  options.max_pending = 3;
  SharedViewers node(redis_, options);
  for (unsigned char i = 0; i < 5; ++i) {
    node.Seen(Kind::kSession, "demo", ViewerKey(i), clock_.Now());
  }
  EXPECT_EQ(node.pending(), 3u);
  EXPECT_EQ(node.dropped(), 2u);
  node.Seen(Kind::kSession, "demo", ViewerKey(0), clock_.Now());  // known: updated, not dropped
  EXPECT_EQ(node.dropped(), 2u);
}

TEST_F(SharedViewersTest, BigBatchesAreSplitIntoBoundedCommands) {
  SharedViewers node(redis_, Options());
  for (std::size_t i = 0; i < kMaxMembersPerCommand + 1; ++i) {
    SessionTable::Key key{};
    key[0] = static_cast<unsigned char>(i);
    key[1] = static_cast<unsigned char>(i >> 8);
    node.Seen(Kind::kToken, "demo", key, clock_.Now());
  }
  ASSERT_TRUE(node.Flush().ok());
  EXPECT_EQ(redis_.round_trips(), 1u);
  std::size_t adds = 0;
  for (const RedisCommand& c : redis_.sent()) {
    if (c[0] != "ZADD") continue;
    ++adds;
    EXPECT_LE((c.size() - 3) / 2, kMaxMembersPerCommand);
  }
  EXPECT_EQ(adds, 2u);
  EXPECT_EQ(redis_.zcard("headcount:viewers:token:demo"), kMaxMembersPerCommand + 1);
}

}  // namespace
}  // namespace headcount
