// IvsSource against scripted IVS answers: pagination, -1 counts, bad
// entries, the channel filter, offline channels, and error kinds.
#include "ivs/ivs_source.h"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "ivs/ivs_test_util.h"

namespace headcount {
namespace {

using ivs_testing::Arn;
using ivs_testing::ClientFixture;
using json = nlohmann::json;

json Stream(const std::string& arn, json viewers) {
  return {{"channelArn", arn},
          {"state", "LIVE"},
          {"health", "HEALTHY"},
          {"streamId", "st-1"},
          {"viewerCount", std::move(viewers)}};
}

// A ListStreams page of channels [from, to) with viewers = 10 * n.
json Page(int from, int to, const std::string& next = "") {
  json streams = json::array();
  for (int n = from; n < to; ++n) streams.push_back(Stream(Arn(n), 10 * n));
  json page = {{"streams", streams}};
  if (!next.empty()) page["nextToken"] = next;
  return page;
}

std::map<std::string, std::optional<std::int64_t>> ByChannel(
    const std::vector<ChannelReading>& readings) {
  std::map<std::string, std::optional<std::int64_t>> out;
  for (const auto& r : readings) out[r.channel] = r.viewers;
  return out;
}

struct SourceFixture : ClientFixture {
  explicit SourceFixture(IvsOptions o = {}) : options(std::move(o)) {}
  IvsSource Source() { return IvsSource(*client, clock, options); }
  IvsOptions options;
};

TEST(IvsSource, FollowsEveryPageAndReturnsEachChannelOnce) {
  SourceFixture f;
  f.transport.PushResponse(200, Page(0, 100, "tok-1").dump());
  f.transport.PushResponse(200, Page(100, 200, "tok-2").dump());
  json last = Page(200, 250);
  last["streams"].push_back(Stream(Arn(5), 999));  // listed again: the first reading wins
  f.transport.PushResponse(200, last.dump());

  auto readings = f.Source().Poll(ivs_testing::Start(), Deadline::None());
  ASSERT_TRUE(readings.ok()) << readings.error().ToString();
  ASSERT_EQ(readings->size(), 250u);
  const auto by = ByChannel(*readings);
  ASSERT_EQ(by.size(), 250u);
  EXPECT_EQ(by.at(Arn(5)), 50);
  EXPECT_EQ(by.at(Arn(249)), 2490);

  const auto requests = f.transport.requests();
  ASSERT_EQ(requests.size(), 3u);
  for (const auto& r : requests) {
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.url, "https://ivs.us-west-2.amazonaws.com/ListStreams");
  }
  EXPECT_EQ(json::parse(requests[0].body), (json{{"maxResults", 100}}));
  EXPECT_EQ(json::parse(requests[1].body), (json{{"maxResults", 100}, {"nextToken", "tok-1"}}));
  EXPECT_EQ(json::parse(requests[2].body), (json{{"maxResults", 100}, {"nextToken", "tok-2"}}));
}

TEST(IvsSource, MinusOneIsUnknownNeverStored) {
  SourceFixture f(IvsOptions{.max_unknown_retries = 0});
  f.transport.PushResponse(
      200, json{{"streams", {Stream(Arn(1), -1), Stream(Arn(2), 0), Stream(Arn(3), 7)}}}.dump());
  auto readings = f.Source().Poll(ivs_testing::Start(), Deadline::None());
  ASSERT_TRUE(readings.ok());
  const auto by = ByChannel(*readings);
  EXPECT_EQ(by.at(Arn(1)), std::nullopt);
  EXPECT_EQ(by.at(Arn(2)), 0);
  EXPECT_EQ(by.at(Arn(3)), 7);
  EXPECT_EQ(f.transport.requests().size(), 1u);  // no GetStream
}

TEST(IvsSource, MinusOneIsReReadWithGetStreamBounded) {
  SourceFixture f(IvsOptions{.max_unknown_retries = 2});
  f.transport.PushResponse(
      200, json{{"streams",
                 {Stream(Arn(1), -1), Stream(Arn(2), -1), Stream(Arn(3), -1), Stream(Arn(4), 4)}}}
               .dump());
  f.transport.PushResponse(200, json{{"stream", Stream(Arn(1), 11)}}.dump());
  f.transport.PushResponse(200, json{{"stream", Stream(Arn(2), -1)}}.dump());
  auto readings = f.Source().Poll(ivs_testing::Start(), Deadline::None());
  ASSERT_TRUE(readings.ok());
  const auto by = ByChannel(*readings);
  EXPECT_EQ(by.at(Arn(1)), 11);
  EXPECT_EQ(by.at(Arn(2)), std::nullopt);  // still -1
  EXPECT_EQ(by.at(Arn(3)), std::nullopt);  // over the retry budget
  EXPECT_EQ(by.at(Arn(4)), 4);
  const auto requests = f.transport.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[1].url, "https://ivs.us-west-2.amazonaws.com/GetStream");
  EXPECT_EQ(json::parse(requests[1].body), (json{{"channelArn", Arn(1)}}));
}

TEST(IvsSource, BadEntriesAreSkippedAndGarbageCountsAreGapsNotFatal) {
  SourceFixture f(IvsOptions{.max_unknown_retries = 0});
  json streams = json::array({
      Stream(Arn(1), 5),                                  // good
      "not an object",                                    //
      json{{"viewerCount", 3}},                           // no channelArn
      Stream("arn:aws:ivs:us-west-2:1:stream-key/x", 3),  // not a channel ARN
      json{{"channelArn", 42}, {"viewerCount", 3}},       // wrong type
      Stream(Arn(2), "12"),                               // count as a string
      Stream(Arn(3), -2),                                 // negative other than -1
      Stream(Arn(4), 1e12),                               // a float, and absurd
      Stream(Arn(5), kMaxPlausibleViewers + 1),           // absurd
      Stream(Arn(6), true),                               // wrong type
      json{{"channelArn", Arn(7)}, {"state", "OFFLINE"}, {"viewerCount", 1}},  // not live
      json{{"channelArn", Arn(8)}, {"state", 3}, {"viewerCount", 1}},          // bad state
      json{{"channelArn", Arn(9)}},           // no count: unknown, still live
      Stream(Arn(10), kMaxPlausibleViewers),  // large but plausible
  });
  f.transport.PushResponse(200, json{{"streams", streams}}.dump());
  auto readings = f.Source().Poll(ivs_testing::Start(), Deadline::None());
  ASSERT_TRUE(readings.ok()) << readings.error().ToString();
  const auto by = ByChannel(*readings);
  ASSERT_EQ(by.size(), 8u);
  EXPECT_EQ(by.at(Arn(1)), 5);
  // A live channel with a garbage count is kept, as unknown: the tick
  // reports its gap instead of losing the channel (and never stores it).
  for (int n : {2, 3, 4, 5, 6}) EXPECT_EQ(by.at(Arn(n)), std::nullopt) << n;
  EXPECT_EQ(by.at(Arn(9)), std::nullopt);
  EXPECT_EQ(by.at(Arn(10)), kMaxPlausibleViewers);
}

TEST(IvsSource, FilterKeepsOnlyTheNamedChannels) {
  SourceFixture f(IvsOptions{.channels = {Arn(3), Arn(150)}});
  f.transport.PushResponse(200, Page(0, 100, "t").dump());
  f.transport.PushResponse(200, Page(100, 200).dump());
  auto readings = f.Source().Poll(ivs_testing::Start(), Deadline::None());
  ASSERT_TRUE(readings.ok());
  const auto by = ByChannel(*readings);
  ASSERT_EQ(by.size(), 2u);
  EXPECT_EQ(by.at(Arn(3)), 30);
  EXPECT_EQ(by.at(Arn(150)), 1500);
}

TEST(IvsSource, IncludeOfflineAddsListChannelsWithZero) {
  SourceFixture f(
      IvsOptions{.channels = {Arn(1), Arn(2), Arn(3), Arn(4)}, .include_offline = true});
  f.transport.PushResponse(200, json{{"streams", {Stream(Arn(1), 8)}}}.dump());
  f.transport.PushResponse(
      200, json{{"channels", {{{"arn", Arn(1)}, {"name", "a"}}, {{"arn", Arn(2)}}, {{"arn", 5}}}},
                {"nextToken", "c1"}}
               .dump());
  f.transport.PushResponse(
      200, json{{"channels", {{{"arn", Arn(3)}}, {{"arn", Arn(9)}}, {{"arn", Arn(2)}}}}}.dump());
  auto readings = f.Source().Poll(ivs_testing::Start(), Deadline::None());
  ASSERT_TRUE(readings.ok());
  const auto by = ByChannel(*readings);
  ASSERT_EQ(readings->size(), 3u);
  EXPECT_EQ(by.at(Arn(1)), 8);  // live: its count, not 0
  EXPECT_EQ(by.at(Arn(2)), 0);
  EXPECT_EQ(by.at(Arn(3)), 0);  // Arn(9) is filtered out, Arn(4) does not exist
  const auto requests = f.transport.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[1].url, "https://ivs.us-west-2.amazonaws.com/ListChannels");
  EXPECT_EQ(json::parse(requests[1].body), (json{{"maxResults", 100}}));
  EXPECT_EQ(json::parse(requests[2].body), (json{{"maxResults", 100}, {"nextToken", "c1"}}));
}

TEST(IvsSource, ListChannelsFailureKeepsTheLiveReadings) {
  SourceFixture f(IvsOptions{.include_offline = true});
  f.transport.PushResponse(200, Page(0, 2).dump());
  f.transport.PushResponse(403, R"({"exceptionMessage":"no"})",
                           {{"x-amzn-ErrorType", "AccessDeniedException"}});
  auto readings = f.Source().Poll(ivs_testing::Start(), Deadline::None());
  ASSERT_TRUE(readings.ok());
  EXPECT_EQ(readings->size(), 2u);
}

// A ListChannels summary of channel `n` with `tags`.
json ChannelSummary(int n, json tags) {
  return {{"arn", Arn(n)}, {"name", "ch" + std::to_string(n)}, {"tags", std::move(tags)}};
}

TEST(IvsSource, TagFilterKeepsOnlyChannelsWithThatTagAndValue) {
  SourceFixture f(IvsOptions{.channel_tag_key = "team", .channel_tag_value = "blue"});
  f.transport.PushResponse(
      200, json{{"channels",
                 {ChannelSummary(1, {{"team", "blue"}}), ChannelSummary(2, {{"team", "red"}}),
                  ChannelSummary(3, json::object()), ChannelSummary(4, {{"Team", "blue"}})}},
                {"nextToken", "c1"}}
               .dump());
  f.transport.PushResponse(200, json{{"channels",
                                      {ChannelSummary(5, {{"team", "blue"}, {"x", "y"}}),
                                       {{"arn", Arn(6)}},
                                       ChannelSummary(7, {{"team", 1}}),
                                       ChannelSummary(8, {{"team", "blue"}})}}}
                                    .dump());
  f.transport.PushResponse(200, Page(0, 8).dump());  // channels 0..7 live, Arn(8) is not

  auto readings = f.Source().Poll(ivs_testing::Start(), Deadline::None());
  ASSERT_TRUE(readings.ok()) << readings.error().ToString();
  const auto by = ByChannel(*readings);
  EXPECT_EQ(by.size(), 2u);
  EXPECT_EQ(by.at(Arn(1)), 10);
  EXPECT_EQ(by.at(Arn(5)), 50);  // Arn(8) is tagged but not live: left out

  const auto requests = f.transport.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].url, "https://ivs.us-west-2.amazonaws.com/ListChannels");
  EXPECT_EQ(json::parse(requests[0].body), (json{{"maxResults", 100}}));
  EXPECT_EQ(json::parse(requests[1].body), (json{{"maxResults", 100}, {"nextToken", "c1"}}));
  EXPECT_EQ(requests[2].url, "https://ivs.us-west-2.amazonaws.com/ListStreams");
}

TEST(IvsSource, TagFilterAndChannelListMustBothMatch) {
  SourceFixture f(IvsOptions{
      .channels = {Arn(1), Arn(2)}, .channel_tag_key = "team", .channel_tag_value = "blue"});
  f.transport.PushResponse(
      200, json{{"channels",
                 {ChannelSummary(2, {{"team", "blue"}}), ChannelSummary(3, {{"team", "blue"}})}}}
               .dump());
  f.transport.PushResponse(200, Page(0, 5).dump());
  auto readings = f.Source().Poll(ivs_testing::Start(), Deadline::None());
  ASSERT_TRUE(readings.ok());
  const auto by = ByChannel(*readings);
  ASSERT_EQ(by.size(), 1u);
  EXPECT_EQ(by.at(Arn(2)), 20);
}

TEST(IvsSource, TagFilterWithOfflineChannelsListsChannelsOnce) {
  SourceFixture f(
      IvsOptions{.channel_tag_key = "team", .channel_tag_value = "blue", .include_offline = true});
  f.transport.PushResponse(
      200, json{{"channels",
                 {ChannelSummary(1, {{"team", "blue"}}), ChannelSummary(2, {{"team", "red"}}),
                  ChannelSummary(9, {{"team", "blue"}})}}}
               .dump());
  f.transport.PushResponse(200, Page(0, 3).dump());
  auto readings = f.Source().Poll(ivs_testing::Start(), Deadline::None());
  ASSERT_TRUE(readings.ok());
  const auto by = ByChannel(*readings);
  ASSERT_EQ(by.size(), 2u);
  EXPECT_EQ(by.at(Arn(1)), 10);
  EXPECT_EQ(by.at(Arn(9)), 0);  // tagged, offline
  EXPECT_EQ(f.transport.requests().size(), 2u);
}

TEST(IvsSource, TagFilterWithoutListChannelsFailsThePoll) {
  // Counting every channel instead would publish into channels the filter excludes.
  SourceFixture f(IvsOptions{.channel_tag_key = "team", .channel_tag_value = "blue"});
  f.transport.PushResponse(403, R"({"exceptionMessage":"no"})",
                           {{"x-amzn-ErrorType", "AccessDeniedException"}});
  auto readings = f.Source().Poll(ivs_testing::Start(), Deadline::None());
  ASSERT_FALSE(readings.ok());
  EXPECT_EQ(readings.error().code(), ErrorCode::kRejected);
  EXPECT_NE(readings.error().message().find("tag filter"), std::string::npos);
  EXPECT_NE(readings.error().message().find("AccessDeniedException"), std::string::npos);
  EXPECT_EQ(f.transport.requests().size(), 1u);  // no ListStreams
}

TEST(IvsSource, TagSettingsAreChecked) {
  EXPECT_FALSE(ValidateIvsOptions(IvsOptions{.channel_tag_value = "blue"}).ok());
  EXPECT_FALSE(ValidateIvsOptions(IvsOptions{.channel_tag_key = std::string(129, 'k')}).ok());
  EXPECT_FALSE(ValidateIvsOptions(
                   IvsOptions{.channel_tag_key = "k", .channel_tag_value = std::string(257, 'v')})
                   .ok());
  EXPECT_TRUE(ValidateIvsOptions(IvsOptions{.channel_tag_key = "k"}).ok());  // value ""
}

TEST(IvsSource, ServiceSayingNoIsRejected) {
  SourceFixture f;
  f.transport.PushResponse(403, R"({"exceptionMessage":"User is not authorized"})",
                           {{"x-amzn-ErrorType", "AccessDeniedException"}});
  auto readings = f.Source().Poll(ivs_testing::Start(), Deadline::None());
  ASSERT_FALSE(readings.ok());
  EXPECT_EQ(readings.error().code(), ErrorCode::kRejected);
  EXPECT_NE(readings.error().message().find("AccessDeniedException"), std::string::npos);
}

TEST(IvsSource, ServiceOutOfReachIsUnavailable) {
  SourceFixture f;  // three attempts, each answered "no answer queued" (kUnavailable)
  auto readings = f.Source().Poll(ivs_testing::Start(), Deadline::None());
  ASSERT_FALSE(readings.ok());
  EXPECT_EQ(readings.error().code(), ErrorCode::kUnavailable);
}

TEST(IvsSource, AFailingLaterPageFailsThePoll) {
  SourceFixture f;
  f.transport.PushResponse(200, Page(0, 100, "t").dump());
  f.transport.PushResponse(400, R"({"exceptionMessage":"bad token"})",
                           {{"x-amzn-ErrorType", "ValidationException"}});
  auto readings = f.Source().Poll(ivs_testing::Start(), Deadline::None());
  ASSERT_FALSE(readings.ok());
  EXPECT_EQ(readings.error().code(), ErrorCode::kRejected);
  EXPECT_NE(readings.error().message().find("page 2"), std::string::npos);
}

TEST(IvsSource, EndlessPagingIsCapped) {
  SourceFixture f(IvsOptions{.max_list_pages = 3});
  for (int i = 0; i < 4; ++i) {
    f.transport.PushResponse(200, Page(i, i + 1, "t" + std::to_string(i)).dump());
  }
  auto readings = f.Source().Poll(ivs_testing::Start(), Deadline::None());
  ASSERT_FALSE(readings.ok());
  EXPECT_EQ(readings.error().code(), ErrorCode::kRejected);
  EXPECT_NE(readings.error().message().find("3 pages"), std::string::npos);
  EXPECT_EQ(f.transport.requests().size(), 3u);
}

TEST(IvsSource, RepeatedTokenAndUnreadablePagesAreRejected) {
  {
    SourceFixture f;
    f.transport.PushResponse(200, Page(0, 1, "same").dump());
    f.transport.PushResponse(200, Page(1, 2, "same").dump());
    auto readings = f.Source().Poll(ivs_testing::Start(), Deadline::None());
    ASSERT_FALSE(readings.ok());
    EXPECT_EQ(readings.error().code(), ErrorCode::kRejected);
  }
  for (const char* body : {R"({"streams":{}})", R"([1,2])", R"({"streams":[],"nextToken":5})"}) {
    SourceFixture f;
    f.transport.PushResponse(200, body);
    auto readings = f.Source().Poll(ivs_testing::Start(), Deadline::None());
    ASSERT_FALSE(readings.ok()) << body;
    EXPECT_EQ(readings.error().code(), ErrorCode::kRejected) << body;
  }
  {
    SourceFixture f;  // no streams field, no token: an account with nothing live
    f.transport.PushResponse(200, "{}");
    auto readings = f.Source().Poll(ivs_testing::Start(), Deadline::None());
    ASSERT_TRUE(readings.ok());
    EXPECT_TRUE(readings->empty());
  }
}

}  // namespace
}  // namespace headcount
