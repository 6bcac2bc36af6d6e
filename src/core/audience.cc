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

double AudienceSummary::ViewerMinutes(std::chrono::seconds bucket_length) const {
  return static_cast<double>(viewer_sum) * static_cast<double>(bucket_length.count()) / 60.0;
}

double AudienceSummary::LiveMinutes(std::chrono::seconds bucket_length) const {
  return static_cast<double>(buckets) * static_cast<double>(bucket_length.count()) / 60.0;
}

std::vector<AudienceSummary> SummarizeAudience(std::span<const Sample> samples,
                                               AudiencePeriod period) {
  const std::chrono::seconds length = AudiencePeriodLength(period);
  std::map<Seconds, AudienceSummary> by_start;
  for (const Sample& s : samples) {
    const Seconds start{std::chrono::floor<std::chrono::seconds>(s.bucket.time_since_epoch()) /
                        length * length};
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
    total.viewer_sum += a.viewer_sum;
    total.buckets += a.buckets;
  }
  return total;
}

}  // namespace headcount
