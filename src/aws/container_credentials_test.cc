// The container credentials endpoint: where the environment says it is, the
// token sent to it, its answer, and its failures (fake transport, no sockets).
#include "aws/container_credentials.h"

#include <gtest/gtest.h>

#include "aws/testing/credentials_fixtures.h"
#include "aws/testing/fake_transport.h"

namespace headcount::aws {
namespace {

using testing::At;
using testing::ContainerJson;
using testing::FakeTransport;
using testing::kToken;
using testing::TempDir;

TEST(ContainerEndpoint, RelativeUriGoesToTheEcsAgent) {
  Result<std::optional<ContainerEndpoint>> r = ContainerEndpointFromEnvironment(
      MapEnvironment({{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc"},
                      {"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:9/ignored"}}));
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->url, "http://169.254.170.2/v2/credentials/abc");
}

TEST(ContainerEndpoint, FullUriOverHttpMustBeLocal) {
  for (const char* ok : {"http://127.0.0.1:9001/creds", "http://localhost/x", "http://[::1]:1/",
                         "http://169.254.170.23/v1/credentials",
                         "http://[FD00:EC2::23]/v1/credentials", "https://creds.example.com/"}) {
    Result<std::optional<ContainerEndpoint>> r = ContainerEndpointFromEnvironment(
        MapEnvironment({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", ok}}));
    ASSERT_TRUE(r.ok()) << ok << ": " << r.error().ToString();
    EXPECT_EQ((*r)->url, ok);
  }
  // A name that merely starts like a loopback address is another host.
  for (const char* bad :
       {"http://10.0.0.1/creds", "http://127.evil.example/creds", "http://[fd00:ec2::24]/creds"}) {
    Result<std::optional<ContainerEndpoint>> r = ContainerEndpointFromEnvironment(
        MapEnvironment({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", bad}}));
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  }
}

TEST(ContainerEndpoint, ErrorsNeverQuoteTheQuery) {
  Result<std::optional<ContainerEndpoint>> r = ContainerEndpointFromEnvironment(MapEnvironment(
      {{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:99999/creds?token=SECRET"}}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message().find("SECRET"), std::string::npos) << r.error().message();

  FakeTransport transport;
  transport.PushResponse(403, "{}");
  Result<Credentials> rejected = FetchContainerCredentials(
      ContainerEndpoint{.url = "http://127.0.0.1:1/creds?token=SECRET"}, transport);
  ASSERT_FALSE(rejected.ok());
  EXPECT_EQ(rejected.error().message().find("SECRET"), std::string::npos)
      << rejected.error().message();
  EXPECT_NE(rejected.error().message().find("http://127.0.0.1:1/creds"), std::string::npos)
      << rejected.error().message();
}

TEST(ContainerEndpoint, TokenFileWinsOverToken) {
  Result<std::optional<ContainerEndpoint>> r = ContainerEndpointFromEnvironment(
      MapEnvironment({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:1/"},
                      {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "literal"},
                      {"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "/run/token"}}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->authorization_token_file, "/run/token");
  EXPECT_FALSE((*r)->authorization_token.has_value());
}

TEST(ContainerCredentials, ParsesTheEndpointAnswer) {
  Result<Credentials> r = ParseContainerCredentials(ContainerJson("AKIDC", "2026-01-01T01:00:00Z"));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->access_key_id(), "AKIDC");
  EXPECT_EQ(r->session_token(), kToken);
  EXPECT_EQ(r->expiration(), At("2026-01-01T01:00:00Z"));
  Result<Credentials> bad = ParseContainerCredentials(R"({"AccessKeyId":"A"})");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), ErrorCode::kRejected);
  EXPECT_FALSE(ParseContainerCredentials("not json").ok());
}

TEST(ContainerCredentials, SendsTheTokenFromTheTokenFile) {
  TempDir dir;
  ContainerEndpoint endpoint{.url = "http://127.0.0.1:1/creds",
                             .authorization_token = std::nullopt,
                             .authorization_token_file = dir.Write("token", "from-file\n")};
  FakeTransport transport;
  transport.PushResponse(200, ContainerJson("AKIDC", "2026-01-01T01:00:00Z"));
  Result<Credentials> r = FetchContainerCredentials(endpoint, transport);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  ASSERT_EQ(transport.requests().size(), 1u);
  const HttpRequest sent = transport.requests()[0];
  EXPECT_EQ(sent.url, "http://127.0.0.1:1/creds");
  ASSERT_NE(FindHeader(sent.headers, "Authorization"), nullptr);
  EXPECT_EQ(*FindHeader(sent.headers, "Authorization"), "from-file");
}

TEST(ContainerCredentials, NonOkAnswerIsRejectedAndUnreachableIsUnavailable) {
  ContainerEndpoint endpoint{.url = "http://127.0.0.1:1/creds"};
  FakeTransport transport;
  transport.PushResponse(403, "{}");
  Result<Credentials> rejected = FetchContainerCredentials(endpoint, transport);
  ASSERT_FALSE(rejected.ok());
  EXPECT_EQ(rejected.error().code(), ErrorCode::kRejected);
  Result<Credentials> down = FetchContainerCredentials(endpoint, transport);  // nothing queued
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.error().code(), ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace headcount::aws
