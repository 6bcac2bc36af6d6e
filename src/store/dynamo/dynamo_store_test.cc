// DynamoStore's options and Record without sockets: chunks of 25,
// de-duplication, UnprocessedItems resent within one retry budget, what a
// failed chunk reports, over a FakeTransport and a FakeClock.
#include "store/dynamo/dynamo_store.h"

#include <gtest/gtest.h>

#include <functional>
#include <set>
#include <vector>

#include "store/dynamo/dynamo_items.h"
#include "store/dynamo/dynamo_test_util.h"

namespace headcount::dynamo_testing {
namespace {

using namespace std::chrono_literals;

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
  const std::vector<std::function<void(DynamoStoreOptions&)>> spoilers = {
      [](DynamoStoreOptions& bad) { bad.retention = 0s; },
      [](DynamoStoreOptions& bad) { bad.concurrency = 0; },
      [](DynamoStoreOptions& bad) { bad.call_budget = 0ms; },
      [](DynamoStoreOptions& bad) { bad.max_query_items = 0; },
      [](DynamoStoreOptions& bad) { bad.max_query_pages = 0; },
  };
  for (std::size_t i = 0; i < spoilers.size(); ++i) {
    DynamoStoreOptions bad = o;
    spoilers[i](bad);
    EXPECT_EQ(create(bad).error().code(), ErrorCode::kInvalidArgument) << "spoiler " << i;
  }

  aws::AwsClientOptions ivs_options{.region = "us-east-1", .endpoint = "http://127.0.0.1:1"};
  auto ivs =
      aws::AwsClient::Create(aws::kIvsService, ivs_options, f.credentials, f.transport, f.clock);
  ASSERT_TRUE(ivs.ok());
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
  // One backoff before each resend, the client's: the n-th wait within
  // [0, base * 2^(n-1)].
  ASSERT_EQ(f.sleeps.size(), 2u);
  EXPECT_LE(f.sleeps[0], aws::kDefaultBackoffBase);
  EXPECT_LE(f.sleeps[1], 2 * aws::kDefaultBackoffBase);
}

// Issue 14, point 5: a chunk's resends of unprocessed items and the retries
// of its calls draw on one budget, so a table that keeps throttling gets
// max_attempts requests a chunk, not max_attempts per resend.
TEST(DynamoStoreRecord, AnAlwaysThrottledWriteMakesMaxAttemptsRequestsInAll) {
  constexpr int kMaxAttempts = 4;
  const std::vector<Sample> samples = Samples(1, 2);
  json puts = json::array();
  for (const Sample& s : samples) {
    puts.push_back({{"PutRequest", {{"Item", dynamo::SampleItem(s, kDefaultDynamoRetention)}}}});
  }
  // DynamoDB throttles a write in two ways: an error answer, or a 200 that
  // leaves every item unprocessed. Either, or both in turn, for ever.
  enum class Throttle { kError, kUnprocessed, kBothInTurn };
  for (const Throttle throttle :
       {Throttle::kError, Throttle::kUnprocessed, Throttle::kBothInTurn}) {
    SCOPED_TRACE(static_cast<int>(throttle));
    Fixture f({}, RetryOptions(kMaxAttempts));
    for (int i = 0; i < 100; ++i) {
      const bool error =
          throttle == Throttle::kError || (throttle == Throttle::kBothInTurn && i % 2 == 0);
      if (error) {
        f.AnswerError(400, "ProvisionedThroughputExceededException", "Rate of requests exceeded");
      } else {
        f.Answer({{"UnprocessedItems", {{kTable, puts}}}});
      }
    }
    const RecordOutcome outcome = f.store->RecordEach(samples);
    EXPECT_EQ(f.transport.requests().size(), static_cast<std::size_t>(kMaxAttempts));
    ASSERT_TRUE(outcome.error.has_value());
    EXPECT_EQ(outcome.error->code(), ErrorCode::kRejected) << outcome.error->ToString();
    EXPECT_EQ(outcome.written, 0u);
    EXPECT_EQ(outcome.failed, (std::vector<std::size_t>{0, 1}));
    if (throttle != Throttle::kError) {
      EXPECT_NE(outcome.error->message().find("2 items still unprocessed after 4 attempts"),
                std::string::npos)
          << outcome.error->message();
    }
  }
}

TEST(DynamoStoreRecord, UnprocessedUntilTheDeadlineIsDeadlineExceeded) {
  DynamoStoreOptions options;
  options.call_budget = 2s;
  Fixture f(options, RetryOptions(100, 200ms, 400ms));
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
  EXPECT_LT(f.Sent().size(), 100u);
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

}  // namespace
}  // namespace headcount::dynamo_testing
