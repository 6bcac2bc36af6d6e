// The values that flow through a tick: what a Source read, what a Store keeps,
// and the per-channel summary a Publisher sends. Plain value types.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/trend.h"

namespace headcount {

using ChannelId = std::string;

// The longest channel id headcount accepts anywhere (URL, folder, API, store).
inline constexpr std::size_t kMaxChannelIdBytes = 64;

// A channel id is 1 to kMaxChannelIdBytes of [A-Za-z0-9_-]: safe as a folder
// name, in a URL path, a metric label and a log line, with no escaping.
constexpr bool IsValidChannelId(std::string_view id) {
  if (id.empty() || id.size() > kMaxChannelIdBytes) return false;
  for (const char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

// How many buckets a summary (and the timed-metadata payload) carries.
inline constexpr int kWindowBuckets = 5;

// One live channel as a Source saw it. `viewers` is empty when the source
// could not tell (e.g. IVS answered -1): that minute is then a gap.
struct ChannelReading {
  ChannelId channel;
  std::optional<std::int64_t> viewers;
};

// One stored count: the viewers of `channel` during the bucket starting at `bucket`.
struct Sample {
  ChannelId channel;
  Seconds bucket;
  std::int64_t viewers = 0;

  friend bool operator==(const Sample&, const Sample&) = default;
};

// What a Publisher sends for one channel: the last kWindowBuckets buckets,
// oldest first, ending with the bucket that starts at `at`; empty = no sample.
struct Summary {
  ChannelId channel;
  Seconds at;
  std::chrono::seconds bucket_length{60};
  std::array<std::optional<std::int64_t>, kWindowBuckets> counts;
  Trend trend = Trend::kUnknown;

  friend bool operator==(const Summary&, const Summary&) = default;
};

}  // namespace headcount
