// AwsClient without sockets: endpoint resolution, error parsing, request
// shapes of both protocols, and retry/backoff/deadline with a fake clock.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

#include "aws/aws_client.h"
#include "aws/testing/credentials_fixtures.h"
#include "aws/testing/fake_transport.h"
#include "core/time_text.h"

namespace headcount::aws {
namespace {

using namespace std::chrono_literals;
using testing::FakeTransport;

using testing::kSecret;
using testing::kToken;

WallTime ClientT0() { return *ParseRfc3339("2026-03-01T12:00:00Z"); }

// A client over a FakeTransport whose sleeps advance a FakeClock.
struct Fixture {
  explicit Fixture(const ServiceInfo& service = kIvsService, AwsClientOptions options = {}) {
    if (options.region.empty()) options.region = "us-west-2";
    if (options.endpoint.empty()) options.endpoint = "https://ivs.us-west-2.amazonaws.com";
    options.jitter_seed = 42;
    Result<std::unique_ptr<AwsClient>> created = AwsClient::Create(
        service, options, credentials, transport, clock, [this](std::chrono::nanoseconds d) {
          sleeps.push_back(d);
          clock.Advance(d);
        });
    EXPECT_TRUE(created.ok());
    client = std::move(*created);
  }

  FakeClock clock{ClientT0()};
  StaticCredentialsProvider credentials{Credentials("AKIDEXAMPLE", kSecret, kToken)};
  FakeTransport transport;
  std::vector<std::chrono::nanoseconds> sleeps;
  std::unique_ptr<AwsClient> client;
};

TEST(Endpoint, ServiceVariableWinsOverGenericWinsOverDefault) {
  EXPECT_EQ(*ResolveEndpoint(kIvsService, "us-west-2", MapEnvironment({})),
            "https://ivs.us-west-2.amazonaws.com");
  EXPECT_EQ(*ResolveEndpoint(kDynamoDbService, "cn-north-1", MapEnvironment({})),
            "https://dynamodb.cn-north-1.amazonaws.com.cn");
  const auto env = MapEnvironment({{"AWS_ENDPOINT_URL", "http://127.0.0.1:4566"},
                                   {"AWS_ENDPOINT_URL_IVS", "http://127.0.0.1:7000"}});
  EXPECT_EQ(*ResolveEndpoint(kIvsService, "us-west-2", env), "http://127.0.0.1:7000");
  EXPECT_EQ(*ResolveEndpoint(kDynamoDbService, "us-west-2", env), "http://127.0.0.1:4566");
  Result<std::string> bad = ResolveEndpoint(
      kDynamoDbService, "us-west-2", MapEnvironment({{"AWS_ENDPOINT_URL_DYNAMODB", "ftp://x"}}));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("AWS_ENDPOINT_URL_DYNAMODB"), std::string::npos);
}

TEST(Endpoint, OptionsFromEnvironmentNeedARegion) {
  Result<AwsClientOptions> none = ClientOptionsFromEnvironment(kIvsService, MapEnvironment({}));
  ASSERT_FALSE(none.ok());
  Result<AwsClientOptions> ok = ClientOptionsFromEnvironment(
      kIvsService, MapEnvironment({{"AWS_DEFAULT_REGION", "ap-northeast-1"}}));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->region, "ap-northeast-1");
  EXPECT_EQ(ok->endpoint, "https://ivs.ap-northeast-1.amazonaws.com");
}

TEST(AwsErrors, ParsesHeaderAndBodyForms) {
  // REST-JSON (IVS): the type in a header, with a ":<url>" suffix.
  AwsError ivs = ParseAwsError(
      404,
      {{"X-Amzn-ErrorType", "ChannelNotBroadcasting:http://internal.amazon.com/coral/"},
       {"x-amzn-RequestId", "req-1"}},
      R"({"exceptionMessage":"Channel is not broadcasting"})");
  EXPECT_EQ(ivs.code, "ChannelNotBroadcasting");
  EXPECT_EQ(ivs.message, "Channel is not broadcasting");
  EXPECT_EQ(ivs.request_id, "req-1");
  EXPECT_FALSE(ivs.retryable);

  // JSON 1.0 (DynamoDB): "__type" with a namespace, "Message" capitalized.
  AwsError ddb = ParseAwsError(
      400, {},
      R"({"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","Message":"slow down"})");
  EXPECT_EQ(ddb.code, "ProvisionedThroughputExceededException");
  EXPECT_EQ(ddb.message, "slow down");
  EXPECT_TRUE(ddb.retryable);

  AwsError coded = ParseAwsError(400, {}, R"({"code":"ValidationException","message":"bad"})");
  EXPECT_EQ(coded.code, "ValidationException");
  EXPECT_FALSE(coded.retryable);

  AwsError html = ParseAwsError(502, {}, "<html>bad gateway</html>");
  EXPECT_EQ(html.code, "");
  EXPECT_TRUE(html.retryable);
  EXPECT_EQ(html.ToString(), "error (HTTP 502)");
}

TEST(AwsErrors, ThrottlingAnd5xxAreRetryable) {
  EXPECT_TRUE(IsRetryableAwsError(400, "ThrottlingException"));
  EXPECT_TRUE(IsRetryableAwsError(400, "RequestLimitExceeded"));
  EXPECT_TRUE(IsRetryableAwsError(400, "TooManyRequestsException"));
  EXPECT_TRUE(IsRetryableAwsError(429, ""));
  EXPECT_TRUE(IsRetryableAwsError(503, ""));
  EXPECT_FALSE(IsRetryableAwsError(400, "ValidationException"));
  EXPECT_FALSE(IsRetryableAwsError(403, "AccessDeniedException"));
  EXPECT_FALSE(IsRetryableAwsError(404, "ResourceNotFoundException"));
}

TEST(AwsClient, RestJsonRequestShape) {
  Fixture f;
  f.transport.PushResponse(200, R"({"streams":[]})");
  Result<nlohmann::json> r = f.client->Call("ListStreams", {{"maxResults", 100}}, ClientT0() + 10s);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ((*r)["streams"], nlohmann::json::array());
  ASSERT_EQ(f.transport.requests().size(), 1u);
  const HttpRequest sent = f.transport.requests()[0];
  EXPECT_EQ(sent.method, "POST");
  EXPECT_EQ(sent.url, "https://ivs.us-west-2.amazonaws.com/ListStreams");
  EXPECT_EQ(sent.body, R"({"maxResults":100})");
  EXPECT_EQ(*FindHeader(sent.headers, "Host"), "ivs.us-west-2.amazonaws.com");
  EXPECT_EQ(*FindHeader(sent.headers, "Content-Type"), "application/json");
  EXPECT_EQ(*FindHeader(sent.headers, "X-Amz-Date"), "20260301T120000Z");
  EXPECT_EQ(*FindHeader(sent.headers, "X-Amz-Security-Token"), kToken);
  EXPECT_EQ(FindHeader(sent.headers, "X-Amz-Target"), nullptr);
  const std::string auth = *FindHeader(sent.headers, "Authorization");
  EXPECT_TRUE(auth.starts_with(
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260301/us-west-2/ivs/aws4_request, "
      "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature="))
      << auth;
}

TEST(AwsClient, Json10RequestShape) {
  AwsClientOptions options;
  options.endpoint = "http://127.0.0.1:8000";
  Fixture f(kDynamoDbService, options);
  f.transport.PushResponse(200, "");
  Result<nlohmann::json> r = f.client->Call("Query", {{"TableName", "t"}}, ClientT0() + 10s);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(*r, nlohmann::json::object());
  const HttpRequest sent = f.transport.requests()[0];
  EXPECT_EQ(sent.url, "http://127.0.0.1:8000/");
  EXPECT_EQ(*FindHeader(sent.headers, "Host"), "127.0.0.1:8000");
  EXPECT_EQ(*FindHeader(sent.headers, "X-Amz-Target"), "DynamoDB_20120810.Query");
  EXPECT_EQ(*FindHeader(sent.headers, "Content-Type"), "application/x-amz-json-1.0");
  EXPECT_NE(FindHeader(sent.headers, "Authorization")->find("/dynamodb/aws4_request"),
            std::string::npos);
}

TEST(AwsClient, RetriesThrottlingAnd503ThenSucceeds) {
  Fixture f;
  f.transport.SetLatency(&f.clock, 1s);
  f.transport.PushResponse(429, R"({"message":"Rate exceeded"})",
                           {{"x-amzn-ErrorType", "ThrottlingException"}});
  f.transport.PushResponse(503, "");
  f.transport.Push(Error::Unavailable("connection reset"));
  f.transport.PushResponse(200, R"({"ok":true})");
  Result<nlohmann::json> r = f.client->Call("PutMetadata", {}, ClientT0() + 30s);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(f.transport.requests().size(), 4u);
  ASSERT_EQ(f.sleeps.size(), 3u);
  // Full jitter: the n-th wait is within [0, base * 2^(n-1)].
  for (std::size_t i = 0; i < f.sleeps.size(); ++i) {
    EXPECT_LE(f.sleeps[i], kDefaultBackoffBase * (1 << i));
  }
  // Every attempt is signed anew, at its own time.
  const auto requests = f.transport.requests();
  EXPECT_EQ(*FindHeader(requests[0].headers, "X-Amz-Date"), "20260301T120000Z");
  EXPECT_NE(*FindHeader(requests[3].headers, "X-Amz-Date"), "20260301T120000Z");
  EXPECT_NE(*FindHeader(requests[0].headers, "Authorization"),
            *FindHeader(requests[3].headers, "Authorization"));
}

TEST(AwsClient, BackoffIsCappedAndJittered) {
  AwsClientOptions options;
  options.max_attempts = 12;
  options.backoff_cap = 400ms;
  Fixture f(kIvsService, options);
  for (int i = 0; i < 12; ++i) f.transport.PushResponse(500, "");
  Result<nlohmann::json> r = f.client->Call("ListStreams", {}, ClientT0() + 1h);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kRejected);  // attempts ran out; the last answer
  ASSERT_EQ(f.sleeps.size(), 11u);
  bool varied = false;
  for (std::size_t i = 0; i < f.sleeps.size(); ++i) {
    EXPECT_LE(f.sleeps[i], 400ms);
    if (i > 0 && f.sleeps[i] != f.sleeps[i - 1]) varied = true;
  }
  EXPECT_TRUE(varied);
}

TEST(AwsClient, CallsSharingABudgetMakeMaxAttemptsInAll) {
  AwsClientOptions options;
  options.max_attempts = 3;
  Fixture f(kIvsService, options);
  f.transport.PushResponse(500, "");
  f.transport.PushResponse(200, "{}");
  for (int i = 0; i < 10; ++i) f.transport.PushResponse(500, "");
  RetryBudget budget = f.client->StartBudget(ClientT0() + 1h);
  Result<nlohmann::json> first = f.client->Call("ListStreams", {}, budget);  // 2 attempts
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  Result<nlohmann::json> second = f.client->Call("ListStreams", {}, budget);  // the one left
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code(), ErrorCode::kRejected);
  EXPECT_EQ(f.transport.requests().size(), 3u);
  Result<nlohmann::json> third = f.client->Call("ListStreams", {}, budget);
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.error().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(f.transport.requests().size(), 3u);  // used up: nothing sent
}

TEST(AwsClient, StopsAtTheDeadlineWithoutSleepingPastIt) {
  Fixture f;
  f.transport.SetLatency(&f.clock, 100ms);
  for (int i = 0; i < 100; ++i) {
    f.transport.PushResponse(400, R"({"__type":"ThrottlingException","message":"slow"})");
  }
  const WallTime deadline = ClientT0() + 1s;
  AwsError aws_error;
  Result<nlohmann::json> r = f.client->Call("PutMetadata", {}, deadline, &aws_error);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kDeadlineExceeded) << r.error().ToString();
  EXPECT_NE(r.error().message().find("ThrottlingException"), std::string::npos);
  EXPECT_LE(f.clock.Now(), deadline);
  EXPECT_EQ(aws_error.code, "ThrottlingException");
  EXPECT_GT(f.transport.requests().size(), 1u);
  // No attempt was given more time than was left.
  for (const HttpRequest& sent : f.transport.requests()) EXPECT_LE(sent.timeout, 1s);
}

TEST(AwsClient, PastDeadlineMakesNoRequest) {
  Fixture f;
  Result<nlohmann::json> r = f.client->Call("ListStreams", {}, ClientT0());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kDeadlineExceeded);
  EXPECT_TRUE(f.transport.requests().empty());
}

TEST(AwsClient, DoesNotRetryValidationException) {
  Fixture f;
  f.transport.PushResponse(400, R"({"message":"metadata too large"})",
                           {{"x-amzn-ErrorType", "ValidationException:http://x/"}});
  AwsError aws_error;
  Result<nlohmann::json> r = f.client->Call("PutMetadata", {}, ClientT0() + 30s, &aws_error);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kRejected);
  EXPECT_EQ(aws_error.code, "ValidationException");
  EXPECT_EQ(aws_error.http_status, 400);
  EXPECT_EQ(aws_error.message, "metadata too large");
  EXPECT_EQ(f.transport.requests().size(), 1u);
  EXPECT_TRUE(f.sleeps.empty());
}

TEST(AwsClient, NetworkFailuresRunOutAsUnavailable) {
  AwsClientOptions options;
  options.max_attempts = 3;
  Fixture f(kIvsService, options);
  Result<nlohmann::json> r = f.client->Call("ListStreams", {}, ClientT0() + 1h);  // nothing queued
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(f.transport.requests().size(), 3u);
}

TEST(AwsClient, BadJsonAnswerIsRejected) {
  Fixture f;
  f.transport.PushResponse(200, "not json");
  Result<nlohmann::json> r = f.client->Call("ListStreams", {}, ClientT0() + 1s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kRejected);
}

class FailingCredentials final : public CredentialsProvider {
 public:
  Result<Credentials> Get(WallTime) override { return Error::NotFound("no AWS credentials"); }
};

TEST(AwsClient, CredentialErrorsAreReturnedUnretried) {
  FakeClock clock{ClientT0()};
  FailingCredentials credentials;
  FakeTransport transport;
  AwsClientOptions options{.region = "us-west-2",
                           .endpoint = "https://ivs.us-west-2.amazonaws.com"};
  auto client = AwsClient::Create(kIvsService, options, credentials, transport, clock,
                                  [](std::chrono::nanoseconds) {});
  ASSERT_TRUE(client.ok());
  Result<nlohmann::json> r = (*client)->Call("ListStreams", {}, ClientT0() + 1s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(transport.requests().empty());
}

// Hands out credentials with session token "token-<n>", n growing each
// time the cached ones are invalidated (as a container endpoint does once
// it has rotated them). Thread-safe enough for one caller.
class RotatingCredentials final : public CredentialsProvider {
 public:
  explicit RotatingCredentials(bool can_refresh) : can_refresh_(can_refresh) {}
  Result<Credentials> Get(WallTime) override {
    return Credentials("AKIDROTATING", kSecret, "token-" + std::to_string(generation_));
  }
  bool Invalidate(const Credentials& rejected) override {
    ++invalidations_;
    if (!can_refresh_) return false;
    if (rejected.session_token() == "token-" + std::to_string(generation_)) ++generation_;
    return true;
  }
  int invalidations() const { return invalidations_; }

 private:
  const bool can_refresh_;
  int generation_ = 1;
  int invalidations_ = 0;
};

std::string SessionToken(const HttpRequest& request) {
  const std::string* token = FindHeader(request.headers, "X-Amz-Security-Token");
  return token == nullptr ? std::string() : *token;
}

constexpr char kExpiredBody[] =
    R"({"__type":"com.amazon.coral.service#ExpiredTokenException",)"
    R"("message":"The security token included in the request is expired"})";

TEST(AwsClient, ExpiredCredentialsAreRefreshedOnceAndTheCallRetriedAtOnce) {
  FakeClock clock{ClientT0()};
  RotatingCredentials credentials(/*can_refresh=*/true);
  FakeTransport transport;
  std::vector<std::chrono::nanoseconds> sleeps;
  auto client = AwsClient::Create(
      kDynamoDbService,
      {.region = "us-west-2", .endpoint = "https://dynamodb.us-west-2.amazonaws.com"}, credentials,
      transport, clock, [&](std::chrono::nanoseconds d) { sleeps.push_back(d); });
  ASSERT_TRUE(client.ok());
  transport.PushResponse(400, kExpiredBody);
  transport.PushResponse(200, R"({"Items":[]})");
  Result<nlohmann::json> r = (*client)->Call("Query", {}, ClientT0() + 10s);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  const std::vector<HttpRequest> sent = transport.requests();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(SessionToken(sent[0]), "token-1");
  EXPECT_EQ(SessionToken(sent[1]), "token-2");  // signed again with the fresh ones
  EXPECT_TRUE(sleeps.empty());                  // no backoff: nothing to wait for
  EXPECT_EQ(credentials.invalidations(), 1);

  // Expired again right away: one refresh per call, then the error shows.
  transport.PushResponse(400, kExpiredBody);
  transport.PushResponse(400, kExpiredBody);
  transport.PushResponse(200, "{}");  // never reached
  AwsError error;
  r = (*client)->Call("Query", {}, ClientT0() + 10s, &error);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kRejected);
  EXPECT_NE(r.error().message().find("ExpiredTokenException"), std::string::npos);
  EXPECT_EQ(error.code, "ExpiredTokenException");
  EXPECT_EQ(transport.requests().size(), 4u);
}

TEST(AwsClient, ExpiredCredentialsThatCannotChangeFailAtOnce) {
  FakeClock clock{ClientT0()};
  RotatingCredentials credentials(/*can_refresh=*/false);
  FakeTransport transport;
  auto client = AwsClient::Create(
      kIvsService, {.region = "us-west-2", .endpoint = "https://ivs.us-west-2.amazonaws.com"},
      credentials, transport, clock, [](std::chrono::nanoseconds) {});
  ASSERT_TRUE(client.ok());
  transport.PushResponse(403,
                         R"({"message":"The security token included in the request is expired"})",
                         {{"x-amzn-ErrorType", "ExpiredTokenException"}});
  Result<nlohmann::json> r = (*client)->Call("ListStreams", {}, ClientT0() + 10s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kRejected);
  EXPECT_NE(r.error().message().find("ExpiredTokenException"), std::string::npos);
  EXPECT_EQ(transport.requests().size(), 1u);  // not retried: it cannot get better
  EXPECT_EQ(credentials.invalidations(), 1);
}

TEST(AwsClient, RejectsBadOptions) {
  FakeClock clock;
  StaticCredentialsProvider credentials{Credentials("A", "B")};
  FakeTransport transport;
  EXPECT_FALSE(AwsClient::Create(kIvsService, {.region = "", .endpoint = "https://x"}, credentials,
                                 transport, clock)
                   .ok());
  EXPECT_FALSE(AwsClient::Create(kIvsService, {.region = "r", .endpoint = "x"}, credentials,
                                 transport, clock)
                   .ok());
}

TEST(AwsClient, NeverLogsSecretsOrSignatures) {
  auto captured = std::make_shared<std::ostringstream>();
  auto logger = std::make_shared<spdlog::logger>(
      "aws-test", std::make_shared<spdlog::sinks::ostream_sink_mt>(*captured));
  logger->set_level(spdlog::level::trace);
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(logger);

  Fixture f;
  f.transport.PushResponse(503, R"({"message":"busy"})");
  f.transport.PushResponse(200, "{}");
  Result<nlohmann::json> r = f.client->Call("ListStreams", {}, ClientT0() + 30s);
  spdlog::set_default_logger(previous);
  ASSERT_TRUE(r.ok());

  const std::string log = captured->str();
  EXPECT_NE(log.find("retrying"), std::string::npos) << log;  // it did log the retry
  EXPECT_EQ(log.find(kSecret), std::string::npos) << log;
  EXPECT_EQ(log.find(kToken), std::string::npos) << log;
  EXPECT_EQ(log.find("Signature="), std::string::npos) << log;
  EXPECT_EQ(log.find("Authorization"), std::string::npos) << log;
}

}  // namespace
}  // namespace headcount::aws
