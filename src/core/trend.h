// The trend rule, written once: is a channel's audience rising, falling or
// steady over the window? Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace headcount {

enum class Trend { kUnknown, kRising, kFalling, kSteady };

// The rule (docs/metadata.md, and web/payload.js, say the same):
//  - fewer than kTrendMinSamples buckets with a count -> unknown;
//  - otherwise fit a least-squares line through (bucket index, count) of the
//    buckets that have a count; slope s is in viewers per bucket;
//  - threshold t = max(kTrendMinSlope, kTrendRelativeSlope * mean count);
//  - s >= t -> rising, s <= -t -> falling, else steady.
inline constexpr int kTrendMinSamples = 3;
inline constexpr double kTrendMinSlope = 0.5;
inline constexpr double kTrendRelativeSlope = 0.05;

// `counts` is oldest first; an empty element is a missing bucket.
Trend ComputeTrend(std::span<const std::optional<std::int64_t>> counts);

// "rising", "falling", "steady", "unknown".
std::string_view TrendName(Trend trend);

}  // namespace headcount
