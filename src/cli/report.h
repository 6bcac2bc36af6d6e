// `headcount report`'s output: channels' audience summaries
// (core/audience.h) per period, as an aligned table for people, CSV for
// spreadsheets, or JSON whose entries are the summary API's documents
// (server/api.h AudienceJson). Pure functions, thread-safe.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/audience.h"
#include "core/samples.h"

namespace headcount {

enum class ReportFormat { kTable, kCsv, kJson };

// "table", "csv" or "json".
std::optional<ReportFormat> ParseReportFormat(std::string_view text);

struct ChannelAudience {
  ChannelId channel;
  std::vector<AudienceSummary> periods;  // oldest first, as HistoryReader::Audience gives them
};

struct Report {
  Seconds from;
  Seconds to;
  AudiencePeriod by = AudiencePeriod::kDay;
  std::chrono::seconds bucket_length{60};
  std::vector<ChannelAudience> channels;
};

// Table: a header, one row per channel and period (start as "2026-12-07"
// by day, "2026-12-07 10:00" by hour, UTC), then one "total" row per channel
// over the whole range; a channel with no period gets one row of dashes,
// and distinct viewers not known (no sketch stored) are a dash.
// CSV: "channel,start,peak,peak_at,average,viewer_minutes,live_minutes,
// distinct_viewers", one row per channel and period, RFC 3339 times, no
// totals; distinct viewers not known are an empty field.
// JSON: {"from","to","by","channels":[AudienceJson of each channel]}.
std::string FormatReport(const Report& report, ReportFormat format);

}  // namespace headcount
