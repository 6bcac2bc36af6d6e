// Audience summaries: per channel and period (an hour or a day, UTC), the
// peak concurrent viewers and when it was first reached, the average over
// the minutes the channel was live, viewer-minutes, and live minutes, from
// the stored per-bucket counts. A bucket with no stored count (the channel
// was off the air, or the source could not tell) counts toward none of them.
// Pure functions; thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "core/samples.h"

namespace headcount {

enum class AudiencePeriod { kHour, kDay };

// "hour" or "day".
std::optional<AudiencePeriod> ParseAudiencePeriod(std::string_view text);
std::string_view AudiencePeriodName(AudiencePeriod period);
std::chrono::seconds AudiencePeriodLength(AudiencePeriod period);

struct AudienceSummary {
  Seconds start;                // the period's start (UTC hour or day)
  std::int64_t peak = 0;        // the most viewers of one bucket
  Seconds peak_at;              // the first bucket with `peak`
  std::int64_t viewer_sum = 0;  // viewers summed over the stored buckets
  std::int64_t buckets = 0;     // stored buckets (live, with a count)

  // Mean concurrent viewers over the live buckets.
  double Average() const {
    return buckets == 0 ? 0.0 : static_cast<double>(viewer_sum) / static_cast<double>(buckets);
  }
  // Viewer-minutes and live minutes for buckets of `bucket_length`.
  double ViewerMinutes(std::chrono::seconds bucket_length) const;
  double LiveMinutes(std::chrono::seconds bucket_length) const;

  friend bool operator==(const AudienceSummary&, const AudienceSummary&) = default;
};

// The summaries of `samples` (one channel's, any order) by `period`, oldest
// period first; periods with no sample are left out.
std::vector<AudienceSummary> SummarizeAudience(std::span<const Sample> samples,
                                               AudiencePeriod period);

// The summaries of several periods as one (start: the first's).
AudienceSummary CombineAudience(std::span<const AudienceSummary> periods);

}  // namespace headcount
