// Shared by the DynamoStore unit tests: a store over an AwsClient over the
// aws FakeTransport, whose sleeps advance a FakeClock, and builders for the
// answers DynamoDB gives. Not thread-safe setup.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "aws/aws_client.h"
#include "aws/testing/fake_transport.h"
#include "store/dynamo/dynamo_store.h"

namespace headcount::dynamo_testing {

using nlohmann::json;

inline constexpr char kTable[] = "headcount-test";
inline constexpr std::int64_t kT0 = 1'700'000'040;  // a bucket start (a whole minute)

inline Seconds At(std::int64_t epoch) { return Seconds{std::chrono::seconds{epoch}}; }
inline WallTime Start() { return WallTime{std::chrono::seconds{kT0 + 5}}; }

// A Query item as DynamoDB returns it (the projected attributes).
inline json Item(const std::string& channel, std::int64_t time, std::int64_t count) {
  return {{"channel", {{"S", channel}}},
          {"time", {{"N", std::to_string(time)}}},
          {"count", {{"N", std::to_string(count)}}}};
}

// A Query output: `items`, and LastEvaluatedKey `last` unless it is null.
inline json Page(json items, json last = nullptr) {
  json page = {{"Items", std::move(items)}};
  page["Count"] = page["Items"].size();
  if (!last.is_null()) page["LastEvaluatedKey"] = std::move(last);
  return page;
}

inline std::string AwsErrorBody(const std::string& code, const std::string& message) {
  return json{{"__type", "com.amazonaws.dynamodb.v20120810#" + code}, {"message", message}}.dump();
}

// `channels` x `buckets` samples: ch-<c> at kT0 + 60 b with c * 10 + b viewers.
inline std::vector<Sample> Samples(int channels, int buckets) {
  std::vector<Sample> out;
  for (int c = 0; c < channels; ++c) {
    for (int b = 0; b < buckets; ++b) {
      out.push_back({"ch-" + std::to_string(c), At(kT0 + std::int64_t{60} * b), c * 10 + b});
    }
  }
  return out;
}

// The PutRequests of a BatchWriteItem input for kTable.
inline const json& Puts(const json& batch_write_input) {
  return batch_write_input["RequestItems"][kTable];
}

// Client options with these retry settings; the Fixture fills in the rest.
inline aws::AwsClientOptions RetryOptions(
    int max_attempts, std::chrono::milliseconds backoff_base = aws::kDefaultBackoffBase,
    std::chrono::milliseconds backoff_cap = aws::kDefaultBackoffCap) {
  aws::AwsClientOptions options;
  options.max_attempts = max_attempts;
  options.backoff_base = backoff_base;
  options.backoff_cap = backoff_cap;
  return options;
}

// A store over an AwsClient over a FakeTransport; sleeps advance the clock.
// Empty table and region/endpoint get test values; concurrency 1 unless set
// (answers are scripted in order).
struct Fixture {
  explicit Fixture(DynamoStoreOptions options = {}, aws::AwsClientOptions client_options = {}) {
    client_options.region = "us-east-1";
    client_options.endpoint = "http://127.0.0.1:8000";
    client_options.jitter_seed = 1;
    const SleepFunction sleep = [this](std::chrono::nanoseconds d) {
      sleeps.push_back(d);
      clock.Advance(d);
    };
    Result<std::unique_ptr<aws::AwsClient>> created = aws::AwsClient::Create(
        aws::kDynamoDbService, client_options, credentials, transport, clock, sleep);
    EXPECT_TRUE(created.ok()) << created.error().ToString();
    client = std::move(*created);
    if (options.table.empty()) options.table = kTable;
    if (options.concurrency == kDefaultDynamoConcurrency) options.concurrency = 1;
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
  aws::testing::FakeTransport transport;
  std::vector<std::chrono::nanoseconds> sleeps;
  std::unique_ptr<aws::AwsClient> client;
  std::unique_ptr<DynamoStore> store;
};

}  // namespace headcount::dynamo_testing
