// DynamoStore's reads without sockets: Window, WindowEach, History and
// HasChannel (Query shapes, pagination and its caps, malformed items, error
// kinds), over a FakeTransport and a FakeClock.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/dynamo/dynamo_items.h"
#include "store/dynamo/dynamo_store.h"
#include "store/dynamo/dynamo_test_util.h"

namespace headcount::dynamo_testing {
namespace {

using namespace std::chrono_literals;

TEST(DynamoStoreWindow, QueriesEachChannelOnceAndFollowsPages) {
  Fixture f;
  const json key = {{"channel", {{"S", "a"}}}, {"time", {{"N", std::to_string(kT0 + 60)}}}};
  f.Answer(Page(json::array({Item("a", kT0, 1), Item("a", kT0 + 60, 2)}), key));
  f.Answer(Page(json::array({Item("a", kT0 + 120, 3)})));
  f.Answer(Page(json::array({Item("b", kT0 + 60, 9)})));
  const std::vector<ChannelId> channels = {"a", "b", "a", ""};
  Result<std::vector<Sample>> window = f.store->Window(channels, At(kT0), At(kT0 + 240));
  ASSERT_TRUE(window.ok()) << window.error().ToString();
  EXPECT_EQ(*window, (std::vector<Sample>{{"a", At(kT0), 1},
                                          {"a", At(kT0 + 60), 2},
                                          {"a", At(kT0 + 120), 3},
                                          {"b", At(kT0 + 60), 9}}));
  const auto sent = f.Sent();
  ASSERT_EQ(sent.size(), 3u);
  for (const auto& [target, body] : sent) EXPECT_EQ(target, "DynamoDB_20120810.Query");
  const json expected = json::parse(R"({
    "TableName": "headcount-test",
    "KeyConditionExpression": "#c = :c AND #t BETWEEN :from AND :to",
    "ProjectionExpression": "#c, #t, #n",
    "ExpressionAttributeNames": {"#c": "channel", "#t": "time", "#n": "count"},
    "ExpressionAttributeValues": {":c": {"S": "a"}, ":from": {"N": "1700000040"},
                                  ":to": {"N": "1700000280"}},
    "ScanIndexForward": true,
    "ConsistentRead": false})");
  EXPECT_EQ(sent[0].second, expected);
  json continued = expected;
  continued["ExclusiveStartKey"] = key;
  EXPECT_EQ(sent[1].second, continued);
  EXPECT_EQ(sent[2].second["ExpressionAttributeValues"][":c"]["S"], "b");
}

TEST(DynamoStoreWindow, AMalformedItemFailsTheWindow) {
  Fixture f;
  json bad = Item("a", kT0, 1);
  bad["count"] = {{"S", "one"}};
  f.Answer(Page(json::array({bad})));
  const std::vector<ChannelId> channels = {"a"};
  Result<std::vector<Sample>> window = f.store->Window(channels, At(kT0), At(kT0 + 240));
  ASSERT_FALSE(window.ok());
  EXPECT_EQ(window.error().code(), ErrorCode::kRejected);
  EXPECT_NE(window.error().message().find("'count' is not of type N"), std::string::npos)
      << window.error().message();
}

TEST(DynamoStoreWindow, ARepeatedLastEvaluatedKeyIsRejected) {
  Fixture f;
  const json key = {{"channel", {{"S", "a"}}}, {"time", {{"N", std::to_string(kT0)}}}};
  f.Answer(Page(json::array(), key));
  f.Answer(Page(json::array(), key));
  const std::vector<ChannelId> channels = {"a"};
  Result<std::vector<Sample>> window = f.store->Window(channels, At(kT0), At(kT0 + 240));
  ASSERT_FALSE(window.ok());
  EXPECT_EQ(window.error().code(), ErrorCode::kRejected);
  EXPECT_NE(window.error().message().find("repeats"), std::string::npos);
}

TEST(DynamoStoreWindow, ErrorKindsAndHowManyChannelsFailed) {
  {
    Fixture f;
    f.AnswerError(400, "ResourceNotFoundException", "Requested resource not found");
    f.Answer(Page(json::array()));
    const std::vector<ChannelId> channels = {"a", "b"};
    Result<std::vector<Sample>> window = f.store->Window(channels, At(kT0), At(kT0 + 240));
    ASSERT_FALSE(window.ok());
    EXPECT_EQ(window.error().code(), ErrorCode::kRejected);
    EXPECT_NE(window.error().message().find("1 of 2 channels failed"), std::string::npos)
        << window.error().message();
    EXPECT_NE(window.error().message().find("ResourceNotFoundException"), std::string::npos);
  }
  {
    Fixture f({}, RetryOptions(3));  // nothing queued: every attempt is a network failure
    const std::vector<ChannelId> channels = {"a"};
    Result<std::vector<Sample>> window = f.store->Window(channels, At(kT0), At(kT0 + 240));
    ASSERT_FALSE(window.ok());
    EXPECT_EQ(window.error().code(), ErrorCode::kUnavailable);
    EXPECT_EQ(f.transport.requests().size(), 3u);
  }
  {
    Fixture f;
    f.Answer(Page(json::array()));
    const std::vector<ChannelId> channels = {"a"};
    Result<std::vector<Sample>> empty = f.store->Window(channels, At(kT0 + 60), At(kT0));
    ASSERT_TRUE(empty.ok());
    EXPECT_TRUE(empty->empty());
    EXPECT_TRUE(f.transport.requests().empty());  // from > to: nothing to ask
  }
}

TEST(DynamoStoreWindowEach, AFailedQueryFailsOnlyItsChannel) {
  Fixture f;
  f.Answer(Page(json::array({Item("a", kT0, 1)})));
  f.AnswerError(400, "ResourceNotFoundException", "Requested resource not found");
  f.Answer(Page(json::array({Item("c", kT0 + 60, 3)})));
  const std::vector<ChannelId> channels = {"a", "b", "a", "c", "b", ""};
  const WindowOutcome w = f.store->WindowEach(channels, At(kT0), At(kT0 + 240));
  EXPECT_EQ(w.failed, (std::vector<std::size_t>{1, 4}));  // every index of b
  ASSERT_TRUE(w.error.has_value());
  EXPECT_EQ(w.error->code(), ErrorCode::kRejected);
  EXPECT_NE(w.error->message().find("1 of 3 channels failed"), std::string::npos)
      << w.error->message();
  EXPECT_EQ(w.samples, (std::vector<Sample>{{"a", At(kT0), 1}, {"c", At(kT0 + 60), 3}}));
  EXPECT_EQ(f.Sent().size(), 3u);
}

TEST(DynamoStoreWindowEach, QueriesDoneBeforeTheDeadlineKeepTheirResults) {
  DynamoStoreOptions options;
  options.call_budget = 250ms;
  Fixture f(options);
  f.transport.SetLatency(&f.clock, 100ms);  // each Query takes 100 ms
  for (const char* c : {"a", "b", "c", "d", "e"}) f.Answer(Page(json::array({Item(c, kT0, 7)})));
  const std::vector<ChannelId> channels = {"a", "b", "c", "d", "e"};
  const WindowOutcome w = f.store->WindowEach(channels, At(kT0), At(kT0 + 240));
  // a and b are read; by the time c's answer is in, the budget is spent.
  const std::size_t sent = f.Sent().size();
  EXPECT_GE(sent, 2u);
  EXPECT_LT(sent, 5u);  // nothing is sent after the deadline
  ASSERT_GE(w.samples.size(), 2u);
  EXPECT_EQ(w.samples[0], (Sample{"a", At(kT0), 7}));
  EXPECT_EQ(w.samples[1], (Sample{"b", At(kT0), 7}));
  EXPECT_EQ(w.samples.size() + w.failed.size(), channels.size());
  EXPECT_EQ(w.failed.back(), 4u);
  ASSERT_TRUE(w.error.has_value());
  EXPECT_EQ(w.error->code(), ErrorCode::kDeadlineExceeded);
  // Window, all or nothing, fails.
  Fixture g(options);
  g.transport.SetLatency(&g.clock, 100ms);
  for (const char* c : {"a", "b", "c", "d", "e"}) g.Answer(Page(json::array({Item(c, kT0, 7)})));
  EXPECT_FALSE(g.store->Window(channels, At(kT0), At(kT0 + 240)).ok());
}

TEST(DynamoStoreHistory, ReturnsOldestFirst) {
  Fixture f;
  f.Answer(Page(json::array({Item("a", kT0 + 60, 2), Item("a", kT0, 1)})));
  Result<std::vector<Sample>> history = f.store->History("a", At(kT0), At(kT0 + 60));
  ASSERT_TRUE(history.ok()) << history.error().ToString();
  EXPECT_EQ(*history, (std::vector<Sample>{{"a", At(kT0), 1}, {"a", At(kT0 + 60), 2}}));
  EXPECT_EQ(f.Sent()[0].second["ScanIndexForward"], true);
}

TEST(DynamoStoreHasChannel, QueriesOneKey) {
  Fixture f;
  f.Answer(Page(json::array({{{"channel", {{"S", "a"}}}, {"time", {{"N", "60"}}}}})));
  f.Answer(Page(json::array()));
  f.Answer(json::object());  // no Items: malformed
  Result<bool> yes = f.store->HasChannel("a");
  ASSERT_TRUE(yes.ok()) << yes.error().ToString();
  EXPECT_TRUE(*yes);
  Result<bool> no = f.store->HasChannel("b");
  ASSERT_TRUE(no.ok());
  EXPECT_FALSE(*no);
  Result<bool> broken = f.store->HasChannel("c");
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.error().code(), ErrorCode::kRejected);
  Result<bool> invalid = f.store->HasChannel("no such");
  ASSERT_TRUE(invalid.ok());
  EXPECT_FALSE(*invalid);

  const auto sent = f.Sent();
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[0].second, json::parse(R"({
    "TableName": "headcount-test", "KeyConditionExpression": "#c = :c",
    "ProjectionExpression": "#c, #t",
    "ExpressionAttributeNames": {"#c": "channel", "#t": "time"},
    "ExpressionAttributeValues": {":c": {"S": "a"}}, "Limit": 1})"));
}

// Issue 14, point 1: a history range holding more than the store will
// read (a year of one-minute buckets, or a server that keeps paging) stops
// at the cap and says so, instead of paging on.
TEST(DynamoStoreHistory, ALongRangeStopsAtTheItemCapAndSaysSo) {
  DynamoStoreOptions options;
  options.max_query_items = 5;
  Fixture f(options);
  for (int page = 0; page < 50; ++page) {
    const std::int64_t t = kT0 + std::int64_t{180} * page;
    const json key = {{"channel", {{"S", "a"}}}, {"time", {{"N", std::to_string(t + 120)}}}};
    f.Answer(
        Page(json::array({Item("a", t, 1), Item("a", t + 60, 2), Item("a", t + 120, 3)}), key));
  }
  const Seconds year_ago = At(kT0) - std::chrono::days{366};
  Result<std::vector<Sample>> history = f.store->History("a", year_ago, At(kT0 + 86400));
  ASSERT_FALSE(history.ok());
  EXPECT_EQ(history.error().code(), ErrorCode::kRejected);
  EXPECT_NE(history.error().message().find("more than 5 items (the cap)"), std::string::npos)
      << history.error().message();
  EXPECT_EQ(f.Sent().size(), 2u);  // 3 + 3 items: past the cap on page 2, nothing more asked
}

TEST(DynamoStoreHistory, EndlessPagesStopAtThePageCapAndSaySo) {
  DynamoStoreOptions options;
  options.max_query_pages = 3;
  Fixture f(options);
  for (int page = 0; page < 50; ++page) {
    const json key = {{"channel", {{"S", "a"}}}, {"time", {{"N", std::to_string(kT0 + page)}}}};
    f.Answer(Page(json::array(), key));  // empty pages that never end
  }
  Result<std::vector<Sample>> history = f.store->History("a", At(kT0), At(kT0 + 86400));
  ASSERT_FALSE(history.ok());
  EXPECT_EQ(history.error().code(), ErrorCode::kRejected);
  EXPECT_NE(history.error().message().find("still paging after 3 pages (the cap)"),
            std::string::npos)
      << history.error().message();
  EXPECT_EQ(f.Sent().size(), 3u);
}

}  // namespace
}  // namespace headcount::dynamo_testing
