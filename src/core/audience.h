// Audience summaries: per channel and period (an hour or a day, UTC), the
// peak concurrent viewers and when it was first reached, the average over
// the minutes the channel was live, viewer-minutes, and live minutes, from
// the stored per-bucket counts. A bucket with no stored count (the channel
// was off the air, or the source could not tell) counts toward none of them.
// Where the source knows its viewers (the origin's sessions, heartbeats,
// CMCD), also the distinct viewers, from the hours' sketches
// (core/distinct_store.h). Pure functions; thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "core/distinct_store.h"
#include "core/hyperloglog.h"
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
  // The distinct viewers' sketches of the period's hours, merged, by viewer
  // table (HourSketch::table); empty when none is stored (a source that
  // does not know its viewers, or samples older than the sketches).
  std::map<std::uint8_t, HyperLogLog> distinct;

  // Mean concurrent viewers over the live buckets.
  double Average() const {
    return buckets == 0 ? 0.0 : static_cast<double>(viewer_sum) / static_cast<double>(buckets);
  }
  // The distinct viewers: the largest of the tables' estimates, as a count
  // takes the larger of sessions and heartbeat viewers; nullopt when
  // `distinct` is empty.
  std::optional<std::int64_t> DistinctViewers() const;
  // Viewer-minutes and live minutes for buckets of `bucket_length`.
  double ViewerMinutes(std::chrono::seconds bucket_length) const;
  double LiveMinutes(std::chrono::seconds bucket_length) const;

  friend bool operator==(const AudienceSummary&, const AudienceSummary&) = default;
};

// The summaries of `samples` (one channel's, any order) by `period`, oldest
// period first; periods with no sample are left out.
std::vector<AudienceSummary> SummarizeAudience(std::span<const Sample> samples,
                                               AudiencePeriod period);

// Merges each of `sketches` (one channel's) into the summary of `periods`
// (oldest first, by `period`) that holds its hour; a sketch of an hour in
// no period (no sample) is left out.
void AddDistinct(std::vector<AudienceSummary>& periods, std::span<const HourSketch> sketches,
                 AudiencePeriod period);

// The summaries of several periods as one (start: the first's; the
// distinct viewers' sketches merged, so a viewer of two periods is one).
AudienceSummary CombineAudience(std::span<const AudienceSummary> periods);

}  // namespace headcount
