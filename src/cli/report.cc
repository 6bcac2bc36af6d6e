#include "cli/report.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/time_text.h"
#include "server/api.h"

namespace headcount {
namespace {

using nlohmann::json;

// One decimal: averages and minutes are fractions of whole viewers.
std::string OneDecimal(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", value);
  return text;
}

// "2026-12-07" by day, "2026-12-07 10:00" by hour (UTC).
std::string PeriodText(Seconds start, AudiencePeriod by) {
  const std::string rfc3339 = FormatRfc3339(start);  // 2026-12-07T10:00:00Z
  if (by == AudiencePeriod::kDay) return rfc3339.substr(0, 10);
  return rfc3339.substr(0, 10) + " " + rfc3339.substr(11, 5);
}

// "2026-12-07 10:31" (UTC), the peak's bucket.
std::string MinuteText(Seconds t) { return PeriodText(t, AudiencePeriod::kHour); }

// The distinct viewers, or `unknown` where no sketch is stored.
std::string DistinctText(const AudienceSummary& a, const char* unknown) {
  const std::optional<std::int64_t> distinct = a.DistinctViewers();
  return distinct ? std::to_string(*distinct) : unknown;
}

using Row = std::vector<std::string>;

Row TableRow(const std::string& channel, std::string period, const AudienceSummary& a,
             std::chrono::seconds bucket_length) {
  return {channel,
          std::move(period),
          std::to_string(a.peak),
          MinuteText(a.peak_at),
          OneDecimal(a.Average()),
          OneDecimal(a.ViewerMinutes(bucket_length)),
          OneDecimal(a.LiveMinutes(bucket_length)),
          DistinctText(a, "-")};
}

std::string Table(const Report& report) {
  std::vector<Row> rows = {{"CHANNEL", "PERIOD", "PEAK", "PEAK AT (UTC)", "AVERAGE", "VIEWER-MIN",
                            "LIVE-MIN", "DISTINCT"}};
  for (const ChannelAudience& c : report.channels) {
    if (c.periods.empty()) {
      rows.push_back({c.channel, "total", "-", "-", "-", "-", "-", "-"});
      continue;
    }
    for (const AudienceSummary& a : c.periods) {
      rows.push_back(TableRow(c.channel, PeriodText(a.start, report.by), a, report.bucket_length));
    }
    rows.push_back(TableRow(c.channel, "total", CombineAudience(c.periods), report.bucket_length));
  }
  std::vector<std::size_t> widths(rows.front().size(), 0);
  for (const Row& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const Row& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      // Text columns left-aligned, numbers right-aligned.
      const bool text = i == 0 || i == 1 || i == 3;
      const std::string pad(widths[i] - row[i].size(), ' ');
      if (i > 0) line += "  ";
      line += text ? row[i] + pad : pad + row[i];
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

// RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled.
std::string CsvField(std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(field);
  std::string out = "\"";
  for (const char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string Csv(const Report& report) {
  std::string out =
      "channel,start,peak,peak_at,average,viewer_minutes,live_minutes,distinct_viewers\n";
  for (const ChannelAudience& c : report.channels) {
    for (const AudienceSummary& a : c.periods) {
      out += CsvField(c.channel) + "," + FormatRfc3339(a.start) + "," + std::to_string(a.peak) +
             "," + FormatRfc3339(a.peak_at) + "," + OneDecimal(a.Average()) + "," +
             OneDecimal(a.ViewerMinutes(report.bucket_length)) + "," +
             OneDecimal(a.LiveMinutes(report.bucket_length)) + "," + DistinctText(a, "") + "\n";
    }
  }
  return out;
}

std::string Json(const Report& report) {
  json channels = json::array();
  for (const ChannelAudience& c : report.channels) {
    // The summary API's own text, parsed back: the two can never differ.
    channels.push_back(json::parse(AudienceJson(c.channel, report.from, report.to, report.by,
                                                report.bucket_length, c.periods)));
  }
  const json body = {{"from", FormatRfc3339(report.from)},
                     {"to", FormatRfc3339(report.to)},
                     {"by", std::string(AudiencePeriodName(report.by))},
                     {"channels", std::move(channels)}};
  return body.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace

std::optional<ReportFormat> ParseReportFormat(std::string_view text) {
  if (text == "table") return ReportFormat::kTable;
  if (text == "csv") return ReportFormat::kCsv;
  if (text == "json") return ReportFormat::kJson;
  return std::nullopt;
}

std::string FormatReport(const Report& report, ReportFormat format) {
  switch (format) {
    case ReportFormat::kTable:
      return Table(report);
    case ReportFormat::kCsv:
      return Csv(report);
    case ReportFormat::kJson:
      return Json(report);
  }
  return {};
}

}  // namespace headcount
