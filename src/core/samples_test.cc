#include "core/samples.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace headcount {
namespace {

// The cases infra/test/config.test.ts checks the CDK app's `channels` context
// against: both sides follow one rule.
nlohmann::json SharedArnCases() {
  std::ifstream in(std::string(HEADCOUNT_SOURCE_DIR) + "/tests/data/ivs-channel-arns.json");
  EXPECT_TRUE(in.good()) << "tests/data/ivs-channel-arns.json is missing";
  return nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
}

TEST(IvsChannelArnTest, AcceptsTheCommercialChinaAndGovCloudPartitions) {
  EXPECT_TRUE(IsIvsChannelArn("arn:aws:ivs:us-west-2:123456789012:channel/AbCdEf123456"));
  EXPECT_TRUE(IsIvsChannelArn("arn:aws-cn:ivs:cn-north-1:123456789012:channel/AbCdEf123456"));
  EXPECT_TRUE(IsIvsChannelArn("arn:aws-us-gov:ivs:us-gov-west-1:123456789012:channel/AbCd"));
}

TEST(IvsChannelArnTest, RefusesOtherPartitions) {
  EXPECT_FALSE(IsIvsChannelArn("arn:aws-iso:ivs:us-iso-east-1:123456789012:channel/AbCd"));
  EXPECT_FALSE(IsIvsChannelArn("arn:awsx:ivs:us-west-2:123456789012:channel/AbCd"));
  EXPECT_FALSE(IsIvsChannelArn("arn::ivs:us-west-2:123456789012:channel/AbCd"));
}

TEST(IvsChannelArnTest, FollowsTheCasesSharedWithTheCdkApp) {
  const nlohmann::json cases = SharedArnCases();
  ASSERT_TRUE(cases.is_object());
  ASSERT_FALSE(cases["valid"].empty());
  ASSERT_FALSE(cases["invalid"].empty());
  for (const auto& arn : cases["valid"]) {
    EXPECT_TRUE(IsIvsChannelArn(arn.get<std::string>())) << arn;
  }
  for (const auto& arn : cases["invalid"]) {
    EXPECT_FALSE(IsIvsChannelArn(arn.get<std::string>())) << arn;
  }
}

TEST(ChannelIdTest, OriginIdsAndArnsAreBothChannelIds) {
  EXPECT_TRUE(IsChannelIdOrArn("demo_1-a"));
  EXPECT_TRUE(IsChannelIdOrArn("arn:aws-cn:ivs:cn-north-1:1:channel/a"));
  EXPECT_FALSE(IsChannelIdOrArn(std::string(kMaxChannelIdBytes + 1, 'a')));
  EXPECT_FALSE(IsChannelIdOrArn("a/b"));
}

}  // namespace
}  // namespace headcount
