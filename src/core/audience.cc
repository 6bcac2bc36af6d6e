#include "core/audience.h"

#include <algorithm>
#include <map>

namespace headcount {

std::optional<AudiencePeriod> ParseAudiencePeriod(std::string_view text) {
  if (text == "hour") return AudiencePeriod::kHour;
  if (text == "day") return AudiencePeriod::kDay;
  return std::nullopt;
}

std::string_view AudiencePeriodName(AudiencePeriod period) {
  return period == AudiencePeriod::kHour ? "hour" : "day";
}

std::chrono::seconds AudiencePeriodLength(AudiencePeriod period) {
  return period == AudiencePeriod::kHour ? std::chrono::seconds(std::chrono::hours(1))
                                         : std::chrono::seconds(std::chrono::days(1));
}

std::optional<std::int64_t> AudienceSummary::DistinctViewers() const {
  std::optional<std::int64_t> most;
  for (const auto& [table, sketch] : distinct) most = std::max(most.value_or(0), sketch.Estimate());
  return most;
}

double AudienceSummary::ViewerMinutes(std::chrono::seconds bucket_length) const {
  return static_cast<double>(viewer_sum) * static_cast<double>(bucket_length.count()) / 60.0;
}

double AudienceSummary::LiveMinutes(std::chrono::seconds bucket_length) const {
  return static_cast<double>(buckets) * static_cast<double>(bucket_length.count()) / 60.0;
}

namespace {

Seconds PeriodStart(Seconds t, AudiencePeriod period) {
  const std::chrono::seconds length = AudiencePeriodLength(period);
  return Seconds{std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()) / length * length};
}

void MergeDistinct(std::map<std::uint8_t, HyperLogLog>& into,
                   const std::map<std::uint8_t, HyperLogLog>& from) {
  for (const auto& [table, sketch] : from) into[table].Merge(sketch);
}

}  // namespace

void AddDistinct(std::vector<AudienceSummary>& periods, std::span<const HourSketch> sketches,
                 AudiencePeriod period) {
  for (const HourSketch& s : sketches) {
    const Seconds start = PeriodStart(s.hour, period);
    const auto it =
        std::lower_bound(periods.begin(), periods.end(), start,
                         [](const AudienceSummary& a, Seconds t) { return a.start < t; });
    if (it != periods.end() && it->start == start) it->distinct[s.table].Merge(s.sketch);
  }
}

std::vector<AudienceSummary> SummarizeAudience(std::span<const Sample> samples,
                                               AudiencePeriod period) {
  std::map<Seconds, AudienceSummary> by_start;
  for (const Sample& s : samples) {
    const Seconds start = PeriodStart(s.bucket, period);
    auto [it, inserted] = by_start.try_emplace(start);
    AudienceSummary& a = it->second;
    if (inserted) a.start = start;
    if (a.buckets == 0 || s.viewers > a.peak || (s.viewers == a.peak && s.bucket < a.peak_at)) {
      a.peak = s.viewers;
      a.peak_at = s.bucket;
    }
    a.viewer_sum += s.viewers;
    ++a.buckets;
  }
  std::vector<AudienceSummary> out;
  out.reserve(by_start.size());
  for (auto& [start, a] : by_start) out.push_back(a);
  return out;
}

AudienceSummary CombineAudience(std::span<const AudienceSummary> periods) {
  AudienceSummary total;
  for (const AudienceSummary& a : periods) {
    if (a.buckets == 0) continue;
    if (total.buckets == 0) total.start = a.start;
    if (total.buckets == 0 || a.peak > total.peak ||
        (a.peak == total.peak && a.peak_at < total.peak_at)) {
      total.peak = a.peak;
      total.peak_at = a.peak_at;
    }
    MergeDistinct(total.distinct, a.distinct);
    total.viewer_sum += a.viewer_sum;
    total.buckets += a.buckets;
  }
  return total;
}

}  // namespace headcount
