// AwsClient and the container credentials endpoint over real sockets:
// BeastTransport (http_client) against a local HTTP server on 127.0.0.1.
#include "aws/aws_client.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "aws/sigv4.h"
#include "aws/testing/credentials_fixtures.h"
#include "aws/testing/test_http_server.h"
#include "core/strings.h"
#include "core/time_text.h"
#include "http_client/beast_transport.h"

namespace headcount::aws {
namespace {

using namespace std::chrono_literals;
using testing::CannedResponse;
using testing::ReceivedRequest;
using testing::TestHttpServer;

constexpr char kKeyId[] = "AKIDINTEGRATION";
using testing::kSecret;
using testing::kToken;

// Checks a received request's signature the way the service would: sign
// the same method, path, query, body and signed headers, at its X-Amz-Date.
::testing::AssertionResult SignatureValid(const ReceivedRequest& request, std::string_view service,
                                          std::string_view region) {
  const std::string* auth = FindHeader(request.headers, "Authorization");
  const std::string* date = FindHeader(request.headers, "X-Amz-Date");
  if (auth == nullptr || date == nullptr) return ::testing::AssertionFailure() << "not signed";
  const std::size_t names_at = auth->find("SignedHeaders=") + 14;
  const std::string names = auth->substr(names_at, auth->find(',', names_at) - names_at);
  SigningRequest signing;
  signing.method = request.method;
  signing.path = request.path;
  signing.query = request.query;
  signing.body = request.body;
  for (const HttpHeader& h : request.headers) {
    const std::string lower = AsciiLower(h.name);
    if (lower == "x-amz-date" || lower == "x-amz-security-token") continue;
    if ((";" + names + ";").find(";" + lower + ";") != std::string::npos) {
      signing.headers.push_back(h);
    }
  }
  const std::string when = date->substr(0, 4) + "-" + date->substr(4, 2) + "-" +
                           date->substr(6, 2) + "T" + date->substr(9, 2) + ":" +
                           date->substr(11, 2) + ":" + date->substr(13, 2) + "Z";
  Result<WallTime> time = ParseRfc3339(when);
  if (!time.ok()) return ::testing::AssertionFailure() << "bad X-Amz-Date " << *date;
  SigningParams params;
  params.service = std::string(service);
  params.region = std::string(region);
  params.time = *time;
  Result<SigningResult> expected =
      SignRequest(signing, Credentials(kKeyId, kSecret, kToken), params);
  if (!expected.ok()) return ::testing::AssertionFailure() << expected.error().ToString();
  const std::string& expected_auth = expected->headers_to_add.back().value;
  if (expected_auth != *auth) {
    return ::testing::AssertionFailure()
           << "got " << *auth << "\nwant " << expected_auth << "\ncanonical request:\n"
           << expected->canonical_request;
  }
  return ::testing::AssertionSuccess();
}

struct Client {
  Client(const ServiceInfo& service, const std::string& endpoint, AwsClientOptions options = {}) {
    options.region = "us-west-2";
    options.endpoint = endpoint;
    options.backoff_base = 5ms;
    options.backoff_cap = 20ms;
    Result<std::unique_ptr<AwsClient>> created =
        AwsClient::Create(service, options, credentials, transport, clock);
    EXPECT_TRUE(created.ok()) << created.error().ToString();
    client = std::move(*created);
  }
  WallTime Deadline(std::chrono::milliseconds d = 10s) const { return clock.Now() + d; }

  SystemClock clock;
  StaticCredentialsProvider credentials{Credentials(kKeyId, kSecret, kToken)};
  http_client::BeastTransport transport;
  std::unique_ptr<AwsClient> client;
};

TEST(AwsClientIntegration, RestJsonRequestArrivesSigned) {
  TestHttpServer server([](const ReceivedRequest&) {
    return CannedResponse{.status = 200, .body = R"({"streams":[{"viewerCount":7}]})"};
  });
  Client c(kIvsService, server.url() + "/base");
  Result<nlohmann::json> r =
      c.client->Call("ListStreams", {{"maxResults", 100}, {"nextToken", "a b/c"}}, c.Deadline());
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ((*r)["streams"][0]["viewerCount"], 7);
  ASSERT_EQ(server.requests().size(), 1u);
  const ReceivedRequest got = server.requests()[0];
  EXPECT_EQ(got.method, "POST");
  EXPECT_EQ(got.path, "/base/ListStreams");
  EXPECT_EQ(nlohmann::json::parse(got.body)["nextToken"], "a b/c");
  EXPECT_EQ(*FindHeader(got.headers, "Content-Type"), "application/json");
  EXPECT_EQ(*FindHeader(got.headers, "Host"), "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(*FindHeader(got.headers, "X-Amz-Security-Token"), kToken);
  EXPECT_TRUE(SignatureValid(got, "ivs", "us-west-2"));
}

TEST(AwsClientIntegration, Json10RequestArrivesSigned) {
  TestHttpServer server([](const ReceivedRequest&) {
    return CannedResponse{.status = 200, .body = R"({"Items":[],"Count":0})"};
  });
  Client c(kDynamoDbService, server.url());
  Result<nlohmann::json> r = c.client->Call("Query", {{"TableName", "headcount"}}, c.Deadline());
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  const ReceivedRequest got = server.requests().at(0);
  EXPECT_EQ(got.path, "/");
  EXPECT_EQ(*FindHeader(got.headers, "X-Amz-Target"), "DynamoDB_20120810.Query");
  EXPECT_EQ(*FindHeader(got.headers, "Content-Type"), "application/x-amz-json-1.0");
  EXPECT_TRUE(SignatureValid(got, "dynamodb", "us-west-2"));
}

TEST(AwsClientIntegration, ParsesErrorsOfBothProtocols) {
  TestHttpServer ivs([](const ReceivedRequest&) {
    return CannedResponse{
        .status = 404,
        .headers = {{"x-amzn-ErrorType", "ChannelNotBroadcasting:http://internal.amazon.com/"},
                    {"x-amzn-RequestId", "rid-9"}},
        .body = R"({"exceptionMessage":"Channel is not broadcasting"})"};
  });
  Client ivs_client(kIvsService, ivs.url());
  AwsError error;
  Result<nlohmann::json> r =
      ivs_client.client->Call("PutMetadata", {{"metadata", "x"}}, ivs_client.Deadline(), &error);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kRejected);
  EXPECT_EQ(error.code, "ChannelNotBroadcasting");
  EXPECT_EQ(error.http_status, 404);
  EXPECT_EQ(error.request_id, "rid-9");
  EXPECT_EQ(error.message, "Channel is not broadcasting");

  TestHttpServer dynamo([](const ReceivedRequest&) {
    return CannedResponse{
        .status = 400,
        .body = R"({"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException",)"
                R"("message":"Requested resource not found"})"};
  });
  Client ddb(kDynamoDbService, dynamo.url());
  r = ddb.client->Call("Query", {}, ddb.Deadline(), &error);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kRejected);
  EXPECT_EQ(error.code, "ResourceNotFoundException");
  EXPECT_EQ(error.message, "Requested resource not found");
  EXPECT_EQ(dynamo.requests().size(), 1u);  // not retried
}

TEST(AwsClientIntegration, RetriesOn429And503ThenSucceeds) {
  std::atomic<int> calls{0};
  TestHttpServer server([&calls](const ReceivedRequest&) {
    switch (++calls) {
      case 1:
        return CannedResponse{.status = 429,
                              .headers = {{"x-amzn-ErrorType", "ThrottlingException"}},
                              .body = R"({"message":"Rate exceeded"})"};
      case 2:
        return CannedResponse{.status = 503, .body = "busy"};
      default:
        return CannedResponse{.status = 200, .body = "{}"};
    }
  });
  Client c(kIvsService, server.url());
  Result<nlohmann::json> r = c.client->Call("PutMetadata", {}, c.Deadline());
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(calls.load(), 3);
}

TEST(AwsClientIntegration, RetryingStopsAtTheDeadline) {
  TestHttpServer server(
      [](const ReceivedRequest&) { return CannedResponse{.status = 503, .body = "busy"}; });
  AwsClientOptions options;
  options.max_attempts = 1000;
  Client c(kIvsService, server.url(), options);
  const auto started = std::chrono::steady_clock::now();
  Result<nlohmann::json> r = c.client->Call("ListStreams", {}, c.Deadline(300ms));
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kDeadlineExceeded) << r.error().ToString();
  EXPECT_LT(took, 600ms);
  EXPECT_GT(server.requests().size(), 2u);
}

TEST(AwsClientIntegration, ReusesOneConnection) {
  TestHttpServer server(
      [](const ReceivedRequest&) { return CannedResponse{.status = 200, .body = "{}"}; });
  Client c(kDynamoDbService, server.url());
  for (int i = 0; i < 5; ++i) {
    Result<nlohmann::json> r = c.client->Call("PutItem", {{"i", i}}, c.Deadline());
    ASSERT_TRUE(r.ok()) << r.error().ToString();
  }
  EXPECT_EQ(server.requests().size(), 5u);
  EXPECT_EQ(server.connections(), 1);
}

TEST(AwsClientIntegration, SlowAttemptTimesOutAndIsRetried) {
  std::atomic<int> calls{0};
  TestHttpServer server([&calls](const ReceivedRequest&) {
    if (++calls == 1) return CannedResponse{.status = 200, .body = "{}", .delay = 800ms};
    return CannedResponse{.status = 200, .body = R"({"second":true})"};
  });
  AwsClientOptions options;
  options.attempt_timeout = 200ms;
  Client c(kIvsService, server.url(), options);
  Result<nlohmann::json> r = c.client->Call("GetStream", {}, c.Deadline(5s));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ((*r)["second"], true);
  EXPECT_EQ(calls.load(), 2);
}

TEST(AwsClientIntegration, OversizedResponseIsRejected) {
  TestHttpServer server([](const ReceivedRequest&) {
    return CannedResponse{.status = 200,
                          .body = "\"" + std::string(std::size_t{64} * 1024, 'x') + "\""};
  });
  AwsClientOptions options;
  options.max_response_bytes = 1024;
  Client c(kIvsService, server.url(), options);
  Result<nlohmann::json> r = c.client->Call("ListStreams", {}, c.Deadline());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kRejected) << r.error().ToString();
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST(AwsClientIntegration, UnreachableServerIsUnavailable) {
  int port = 0;
  {
    TestHttpServer gone([](const ReceivedRequest&) { return CannedResponse{}; });
    port = gone.port();
  }  // closed: connections to its port are refused
  AwsClientOptions options;
  options.max_attempts = 3;
  Client c(kIvsService, "http://127.0.0.1:" + std::to_string(port), options);
  Result<nlohmann::json> r = c.client->Call("ListStreams", {}, c.Deadline());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable) << r.error().ToString();
}

TEST(AwsClientIntegration, EndpointOverrideFromEnvironmentIsUsed) {
  TestHttpServer generic([](const ReceivedRequest&) {
    return CannedResponse{.status = 200, .body = R"({"from":"generic"})"};
  });
  TestHttpServer specific([](const ReceivedRequest&) {
    return CannedResponse{.status = 200, .body = R"({"from":"specific"})"};
  });
  const auto env = MapEnvironment({{"AWS_REGION", "us-west-2"},
                                   {"AWS_ENDPOINT_URL", generic.url()},
                                   {"AWS_ENDPOINT_URL_IVS", specific.url()}});
  SystemClock clock;
  StaticCredentialsProvider credentials{Credentials(kKeyId, kSecret, kToken)};
  http_client::BeastTransport transport;
  for (const auto& [service, want] :
       {std::pair{kIvsService, "specific"}, std::pair{kDynamoDbService, "generic"}}) {
    Result<AwsClientOptions> options = ClientOptionsFromEnvironment(service, env);
    ASSERT_TRUE(options.ok());
    auto client = AwsClient::Create(service, *options, credentials, transport, clock);
    ASSERT_TRUE(client.ok());
    Result<nlohmann::json> r = (*client)->Call("Op", {}, clock.Now() + 5s);
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    EXPECT_EQ((*r)["from"], want);
  }
}

std::string ContainerAnswer(const std::string& key, WallTime expires) {
  const auto t = std::chrono::system_clock::to_time_t(expires);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char when[32];
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return R"({"AccessKeyId":")" + key + R"(","SecretAccessKey":")" + kSecret + R"(","Token":")" +
         kToken + R"(","Expiration":")" + when + R"("})";
}

TEST(ContainerCredentialsIntegration, ChainFetchesWithTokenAndRefreshes) {
  std::atomic<int> fetches{0};
  TestHttpServer server([&fetches](const ReceivedRequest& request) {
    const std::string* auth = FindHeader(request.headers, "Authorization");
    if (auth == nullptr || *auth != "container-token") return CannedResponse{.status = 403};
    const int n = ++fetches;
    // The first answer expires within the refresh margin, so the next Get refetches.
    const WallTime expires = std::chrono::system_clock::now() + (n == 1 ? 2min : 1h);
    return CannedResponse{.status = 200,
                          .body = ContainerAnswer("AKIDC" + std::to_string(n), expires)};
  });
  http_client::BeastTransport transport;
  DefaultCredentialsChain chain(
      MapEnvironment({{"HOME", "/nonexistent"},
                      {"AWS_CONTAINER_CREDENTIALS_FULL_URI", server.url() + "/creds"},
                      {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "container-token"}}),
      transport);
  const WallTime now = std::chrono::system_clock::now();
  Result<Credentials> first = chain.Get(now);
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  EXPECT_EQ(first->access_key_id(), "AKIDC1");
  EXPECT_EQ(first->session_token(), kToken);
  EXPECT_EQ(chain.source(), "container");
  EXPECT_EQ(server.requests().at(0).path, "/creds");

  Result<Credentials> second = chain.Get(now);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->access_key_id(), "AKIDC2");
  Result<Credentials> third = chain.Get(now);  // now cached for an hour
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->access_key_id(), "AKIDC2");
  EXPECT_EQ(fetches.load(), 2);
}

TEST(ContainerCredentialsIntegration, TokenFileAndWrongToken) {
  TestHttpServer server([](const ReceivedRequest& request) {
    const std::string* auth = FindHeader(request.headers, "Authorization");
    if (auth == nullptr || *auth != "file-token") return CannedResponse{.status = 403};
    return CannedResponse{
        .status = 200, .body = ContainerAnswer("AKIDFILE", std::chrono::system_clock::now() + 1h)};
  });
  const auto dir = std::filesystem::temp_directory_path() /
                   ("headcount-aws-token-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "token") << "file-token\n";
  http_client::BeastTransport transport;
  ContainerEndpoint endpoint{.url = server.url() + "/creds",
                             .authorization_token = "wrong",
                             .authorization_token_file = (dir / "token").string()};
  Result<Credentials> r = FetchContainerCredentials(endpoint, transport);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->access_key_id(), "AKIDFILE");

  endpoint.authorization_token_file.reset();  // now the literal, wrong token
  r = FetchContainerCredentials(endpoint, transport);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kRejected);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace headcount::aws
