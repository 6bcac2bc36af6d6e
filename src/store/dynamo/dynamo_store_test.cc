// DynamoStore without sockets: the requests it sends (targets, chunks of 25,
// de-duplication, Query shapes), how it reads answers (UnprocessedItems,
// pagination, malformed items) and its error kinds, over a FakeTransport
// and a FakeClock.
#include "store/dynamo/dynamo_store.h"

#include <gtest/gtest.h>

#include <set>

#include "aws/testing/fake_transport.h"
#include "store/dynamo/dynamo_items.h"

namespace headcount {
namespace {

using namespace std::chrono_literals;
using aws::testing::FakeTransport;
using nlohmann::json;

constexpr char kTable[] = "headcount-test";
constexpr std::int64_t kT0 = 1'700'000'040;  // a bucket start (a whole minute)

Seconds At(std::int64_t epoch) { return Seconds{std::chrono::seconds{epoch}}; }
WallTime Start() { return WallTime{std::chrono::seconds{kT0 + 5}}; }

json Item(const std::string& channel, std::int64_t time, std::int64_t count) {
  return {{"channel", {{"S", channel}}},
          {"time", {{"N", std::to_string(time)}}},
          {"count", {{"N", std::to_string(count)}}}};
}

json Page(json items, json last = nullptr) {
  json page = {{"Items", std::move(items)}};
  page["Count"] = page["Items"].size();
  if (!last.is_null()) page["LastEvaluatedKey"] = std::move(last);
  return page;
}

std::string AwsErrorBody(const std::string& code, const std::string& message) {
  return json{{"__type", "com.amazonaws.dynamodb.v20120810#" + code}, {"message", message}}.dump();
}

// A store over an AwsClient over a FakeTransport; sleeps advance the clock.
struct Fixture {
  explicit Fixture(DynamoStoreOptions options = {}, int max_attempts = aws::kDefaultMaxAttempts) {
    aws::AwsClientOptions client_options;
    client_options.region = "us-east-1";
    client_options.endpoint = "http://127.0.0.1:8000";
    client_options.jitter_seed = 1;
    client_options.max_attempts = max_attempts;
    const aws::SleepFunction sleep = [this](std::chrono::nanoseconds d) {
      sleeps.push_back(d);
      clock.Advance(d);
    };
    Result<std::unique_ptr<aws::AwsClient>> created = aws::AwsClient::Create(
        aws::kDynamoDbService, client_options, credentials, transport, clock, sleep);
    EXPECT_TRUE(created.ok()) << created.error().ToString();
    client = std::move(*created);
    if (options.table.empty()) options.table = kTable;
    if (options.concurrency == kDefaultDynamoConcurrency) {
      options.concurrency = 1;  // scripted order
    }
    options.jitter_seed = 7;
    Result<std::unique_ptr<DynamoStore>> made = DynamoStore::Create(*client, clock, options, sleep);
    EXPECT_TRUE(made.ok()) << made.error().ToString();
    store = std::move(*made);
  }

  void Answer(const json& body) { transport.PushResponse(200, body.dump()); }
  void AnswerError(int status, const std::string& code, const std::string& message = "no") {
    transport.PushResponse(status, AwsErrorBody(code, message));
  }

  // The X-Amz-Target and parsed body of every request sent.
  std::vector<std::pair<std::string, json>> Sent() const {
    std::vector<std::pair<std::string, json>> out;
    for (const aws::HttpRequest& r : transport.requests()) {
      const std::string* target = aws::FindHeader(r.headers, "X-Amz-Target");
      out.emplace_back(target != nullptr ? *target : "", json::parse(r.body));
    }
    return out;
  }

  FakeClock clock{Start()};
  aws::StaticCredentialsProvider credentials{aws::Credentials("test", "test")};
  FakeTransport transport;
  std::vector<std::chrono::nanoseconds> sleeps;
  std::unique_ptr<aws::AwsClient> client;
  std::unique_ptr<DynamoStore> store;
};

std::vector<Sample> Samples(int channels, int buckets) {
  std::vector<Sample> out;
  for (int c = 0; c < channels; ++c) {
    for (int b = 0; b < buckets; ++b) {
      out.push_back({"ch-" + std::to_string(c), At(kT0 + std::int64_t{60} * b), c * 10 + b});
    }
  }
  return out;
}

const json& Puts(const json& batch_write_input) {
  return batch_write_input["RequestItems"][kTable];
}

TEST(DynamoStoreCreate, ChecksOptions) {
  Fixture f;
  const auto create = [&](DynamoStoreOptions o) {
    return DynamoStore::Create(*f.client, f.clock, std::move(o));
  };
  for (const char* table : {"", "ab", "has space", "slash/no"}) {
    DynamoStoreOptions o;
    o.table = table;
    EXPECT_EQ(create(o).error().code(), ErrorCode::kInvalidArgument) << table;
  }
  DynamoStoreOptions o;
  o.table = kTable;
  EXPECT_TRUE(create(o).ok());
  o.retention = 0s;
  EXPECT_FALSE(create(o).ok());
  o.retention = 60s;
  o.concurrency = 0;
  EXPECT_FALSE(create(o).ok());
  o.concurrency = 4;
  o.call_budget = 0ms;
  EXPECT_FALSE(create(o).ok());

  aws::AwsClientOptions ivs_options{.region = "us-east-1", .endpoint = "http://127.0.0.1:1"};
  auto ivs =
      aws::AwsClient::Create(aws::kIvsService, ivs_options, f.credentials, f.transport, f.clock);
  ASSERT_TRUE(ivs.ok());
  o.call_budget = 1s;
  Result<std::unique_ptr<DynamoStore>> wrong = DynamoStore::Create(**ivs, f.clock, o);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().message().find("not a DynamoDB client"), std::string::npos);
}

TEST(DynamoStoreRecord, SendsChunksOf25WithTheItemShape) {
  DynamoStoreOptions options;
  options.retention = std::chrono::hours{24};
  Fixture f(options);
  const std::vector<Sample> samples = Samples(12, 5);  // 60 items: 25 + 25 + 10
  for (int i = 0; i < 3; ++i) f.Answer({{"UnprocessedItems", json::object()}});
  Result<std::size_t> written = f.store->Record(samples);
  ASSERT_TRUE(written.ok()) << written.error().ToString();
  EXPECT_EQ(*written, 60u);

  const auto sent = f.Sent();
  ASSERT_EQ(sent.size(), 3u);
  std::vector<std::size_t> sizes;
  for (const auto& [target, body] : sent) {
    EXPECT_EQ(target, "DynamoDB_20120810.BatchWriteItem");
    ASSERT_EQ(body["RequestItems"].size(), 1u);
    sizes.push_back(Puts(body).size());
  }
  EXPECT_EQ(sizes, (std::vector<std::size_t>{25, 25, 10}));
  const json first = Puts(sent[0].second)[0];
  EXPECT_EQ(first, json::parse(R"({"PutRequest":{"Item":{
      "channel":{"S":"ch-0"},"time":{"N":"1700000040"},"count":{"N":"0"},
      "expiresAt":{"N":"1700086440"}}}})"));
  const aws::HttpRequest request = f.transport.requests()[0];
  EXPECT_EQ(*aws::FindHeader(request.headers, "Content-Type"), "application/x-amz-json-1.0");
}

TEST(DynamoStoreRecord, DeduplicatesKeysLastWins) {
  Fixture f;
  f.Answer(json::object());
  const std::vector<Sample> samples = {
      {"a", At(kT0), 1}, {"b", At(kT0), 2}, {"a", At(kT0), 5}, {"a", At(kT0 + 60), 6}};
  Result<std::size_t> written = f.store->Record(samples);
  ASSERT_TRUE(written.ok()) << written.error().ToString();
  EXPECT_EQ(*written, 3u);
  const auto sent = f.Sent();
  ASSERT_EQ(sent.size(), 1u);
  const json& puts = Puts(sent[0].second);
  ASSERT_EQ(puts.size(), 3u);
  EXPECT_EQ(puts[0]["PutRequest"]["Item"]["channel"]["S"], "a");
  EXPECT_EQ(puts[0]["PutRequest"]["Item"]["count"]["N"], "5");  // the last "a" at kT0
  EXPECT_EQ(puts[1]["PutRequest"]["Item"]["count"]["N"], "2");
  EXPECT_EQ(puts[2]["PutRequest"]["Item"]["count"]["N"], "6");
}

TEST(DynamoStoreRecord, ResendsUnprocessedItemsWithBackoff) {
  Fixture f;
  const std::vector<Sample> samples = Samples(1, 3);
  // The first answer leaves items 2 and 3 unprocessed, the second item 3.
  json puts = json::array();
  for (const Sample& s : samples) {
    puts.push_back({{"PutRequest", {{"Item", dynamo::SampleItem(s, kDefaultDynamoRetention)}}}});
  }
  f.Answer({{"UnprocessedItems", {{kTable, json::array({puts[1], puts[2]})}}}});
  f.Answer({{"UnprocessedItems", {{kTable, json::array({puts[2]})}}}});
  f.Answer({{"UnprocessedItems", json::object()}});
  Result<std::size_t> written = f.store->Record(samples);
  ASSERT_TRUE(written.ok()) << written.error().ToString();
  EXPECT_EQ(*written, 3u);
  const auto sent = f.Sent();
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(Puts(sent[1].second), json::array({puts[1], puts[2]}));
  EXPECT_EQ(Puts(sent[2].second), json::array({puts[2]}));
  EXPECT_EQ(f.sleeps.size(), 2u);  // one backoff before each resend
  for (const auto d : f.sleeps) EXPECT_LE(d, kDefaultUnprocessedBackoffCap);
}

TEST(DynamoStoreRecord, UnprocessedUntilTheDeadlineIsDeadlineExceeded) {
  DynamoStoreOptions options;
  options.call_budget = 2s;
  options.unprocessed_backoff_base = 200ms;
  options.unprocessed_backoff_cap = 400ms;
  Fixture f(options);
  const std::vector<Sample> samples = Samples(1, 1);
  const json put = {
      {"PutRequest", {{"Item", dynamo::SampleItem(samples[0], kDefaultDynamoRetention)}}}};
  f.transport.SetLatency(&f.clock, 100ms);
  for (int i = 0; i < 100; ++i) f.Answer({{"UnprocessedItems", {{kTable, json::array({put})}}}});
  Result<std::size_t> written = f.store->Record(samples);
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error().code(), ErrorCode::kDeadlineExceeded);
  EXPECT_NE(written.error().message().find("1 of 1 BatchWriteItem chunks failed; 0 of 1 items"),
            std::string::npos)
      << written.error().message();
  EXPECT_LE(f.clock.Now(), Start() + 2s);
  EXPECT_GT(f.Sent().size(), 2u);
}

TEST(DynamoStoreRecord, AFailedChunkFailsTheCallAndSaysWhatWasWritten) {
  Fixture f;
  f.Answer(json::object());
  f.AnswerError(400, "ValidationException", "One or more parameter values were invalid");
  Result<std::size_t> written = f.store->Record(Samples(10, 5));  // 2 chunks
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error().code(), ErrorCode::kRejected);
  const std::string& m = written.error().message();
  EXPECT_NE(m.find("1 of 2 BatchWriteItem chunks failed; 25 of 50 items were written"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("ValidationException"), std::string::npos) << m;
}

TEST(DynamoStoreRecordEach, NamesExactlyTheSamplesNotWritten) {
  Fixture f;
  std::vector<Sample> samples = Samples(30, 1);  // chunks of 25 and 5
  samples.push_back(samples[3]);                 // a repeated key: one item, two samples
  json puts = json::array();
  for (int i = 0; i < 25; ++i) {
    puts.push_back(
        {{"PutRequest", {{"Item", dynamo::SampleItem(samples[i], kDefaultDynamoRetention)}}}});
  }
  // Chunk 1 leaves items 3 and 7 unprocessed, then its resend is refused;
  // chunk 2 is written.
  f.Answer({{"UnprocessedItems", {{kTable, json::array({puts[3], puts[7]})}}}});
  f.AnswerError(400, "ValidationException", "refused");
  f.Answer(json::object());
  RecordOutcome outcome = f.store->RecordEach(samples);
  ASSERT_TRUE(outcome.error.has_value());
  EXPECT_EQ(outcome.error->code(), ErrorCode::kRejected);
  EXPECT_EQ(outcome.written, 23u + 5u);
  EXPECT_EQ(outcome.failed, (std::vector<std::size_t>{3, 7, 30}));

  // The first answer lost: the whole chunk is "not known written".
  Fixture g;
  g.transport.Push(Error::Unavailable("connection reset"));
  RecordOutcome lost = g.store->RecordEach(Samples(3, 1));
  ASSERT_TRUE(lost.error.has_value());
  EXPECT_EQ(lost.written, 0u);
  EXPECT_EQ(lost.failed, (std::vector<std::size_t>{0, 1, 2}));

  // All written: nothing failed; Record says the same.
  Fixture h;
  h.Answer(json::object());
  RecordOutcome fine = h.store->RecordEach(Samples(3, 1));
  EXPECT_FALSE(fine.error.has_value());
  EXPECT_TRUE(fine.failed.empty());
  EXPECT_EQ(fine.written, 3u);
}

TEST(DynamoStoreRecord, MalformedUnprocessedItemsAreRejected) {
  Fixture f;
  f.Answer({{"UnprocessedItems", {{"another-table", json::array()}}}});
  Result<std::size_t> written = f.store->Record(Samples(1, 1));
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error().code(), ErrorCode::kRejected);
}

TEST(DynamoStoreRecord, RefusesBadSamplesBeforeSendingAnything) {
  Fixture f;
  const std::vector<std::vector<Sample>> bad = {
      {{"ok", At(kT0), 1}, {"ok", At(kT0 + 60), -1}},
      {{"", At(kT0), 1}},
      {{"has space", At(kT0), 1}},
  };
  for (const auto& samples : bad) {
    Result<std::size_t> written = f.store->Record(samples);
    ASSERT_FALSE(written.ok());
    EXPECT_EQ(written.error().code(), ErrorCode::kInvalidArgument);
  }
  Result<std::size_t> none = f.store->Record({});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0u);
  EXPECT_TRUE(f.transport.requests().empty());
}

TEST(DynamoStoreRecord, SendsChunksConcurrently) {
  DynamoStoreOptions options;
  options.concurrency = 8;
  Fixture f(options);
  const std::vector<Sample> samples = Samples(100, 4);  // 400 items, 16 chunks
  for (int i = 0; i < 16; ++i) f.Answer(json::object());
  Result<std::size_t> written = f.store->Record(samples);
  ASSERT_TRUE(written.ok()) << written.error().ToString();
  EXPECT_EQ(*written, 400u);
  std::set<std::pair<std::string, std::string>> keys;
  for (const auto& [target, body] : f.Sent()) {
    EXPECT_LE(Puts(body).size(), 25u);
    for (const json& put : Puts(body)) {
      keys.emplace(put["PutRequest"]["Item"]["channel"]["S"],
                   put["PutRequest"]["Item"]["time"]["N"]);
    }
  }
  EXPECT_EQ(keys.size(), 400u);
}

TEST(DynamoStoreRecord, AnExpiredDeadlineSendsNothing) {
  DynamoStoreOptions options;
  FakeClock* clock = nullptr;
  options.deadline = [&clock]() -> std::optional<WallTime> { return clock->Now() - 1s; };
  Fixture f(options);
  clock = &f.clock;
  Result<std::size_t> written = f.store->Record(Samples(1, 1));
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error().code(), ErrorCode::kDeadlineExceeded);
  EXPECT_TRUE(f.transport.requests().empty());
}

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
    Fixture f({}, /*max_attempts=*/3);  // nothing queued: every attempt is a network failure
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

json Described(const std::string& status) {
  json table = dynamo::CreateTableInput(kTable);
  table["TableStatus"] = status;
  return {{"Table", table}};
}

TEST(DynamoStoreEnsureTable, CreatesWaitsAndToleratesNoTtl) {
  Fixture f;
  f.AnswerError(400, "ResourceNotFoundException", "Requested resource not found");
  f.Answer({{"TableDescription", {{"TableStatus", "CREATING"}}}});
  f.Answer(Described("CREATING"));
  f.Answer(Described("ACTIVE"));
  f.Answer({{"TimeToLiveDescription", {{"TimeToLiveStatus", "DISABLED"}}}});
  f.transport.PushResponse(400,
                           R"({"__type":"com.amazon.coral.service#UnknownOperationException"})");
  Result<DynamoTableSetup> setup = f.store->EnsureTable();
  ASSERT_TRUE(setup.ok()) << setup.error().ToString();
  EXPECT_TRUE(setup->created);
  EXPECT_FALSE(setup->ttl_enabled);
  EXPECT_EQ(setup->ttl_note, "UnknownOperationException");

  std::vector<std::string> targets;
  for (const auto& [target, body] : f.Sent()) targets.push_back(target);
  EXPECT_EQ(targets,
            (std::vector<std::string>{
                "DynamoDB_20120810.DescribeTable", "DynamoDB_20120810.CreateTable",
                "DynamoDB_20120810.DescribeTable", "DynamoDB_20120810.DescribeTable",
                "DynamoDB_20120810.DescribeTimeToLive", "DynamoDB_20120810.UpdateTimeToLive"}));
  const json create = f.Sent()[1].second;
  EXPECT_EQ(create["BillingMode"], "PAY_PER_REQUEST");
  EXPECT_EQ(create["KeySchema"][0]["AttributeName"], "channel");
  EXPECT_EQ(create["KeySchema"][1]["KeyType"], "RANGE");
  EXPECT_EQ(f.Sent()[5].second["TimeToLiveSpecification"],
            json::parse(R"({"AttributeName":"expiresAt","Enabled":true})"));
  EXPECT_EQ(f.sleeps.size(), 1u);  // one poll interval while CREATING
}

TEST(DynamoStoreEnsureTable, AnExistingActiveTableWithTtlNeedsNothing) {
  Fixture f;
  f.Answer(Described("ACTIVE"));
  f.Answer({{"TimeToLiveDescription",
             {{"TimeToLiveStatus", "ENABLED"}, {"AttributeName", "expiresAt"}}}});
  Result<DynamoTableSetup> setup = f.store->EnsureTable();
  ASSERT_TRUE(setup.ok()) << setup.error().ToString();
  EXPECT_FALSE(setup->created);
  EXPECT_TRUE(setup->ttl_enabled);
  EXPECT_EQ(f.Sent().size(), 2u);
}

TEST(DynamoStoreEnsureTable, RefusesAnotherKeySchema) {
  Fixture f;
  json described = Described("ACTIVE");
  described["Table"]["KeySchema"] = json::parse(R"([{"AttributeName":"id","KeyType":"HASH"}])");
  f.Answer(described);
  Result<DynamoTableSetup> setup = f.store->EnsureTable();
  ASSERT_FALSE(setup.ok());
  EXPECT_EQ(setup.error().code(), ErrorCode::kInvalidArgument);
}

TEST(DynamoStoreEnsureTable, GivesUpWhenTheTableStaysCreating) {
  Fixture f;
  for (int i = 0; i < 100; ++i) f.Answer(Described("CREATING"));
  Result<DynamoTableSetup> setup = f.store->EnsureTable(2s);
  ASSERT_FALSE(setup.ok());
  EXPECT_EQ(setup.error().code(), ErrorCode::kDeadlineExceeded);
  EXPECT_LE(f.clock.Now(), Start() + 2s);
}

TEST(DynamoStoreEnsureTable, AccessDeniedIsAnError) {
  Fixture f;
  f.AnswerError(400, "AccessDeniedException", "not allowed");
  Result<DynamoTableSetup> setup = f.store->EnsureTable();
  ASSERT_FALSE(setup.ok());
  EXPECT_EQ(setup.error().code(), ErrorCode::kRejected);
  EXPECT_EQ(f.Sent().size(), 1u);
}

}  // namespace
}  // namespace headcount
