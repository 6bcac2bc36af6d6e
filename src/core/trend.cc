#include "core/trend.h"

#include <algorithm>
#include <cstddef>

namespace headcount {

Trend ComputeTrend(std::span<const std::optional<std::int64_t>> counts) {
  double n = 0;
  double sum_x = 0;
  double sum_y = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    if (!counts[i]) continue;
    n += 1;
    sum_x += static_cast<double>(i);
    sum_y += static_cast<double>(*counts[i]);
  }
  if (n < kTrendMinSamples) return Trend::kUnknown;

  const double mean_x = sum_x / n;
  const double mean_y = sum_y / n;
  double sxx = 0;
  double sxy = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    if (!counts[i]) continue;
    const double dx = static_cast<double>(i) - mean_x;
    sxx += dx * dx;
    sxy += dx * (static_cast<double>(*counts[i]) - mean_y);
  }
  const double slope = sxy / sxx;  // sxx > 0: at least 3 distinct indices
  const double threshold = std::max(kTrendMinSlope, kTrendRelativeSlope * mean_y);
  if (slope >= threshold) return Trend::kRising;
  if (slope <= -threshold) return Trend::kFalling;
  return Trend::kSteady;
}

std::string_view TrendName(Trend trend) {
  switch (trend) {
    case Trend::kRising:
      return "rising";
    case Trend::kFalling:
      return "falling";
    case Trend::kSteady:
      return "steady";
    case Trend::kUnknown:
      return "unknown";
  }
  return "unknown";
}

}  // namespace headcount
