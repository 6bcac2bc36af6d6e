// Tests of IvsChannelDirectory over the aws FakeTransport: one
// BatchGetChannel per Refresh for at most 50 due channels (never looked up
// first), each looked up again only after an hour; what an answer may not
// carry (channels not asked for, names and URLs of the wrong shape) is
// dropped; unknown ARNs are remembered as such; a failed call changes nothing.
#include "ivs/ivs_channel_directory.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ivs/ivs_test_util.h"

namespace headcount {
namespace {

using ivs_testing::Arn;
using ivs_testing::ClientFixture;
using json = nlohmann::json;

json ChannelOf(int n) {
  return {{"arn", Arn(n)},
          {"name", "show-" + std::to_string(n)},
          {"playbackUrl", "https://abc.us-west-2.playback.live-video.net/api/video/v1/ch" +
                              std::to_string(n) + ".m3u8"}};
}

// The ARNs each BatchGetChannel request asked for.
std::vector<std::vector<std::string>> AskedArns(const ClientFixture& f) {
  std::vector<std::vector<std::string>> out;
  for (const auto& request : f.transport.requests()) {
    EXPECT_TRUE(request.url.ends_with("/BatchGetChannel")) << request.url;
    out.push_back(json::parse(request.body)["arns"].get<std::vector<std::string>>());
  }
  return out;
}

std::vector<ChannelId> Channels(int from, int to) {
  std::vector<ChannelId> out;
  for (int n = from; n < to; ++n) out.push_back(Arn(n));
  return out;
}

TEST(IvsChannelDirectoryTest, LearnsNameAndPlaybackUrlInOneCall) {
  ClientFixture f;
  IvsChannelDirectory directory(*f.client, f.clock);
  f.transport.PushResponse(
      200, json{{"channels", {ChannelOf(1), ChannelOf(2)}}, {"errors", json::array()}}.dump());
  const auto channels = Channels(1, 3);
  ASSERT_TRUE(directory.Refresh(channels, f.clock.Now() + std::chrono::seconds(5)).ok());
  EXPECT_EQ(AskedArns(f), (std::vector<std::vector<std::string>>{{Arn(1), Arn(2)}}));
  const auto one = directory.Find(Arn(1));
  ASSERT_TRUE(one);
  EXPECT_EQ(one->name, "show-1");
  EXPECT_EQ(one->playback_url, ChannelOf(1)["playbackUrl"]);
  EXPECT_FALSE(directory.Find(Arn(3)));

  // Known and fresh: no call at all.
  ASSERT_TRUE(directory.Refresh(channels, f.clock.Now() + std::chrono::seconds(5)).ok());
  EXPECT_EQ(f.transport.requests().size(), 1U);
}

TEST(IvsChannelDirectoryTest, AtMostFiftyPerCallNewFirstThenHourlyOldestFirst) {
  ClientFixture f;
  IvsChannelDirectory directory(*f.client, f.clock);
  const auto deadline = [&] { return f.clock.Now() + std::chrono::seconds(5); };
  const auto answer = [&](int from, int to) {
    json channels = json::array();
    for (int n = from; n < to; ++n) channels.push_back(ChannelOf(n));
    f.transport.PushResponse(200, json{{"channels", channels}}.dump());
  };
  answer(0, 50);
  ASSERT_TRUE(directory.Refresh(Channels(0, 60), deadline()).ok());
  answer(50, 60);
  ASSERT_TRUE(directory.Refresh(Channels(0, 60), deadline()).ok());
  auto asked = AskedArns(f);
  ASSERT_EQ(asked.size(), 2U);
  EXPECT_EQ(asked[0].size(), IvsChannelDirectory::kMaxArnsPerCall);
  EXPECT_EQ(asked[1], Channels(50, 60)) << "the ones never looked up come next";

  f.clock.Advance(std::chrono::minutes(59));
  ASSERT_TRUE(directory.Refresh(Channels(0, 60), deadline()).ok());
  EXPECT_EQ(f.transport.requests().size(), 2U) << "nothing is due within the hour";
  f.clock.Advance(std::chrono::minutes(1));
  answer(0, 50);
  ASSERT_TRUE(directory.Refresh(Channels(0, 60), deadline()).ok());
  asked = AskedArns(f);
  EXPECT_EQ(asked[2], Channels(0, 50)) << "an hour on: the longest looked up first";
}

TEST(IvsChannelDirectoryTest, DropsWhatTheAnswerMayNotCarry) {
  ClientFixture f;
  IvsChannelDirectory directory(*f.client, f.clock);
  json bad_name = ChannelOf(1);
  bad_name["name"] = "<script>";
  json bad_url = ChannelOf(2);
  bad_url["playbackUrl"] = "javascript:alert(1)";
  f.transport.PushResponse(
      200, json{{"channels", {bad_name, bad_url, ChannelOf(9)}},
                {"errors", {{{"arn", Arn(3)}, {"code", "ResourceNotFoundException"}}}}}
               .dump());
  ASSERT_TRUE(directory.Refresh(Channels(1, 4), f.clock.Now() + std::chrono::seconds(5)).ok());
  ASSERT_TRUE(directory.Find(Arn(1)));
  EXPECT_EQ(directory.Find(Arn(1))->name, "");
  EXPECT_EQ(directory.Find(Arn(1))->playback_url, ChannelOf(1)["playbackUrl"]);
  ASSERT_TRUE(directory.Find(Arn(2)));
  EXPECT_EQ(directory.Find(Arn(2))->name, "show-2");
  EXPECT_EQ(directory.Find(Arn(2))->playback_url, "");
  EXPECT_FALSE(directory.Find(Arn(9))) << "not asked for";
  EXPECT_FALSE(directory.Find(Arn(3))) << "IVS does not know it";
  // Remembered as unknown: not asked again within the hour.
  ASSERT_TRUE(directory.Refresh(Channels(1, 4), f.clock.Now() + std::chrono::seconds(5)).ok());
  EXPECT_EQ(f.transport.requests().size(), 1U);
}

TEST(IvsChannelDirectoryTest, FailedCallLearnsNothingAndIsTriedAgain) {
  ClientFixture f(nullptr, /*max_attempts=*/1);
  IvsChannelDirectory directory(*f.client, f.clock);
  f.transport.PushResponse(403, R"({"__type":"AccessDeniedException","message":"no"})");
  EXPECT_FALSE(directory.Refresh(Channels(1, 2), f.clock.Now() + std::chrono::seconds(5)).ok());
  EXPECT_FALSE(directory.Find(Arn(1)));
  f.transport.PushResponse(200, json{{"channels", {ChannelOf(1)}}}.dump());
  EXPECT_TRUE(directory.Refresh(Channels(1, 2), f.clock.Now() + std::chrono::seconds(5)).ok());
  EXPECT_TRUE(directory.Find(Arn(1)));
}

TEST(IvsChannelDirectoryTest, OriginIdsAreNotLookedUp) {
  ClientFixture f;
  IvsChannelDirectory directory(*f.client, f.clock);
  const std::vector<ChannelId> channels = {"live", "demo"};
  EXPECT_TRUE(directory.Refresh(channels, f.clock.Now() + std::chrono::seconds(5)).ok());
  EXPECT_TRUE(f.transport.requests().empty());
}

}  // namespace
}  // namespace headcount
