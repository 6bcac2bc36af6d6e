#include "core/time_text.h"

#include <gtest/gtest.h>

namespace headcount {
namespace {

using std::chrono::milliseconds;

TEST(Rfc3339Test, FormatsWholeSecondsInUtc) {
  EXPECT_EQ(FormatRfc3339(Seconds{std::chrono::seconds{0}}), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(Seconds{std::chrono::seconds{1795608180}}), "2026-11-25T12:03:00Z");
}

TEST(Rfc3339Test, FormatsMilliseconds) {
  const WallTime t = WallTime{std::chrono::seconds{1795608180}} + milliseconds{250};
  EXPECT_EQ(FormatRfc3339Millis(t), "2026-11-25T12:03:00.250Z");
}

TEST(Rfc3339Test, AcceptsEveryOffsetFormFfmpegAndOthersWrite) {
  const WallTime want = WallTime{std::chrono::seconds{1795608181}} + milliseconds{123};
  for (const char* text :
       {"2026-11-25T12:03:01.123Z", "2026-11-25T12:03:01.123+0000", "2026-11-25T12:03:01.123+00:00",
        "2026-11-25T13:03:01.123+01:00", "2026-11-25T13:03:01.123+0100",
        "2026-11-25T07:03:01.123-0500", "2026-11-25T12:03:01.123+00"}) {
    auto parsed = ParseRfc3339(text);
    ASSERT_TRUE(parsed.ok()) << text;
    EXPECT_EQ(*parsed, want) << text;
  }
}

TEST(Rfc3339Test, RejectsMalformedInput) {
  for (const char* text :
       {"", "2026-11-25", "2026-11-25 12:03:01Z", "2026-13-25T12:03:01Z", "2026-02-30T12:03:01Z",
        "2026-11-25T24:03:01Z", "2026-11-25T12:03:01", "2026-11-25T12:03:01.Z",
        "2026-11-25T12:03:01+2500", "2026-11-25T12:03:01Zjunk", "2026-11-25T12:03:01+00:0",
        "9999-12-31T23:59:59Z", "1500-01-01T00:00:00Z"}) {
    EXPECT_FALSE(ParseRfc3339(text).ok()) << text;
  }
}

TEST(DurationTest, ParsesUnitsAndSums) {
  EXPECT_EQ(*ParseDuration("5s"), milliseconds{5000});
  EXPECT_EQ(*ParseDuration("250ms"), milliseconds{250});
  EXPECT_EQ(*ParseDuration("1m"), milliseconds{60'000});
  EXPECT_EQ(*ParseDuration("1h30m"), milliseconds{5'400'000});
  EXPECT_EQ(*ParseDuration("30d"), milliseconds{2'592'000'000});
}

TEST(DurationTest, RejectsWithAReason) {
  for (const char* text : {"", "5", "s", "5x", "-5s", "5 s", "1.5h", "99999999999999999999d"}) {
    auto parsed = ParseDuration(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_NE(parsed.error().message().find("not a duration"), std::string::npos);
  }
}

TEST(DurationTest, FormatReadsBack) {
  for (const auto ms : {milliseconds{0}, milliseconds{5000}, milliseconds{90'000},
                        milliseconds{2'592'000'000}, milliseconds{1500}}) {
    EXPECT_EQ(*ParseDuration(FormatDuration(ms)), ms) << FormatDuration(ms);
  }
  EXPECT_EQ(FormatDuration(milliseconds{90'000}), "1m30s");
}

}  // namespace
}  // namespace headcount
