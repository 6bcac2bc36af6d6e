#include "core/payload.h"

#include <gtest/gtest.h>

#include <limits>
#include <nlohmann/json.hpp>

#include "core/time_text.h"

namespace headcount {
namespace {

Summary Example() {
  Summary s;
  s.channel = "demo";
  s.at = std::chrono::floor<std::chrono::seconds>(*ParseRfc3339("2026-11-25T12:03:00Z"));
  s.bucket_length = std::chrono::seconds{60};
  s.counts = {120, 134, std::nullopt, 161, 170};
  s.trend = Trend::kRising;
  return s;
}

TEST(PayloadV1Test, EncodesTheDocumentedExample) {
  EXPECT_EQ(
      EncodePayloadV1(Example()),
      R"({"v":1,"at":"2026-11-25T12:03:00Z","i":60,"m":[120,134,null,161,170],"trend":"rising"})");
}

TEST(PayloadV1Test, IsValidJsonWithOldestFirstAndNullGaps) {
  const auto j = nlohmann::json::parse(EncodePayloadV1(Example()));
  EXPECT_EQ(j["v"], 1);
  EXPECT_EQ(j["m"].size(), 5u);
  EXPECT_EQ(j["m"][0], 120);
  EXPECT_TRUE(j["m"][2].is_null());
  EXPECT_EQ(j["m"][4], 170);
}

TEST(PayloadV1Test, LargestPossiblePayloadStaysUnderOneKilobyte) {
  Summary s = Example();
  // The latest instant a WallTime holds; "at" has a fixed width anyway.
  s.at = std::chrono::floor<std::chrono::seconds>(*ParseRfc3339("2262-01-01T00:00:00Z"));
  s.bucket_length = std::chrono::seconds{86400};
  s.counts.fill(std::numeric_limits<std::int64_t>::max());
  s.trend = Trend::kFalling;
  const std::string payload = EncodePayloadV1(s);
  EXPECT_LE(payload.size(), kMaxPayloadBytes);
  EXPECT_LT(payload.size(), 200u) << payload;
  auto decoded = DecodePayloadV1(payload);
  ASSERT_TRUE(decoded.ok()) << decoded.error().ToString();
  EXPECT_EQ(decoded->counts, s.counts);
}

TEST(PayloadSeedTest, NewestFirstWithEmptyGaps) {
  EXPECT_EQ(EncodePayloadSeed(Example()), "170,161,,134,120");
  Summary s = Example();
  s.counts = {std::nullopt, std::nullopt, std::nullopt, std::nullopt, 7};
  EXPECT_EQ(EncodePayloadSeed(s), "7,,,,");
}

TEST(PayloadV1Test, RoundTrips) {
  for (const Trend t : {Trend::kRising, Trend::kFalling, Trend::kSteady, Trend::kUnknown}) {
    Summary s = Example();
    s.trend = t;
    auto decoded = DecodePayloadV1(EncodePayloadV1(s));
    ASSERT_TRUE(decoded.ok()) << decoded.error().ToString();
    s.channel.clear();
    EXPECT_EQ(*decoded, s);
  }
}

TEST(PayloadV1Test, DecodeRejectsMalformedPayloads) {
  for (const char* bad : {
           "",
           "[]",
           "not json",
           R"({"v":2,"at":"2026-11-25T12:03:00Z","i":60,"m":[1,2,3,4,5],"trend":"rising"})",
           R"({"v":1,"at":"yesterday","i":60,"m":[1,2,3,4,5],"trend":"rising"})",
           R"({"v":1,"at":"2026-11-25T12:03:00Z","i":0,"m":[1,2,3,4,5],"trend":"rising"})",
           R"({"v":1,"at":"2026-11-25T12:03:00Z","i":60,"m":[1,2,3,4],"trend":"rising"})",
           R"({"v":1,"at":"2026-11-25T12:03:00Z","i":60,"m":[1,2,3,4,-5],"trend":"rising"})",
           R"({"v":1,"at":"2026-11-25T12:03:00Z","i":60,"m":[1,2,3,4,"5"],"trend":"rising"})",
           R"({"v":1,"at":"2026-11-25T12:03:00Z","i":60,"m":[1,2,3,4,1e3],"trend":"rising"})",
           R"({"v":1,"at":"2026-11-25T12:03:00Z","i":60,"m":[1,2,3,4,5],"trend":"hot"})",
           R"({"v":1,"at":"2026-11-25T12:03:00Z","i":60,"m":[1,2,3,4,5],"trend":"rising","x":1})",
       }) {
    EXPECT_FALSE(DecodePayloadV1(bad).ok()) << bad;
  }
  EXPECT_FALSE(DecodePayloadV1(std::string(kMaxPayloadBytes + 1, ' ')).ok());
}

}  // namespace
}  // namespace headcount
