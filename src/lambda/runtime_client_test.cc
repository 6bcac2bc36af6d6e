// Unit tests of RuntimeClient over the aws FakeTransport and a FakeClock.
#include "lambda/runtime_client.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "aws/testing/fake_transport.h"

namespace headcount::lambda {
namespace {

using aws::testing::FakeTransport;
using std::chrono::milliseconds;

const WallTime kNow{std::chrono::seconds{1'800'000'000}};

std::string Ms(WallTime t) {
  return std::to_string(std::chrono::duration_cast<milliseconds>(t.time_since_epoch()).count());
}

class RuntimeClientTest : public ::testing::Test {
 protected:
  FakeClock clock_{kNow};
  FakeTransport transport_;
  RuntimeClient client_{"127.0.0.1:9001", transport_, clock_};
};

TEST_F(RuntimeClientTest, NextReadsTheInvocation) {
  transport_.PushResponse(200, "{}",
                          {{"Lambda-Runtime-Aws-Request-Id", "8476a536-e9f4-11e8-9739"},
                           {"lambda-runtime-deadline-ms", Ms(kNow + std::chrono::seconds{30})},
                           {"Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:x"}});
  auto inv = client_.Next();
  ASSERT_TRUE(inv.ok()) << inv.error().ToString();
  EXPECT_EQ(inv->request_id, "8476a536-e9f4-11e8-9739");
  EXPECT_EQ(inv->deadline, kNow + std::chrono::seconds{30});
  EXPECT_FALSE(inv->deadline_clamped);
  EXPECT_EQ(inv->function_arn, "arn:aws:lambda:x");
  EXPECT_EQ(inv->event, "{}");
  const auto sent = transport_.requests();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].url, "http://127.0.0.1:9001/2018-06-01/runtime/invocation/next");
  // The long poll must not time out in any realistic time.
  EXPECT_GE(sent[0].timeout, std::chrono::hours{24});
}

TEST_F(RuntimeClientTest, NextWithoutARequestIdIsAnError) {
  transport_.PushResponse(200, "{}", {{"Lambda-Runtime-Deadline-Ms", Ms(kNow)}});
  transport_.PushResponse(200, "{}", {{"Lambda-Runtime-Aws-Request-Id", "../../init/error"}});
  EXPECT_EQ(client_.Next().error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(client_.Next().error().code(), ErrorCode::kInvalidArgument);
}

TEST_F(RuntimeClientTest, AbsurdDeadlinesAreClamped) {
  for (const std::string& header :
       {std::string("99999999999999999999"), std::string("x"), std::string("-5"),
        Ms(kNow + std::chrono::hours{2}), Ms(kNow - std::chrono::seconds{1})}) {
    transport_.PushResponse(
        200, "{}",
        {{"Lambda-Runtime-Aws-Request-Id", "id"}, {"Lambda-Runtime-Deadline-Ms", header}});
    auto inv = client_.Next();
    ASSERT_TRUE(inv.ok()) << header;
    EXPECT_TRUE(inv->deadline_clamped) << header;
    EXPECT_GE(inv->deadline, kNow) << header;
    EXPECT_LE(inv->deadline, kNow + kMaxInvocationTime) << header;
  }
  transport_.PushResponse(200, "{}", {{"Lambda-Runtime-Aws-Request-Id", "id"}});
  auto inv = client_.Next();
  ASSERT_TRUE(inv.ok());
  EXPECT_TRUE(inv->deadline_clamped);
  EXPECT_EQ(inv->deadline, kNow + kMaxInvocationTime);
}

TEST_F(RuntimeClientTest, NextKeepsUnreachableApartFromRefused) {
  transport_.Push(Error::Unavailable("connection refused"));
  transport_.PushResponse(500, "boom");
  EXPECT_EQ(client_.Next().error().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(client_.Next().error().code(), ErrorCode::kRejected);
}

TEST_F(RuntimeClientTest, PostsResponsesAndErrors) {
  transport_.PushResponse(202, "");
  transport_.PushResponse(202, "");
  transport_.PushResponse(202, "");
  transport_.PushResponse(410, "gone");
  EXPECT_TRUE(client_.PostResponse("abc", R"({"ok":true})").ok());
  EXPECT_TRUE(client_.PostError("abc", "Headcount.InternalError", "it broke").ok());
  EXPECT_TRUE(client_.PostInitError("Headcount.ConfigError", "bad \"value\"").ok());
  EXPECT_EQ(client_.PostResponse("abc", "{}").error().code(), ErrorCode::kRejected);
  const auto sent = transport_.requests();
  ASSERT_EQ(sent.size(), 4u);
  EXPECT_EQ(sent[0].url, "http://127.0.0.1:9001/2018-06-01/runtime/invocation/abc/response");
  EXPECT_EQ(sent[0].body, R"({"ok":true})");
  EXPECT_EQ(sent[1].url, "http://127.0.0.1:9001/2018-06-01/runtime/invocation/abc/error");
  ASSERT_NE(aws::FindHeader(sent[1].headers, "Lambda-Runtime-Function-Error-Type"), nullptr);
  EXPECT_EQ(*aws::FindHeader(sent[1].headers, "Lambda-Runtime-Function-Error-Type"),
            "Headcount.InternalError");
  const auto body = nlohmann::json::parse(sent[1].body);
  EXPECT_EQ(body["errorMessage"], "it broke");
  EXPECT_EQ(body["errorType"], "Headcount.InternalError");
  EXPECT_EQ(sent[2].url, "http://127.0.0.1:9001/2018-06-01/runtime/init/error");
  EXPECT_EQ(nlohmann::json::parse(sent[2].body)["errorMessage"], "bad \"value\"");
}

TEST_F(RuntimeClientTest, RefusesABadRequestIdBeforeSending) {
  EXPECT_EQ(client_.PostResponse("a/b", "{}").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(transport_.requests().empty());
}

}  // namespace
}  // namespace headcount::lambda
