#include "cluster/shared_tick.h"

#include <gtest/gtest.h>

#include "core/testing/time.h"

namespace headcount {
namespace {

using testing::At;

TEST(SharedTickTest, TheFollowersGetTheLeadersReport) {
  TickReport report;
  report.bucket = std::chrono::floor<std::chrono::seconds>(At("2026-12-07T17:00:00Z"));
  report.seen = 2;
  report.stored = 2;
  report.published = 1;
  report.failed.push_back({"b", "publish", "quota \"x\""});
  report.duration = std::chrono::microseconds(1234);
  Summary a{
      "a", report.bucket, std::chrono::seconds(60), {1, std::nullopt, 3, 4, 5}, Trend::kRising};
  Summary b{"b", report.bucket, std::chrono::seconds(60), {}, Trend::kUnknown};
  report.summaries = {a, b};

  const Result<TickReport> back = DecodeSharedTick(EncodeSharedTick(report));
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(back->bucket, report.bucket);
  EXPECT_EQ(back->seen, 2u);
  EXPECT_EQ(back->stored, 2u);
  EXPECT_EQ(back->published, 1u);
  ASSERT_EQ(back->failed.size(), 1u);
  EXPECT_EQ(back->failed[0].reason, "quota \"x\"");
  EXPECT_EQ(back->duration, report.duration);
  ASSERT_EQ(back->summaries.size(), 2u);
  EXPECT_EQ(back->summaries[0], a);
  EXPECT_EQ(back->summaries[1], b);
}

TEST(SharedTickTest, GarbageIsAnErrorNotACrash) {
  for (
      const char* bad :
      {"", "{}", "[1]", R"({"bucket":"x"})",
       R"({"bucket":1,"seen":0,"stored":0,"published":0,"skipped":[],"failed":[],"duration_us":0,"summaries":[["a","nope"]]})"}) {
    const Result<TickReport> r = DecodeSharedTick(bad);
    EXPECT_FALSE(r.ok()) << bad;
  }
}

}  // namespace
}  // namespace headcount
