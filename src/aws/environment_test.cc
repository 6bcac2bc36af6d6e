// Settings from the environment: the region.
#include "aws/environment.h"

#include <gtest/gtest.h>

namespace headcount::aws {
namespace {

TEST(Region, AwsRegionThenDefaultRegion) {
  Result<std::string> r = RegionFromEnvironment(
      MapEnvironment({{"AWS_REGION", "eu-west-1"}, {"AWS_DEFAULT_REGION", "us-east-1"}}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "eu-west-1");
  r = RegionFromEnvironment(MapEnvironment({{"AWS_DEFAULT_REGION", "us-east-1"}}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "us-east-1");
  r = RegionFromEnvironment(MapEnvironment({}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message().find("AWS_REGION"), std::string::npos);
  EXPECT_FALSE(RegionFromEnvironment(MapEnvironment({{"AWS_REGION", "us east"}})).ok());
}

}  // namespace
}  // namespace headcount::aws
