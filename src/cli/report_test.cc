// `headcount report`'s three formats, from hand-made summaries: what a
// person reads in the table, what a spreadsheet reads in the CSV, and that
// each JSON entry is the summary API's document.
#include "cli/report.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "core/testing/sketches.h"

namespace headcount {
namespace {

// 2026-12-06T00:00:00Z.
constexpr std::int64_t kReportDay = 1796515200;

Seconds ReportAt(int minute) {
  return Seconds{std::chrono::seconds{kReportDay + std::int64_t{60} * minute}};
}

Report TwoChannels() {
  Report report;
  report.from = ReportAt(0);
  report.to = ReportAt(2 * 24 * 60);
  report.by = AudiencePeriod::kDay;
  // Day 1: peak 30 at 10:31, 120 live minutes summing 1800 viewers; day 2:
  // peak 12 at 00:05, 60 minutes summing 300.
  report.channels = {
      {"demo",
       {{ReportAt(0), 30, ReportAt(10 * 60 + 31), 1800, 120, {}},
        {ReportAt(24 * 60), 12, ReportAt(24 * 60 + 5), 300, 60, {}}}},
      {"quiet", {}},
  };
  // 40 distinct viewers on day 1; none known on day 2 (no sketch stored).
  report.channels[0].periods[0].distinct[0] = testing::ViewerSketch(1, 40);
  return report;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(Report, TableHasAlignedRowsPerPeriodAndATotalPerChannel) {
  const auto lines = Lines(FormatReport(TwoChannels(), ReportFormat::kTable));
  ASSERT_EQ(lines.size(), 5U);
  EXPECT_EQ(lines[0],
            "CHANNEL  PERIOD      PEAK  PEAK AT (UTC)     AVERAGE  VIEWER-MIN  LIVE-MIN  DISTINCT");
  EXPECT_EQ(lines[1],
            "demo     2026-12-06    30  2026-12-06 10:31     15.0      1800.0     120.0        40");
  EXPECT_EQ(lines[2],
            "demo     2026-12-07    12  2026-12-07 00:05      5.0       300.0      60.0         -");
  // The total: the higher peak, the mean over all 180 live minutes, the
  // distinct viewers of both days.
  EXPECT_EQ(lines[3],
            "demo     total         30  2026-12-06 10:31     11.7      2100.0     180.0        40");
  EXPECT_EQ(lines[4],
            "quiet    total          -  -                       -           -         -         -");
}

TEST(Report, HourlyPeriodsShowTheHour) {
  Report report = TwoChannels();
  report.by = AudiencePeriod::kHour;
  report.channels.resize(1);
  report.channels[0].periods.resize(1);
  report.channels[0].periods[0].start = ReportAt(10 * 60);
  const auto lines = Lines(FormatReport(report, ReportFormat::kTable));
  ASSERT_GE(lines.size(), 2U);
  EXPECT_NE(lines[1].find("2026-12-06 10:00"), std::string::npos) << lines[1];
}

TEST(Report, CsvHasOneRowPerChannelAndPeriodWithRfc3339Times) {
  EXPECT_EQ(FormatReport(TwoChannels(), ReportFormat::kCsv),
            "channel,start,peak,peak_at,average,viewer_minutes,live_minutes,distinct_viewers\n"
            "demo,2026-12-06T00:00:00Z,30,2026-12-06T10:31:00Z,15.0,1800.0,120.0,40\n"
            "demo,2026-12-07T00:00:00Z,12,2026-12-07T00:05:00Z,5.0,300.0,60.0,\n");
}

TEST(Report, JsonEntriesAreTheSummaryApiDocuments) {
  const auto doc = nlohmann::json::parse(FormatReport(TwoChannels(), ReportFormat::kJson));
  EXPECT_EQ(doc["from"], "2026-12-06T00:00:00Z");
  EXPECT_EQ(doc["by"], "day");
  ASSERT_EQ(doc["channels"].size(), 2U);
  const auto& demo = doc["channels"][0];
  EXPECT_EQ(demo["channel"], "demo");
  ASSERT_EQ(demo["periods"].size(), 2U);
  EXPECT_EQ(demo["periods"][0]["peak_at"], "2026-12-06T10:31:00Z");
  EXPECT_EQ(demo["total"]["peak"], 30);
  EXPECT_DOUBLE_EQ(demo["total"]["viewer_minutes"].get<double>(), 2100.0);
  EXPECT_EQ(demo["periods"][0]["distinct_viewers"], 40);
  EXPECT_TRUE(demo["periods"][1]["distinct_viewers"].is_null()) << "not known: null";
  EXPECT_EQ(demo["total"]["distinct_viewers"], 40);
  EXPECT_TRUE(doc["channels"][1]["periods"].empty());
}

TEST(Report, FormatsByName) {
  EXPECT_EQ(ParseReportFormat("table"), ReportFormat::kTable);
  EXPECT_EQ(ParseReportFormat("csv"), ReportFormat::kCsv);
  EXPECT_EQ(ParseReportFormat("json"), ReportFormat::kJson);
  EXPECT_FALSE(ParseReportFormat("xml").has_value());
}

}  // namespace
}  // namespace headcount
