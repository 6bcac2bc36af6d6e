// IvsOptions checks and MakeIvsAdapters from a map environment (no sockets:
// a FakeTransport stands in for the HTTP client).
#include "ivs/ivs_factory.h"

#include <gtest/gtest.h>

#include "aws/testing/fake_transport.h"
#include "ivs/ivs_test_util.h"

namespace headcount {
namespace {

using ivs_testing::Arn;

std::unique_ptr<aws::HttpTransport> Fake() {
  return std::make_unique<aws::testing::FakeTransport>();
}

const aws::Environment kWithKeys = aws::MapEnvironment({
    {"AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"},
    {"AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"},
    {"AWS_REGION", "ap-northeast-1"},
});

TEST(IvsOptions, ChannelArnShape) {
  EXPECT_TRUE(IsIvsChannelArn("arn:aws:ivs:us-west-2:123456789012:channel/abcdABCDefgh"));
  EXPECT_TRUE(IsIvsChannelArn("arn:aws-cn:ivs:cn-north-1:1:channel/a-b"));
  EXPECT_FALSE(IsIvsChannelArn("arn:aws:ivs:us-west-2:123456789012:stream-key/abc"));
  EXPECT_FALSE(IsIvsChannelArn("arn:aws:s3:us-west-2:123456789012:channel/abc"));
  EXPECT_FALSE(IsIvsChannelArn("arn:aws:ivs:us-west-2:12x:channel/abc"));
  EXPECT_FALSE(IsIvsChannelArn("arn:aws:ivs:us-west-2:1:channel/"));
  EXPECT_FALSE(IsIvsChannelArn("arn:aws:ivs:us-west-2:1:channel/a b"));
  EXPECT_FALSE(IsIvsChannelArn("arn:aws:ivs:us-west-2:1:channel/a:b"));
  EXPECT_FALSE(IsIvsChannelArn("main"));
  EXPECT_FALSE(IsIvsChannelArn("arn:aws:ivs:us-west-2:1:channel/" + std::string(128, 'a')));
}

TEST(IvsOptions, DefaultsAreValidAndBadValuesAreNamed) {
  EXPECT_TRUE(ValidateIvsOptions({}).ok());
  auto message = [](const IvsOptions& o) {
    Status s = ValidateIvsOptions(o);
    return s.ok() ? std::string("ok") : s.error().message();
  };
  EXPECT_NE(message({.channels = {"main"}}).find("not an IVS channel ARN"), std::string::npos);
  EXPECT_NE(message({.account_tps = -1}).find("account_tps"), std::string::npos);
  EXPECT_NE(message({.channel_tps = std::numeric_limits<double>::infinity()}).find("channel_tps"),
            std::string::npos);
  EXPECT_NE(message({.burst = 0.5}).find("burst"), std::string::npos);
  EXPECT_NE(message({.burst = std::numeric_limits<double>::quiet_NaN()}).find("burst"),
            std::string::npos);
  EXPECT_EQ(message({.burst = 1.0}), "ok");
  EXPECT_NE(message({.publish_concurrency = 0}).find("publish_concurrency"), std::string::npos);
  EXPECT_NE(message({.max_list_pages = 0}).find("max_list_pages"), std::string::npos);
}

TEST(IvsOptions, DefaultBurstIsNineTenthsOfASecondsQuota) {
  EXPECT_EQ(DefaultBurst(155), 139.5);
  EXPECT_EQ(DefaultBurst(10), 9.0);
  EXPECT_EQ(DefaultBurst(0.5), kMinBurst);  // never below one call
}

TEST(IvsOptions, MetadataFormatNames) {
  EXPECT_EQ(*ParseMetadataFormat("v1"), MetadataFormat::kV1);
  EXPECT_EQ(*ParseMetadataFormat("seed"), MetadataFormat::kSeed);
  EXPECT_EQ(MetadataFormatName(MetadataFormat::kSeed), "seed");
  auto bad = ParseMetadataFormat("v2");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("v1, seed"), std::string::npos);
}

TEST(MakeIvsAdapters, BuildsFromTheEnvironment) {
  FakeClock clock(ivs_testing::Start());
  auto adapters = MakeIvsAdapters({}, kWithKeys, clock, Fake());
  ASSERT_TRUE(adapters.ok()) << adapters.error().ToString();
  ASSERT_NE((*adapters)->source, nullptr);
  ASSERT_NE((*adapters)->publisher, nullptr);
  EXPECT_EQ((*adapters)->client->options().region, "ap-northeast-1");
  EXPECT_EQ((*adapters)->client->options().endpoint, "https://ivs.ap-northeast-1.amazonaws.com");
}

TEST(MakeIvsAdapters, OptionsWinOverTheEnvironment) {
  FakeClock clock(ivs_testing::Start());
  const auto env = aws::MapEnvironment({
      {"AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"},
      {"AWS_SECRET_ACCESS_KEY", "secret"},
      {"AWS_ENDPOINT_URL_IVS", "http://127.0.0.1:7000"},
  });
  auto from_env = MakeIvsAdapters({.region = "us-east-1"}, env, clock, Fake());
  ASSERT_TRUE(from_env.ok()) << from_env.error().ToString();
  EXPECT_EQ((*from_env)->client->options().region, "us-east-1");
  EXPECT_EQ((*from_env)->client->options().endpoint, "http://127.0.0.1:7000");
  auto explicit_endpoint = MakeIvsAdapters(
      {.region = "us-east-1", .endpoint = "http://127.0.0.1:9000"}, env, clock, Fake());
  ASSERT_TRUE(explicit_endpoint.ok());
  EXPECT_EQ((*explicit_endpoint)->client->options().endpoint, "http://127.0.0.1:9000");
}

TEST(MakeIvsAdapters, ClearErrors) {
  FakeClock clock(ivs_testing::Start());
  auto no_region = MakeIvsAdapters(
      {}, aws::MapEnvironment({{"AWS_ACCESS_KEY_ID", "A"}, {"AWS_SECRET_ACCESS_KEY", "s"}}), clock,
      Fake());
  ASSERT_FALSE(no_region.ok());
  EXPECT_EQ(no_region.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(no_region.error().message().find("AWS_REGION"), std::string::npos)
      << no_region.error().message();

  auto bad_endpoint = MakeIvsAdapters({.endpoint = "ftp://x"}, kWithKeys, clock, Fake());
  ASSERT_FALSE(bad_endpoint.ok());
  EXPECT_EQ(bad_endpoint.error().code(), ErrorCode::kInvalidArgument);

  auto no_credentials =
      MakeIvsAdapters({}, aws::MapEnvironment({{"AWS_REGION", "us-west-2"}}), clock, Fake());
  ASSERT_FALSE(no_credentials.ok());
  EXPECT_NE(no_credentials.error().message().find("no AWS credentials"), std::string::npos);

  auto bad_options = MakeIvsAdapters({.channels = {Arn(1), "x"}}, kWithKeys, clock, Fake());
  ASSERT_FALSE(bad_options.ok());
  EXPECT_EQ(bad_options.error().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace headcount
