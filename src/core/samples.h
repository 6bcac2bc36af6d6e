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

// The longest channel ARN the IVS model allows.
inline constexpr std::size_t kMaxChannelArnBytes = 128;

// The AWS partitions an IVS channel ARN may name: the commercial regions,
// China and GovCloud (US). infra/lib/config.ts accepts the same ones.
constexpr bool IsAwsPartition(std::string_view partition) {
  return partition == "aws" || partition == "aws-cn" || partition == "aws-us-gov";
}

// Whether `arn` has the shape of an IVS channel ARN,
// arn:<partition>:ivs:<region>:<account>:channel/<id> (the model's pattern,
// with IsAwsPartition), at most kMaxChannelArnBytes. The one rule for the
// configuration, the API, `headcount history` and the IVS adapters; the CDK
// app (infra/lib/config.ts) checks the same, against the same cases
// (tests/data/ivs-channel-arns.json). Such ids hold ':' and '/': a URL
// carries them percent-encoded as one path segment.
constexpr bool IsIvsChannelArn(std::string_view arn) {
  if (arn.size() > kMaxChannelArnBytes) return false;
  const auto all_of = [](std::string_view s, auto ok) {
    if (s.empty()) return false;
    for (const char c : s) {
      if (!ok(c)) return false;
    }
    return true;
  };
  const auto lower_digit_dash = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  };
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  const auto id_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
  };
  // arn : partition : ivs : region : account : channel/<id>
  std::string_view parts[6];
  std::string_view rest = arn;
  for (int i = 0; i < 5; ++i) {
    const std::size_t colon = rest.find(':');
    if (colon == std::string_view::npos) return false;
    parts[i] = rest.substr(0, colon);
    rest.remove_prefix(colon + 1);
  }
  parts[5] = rest;
  constexpr std::string_view kResourcePrefix = "channel/";
  return parts[0] == "arn" && IsAwsPartition(parts[1]) && parts[2] == "ivs" &&
         all_of(parts[3], lower_digit_dash) && all_of(parts[4], digit) &&
         parts[5].starts_with(kResourcePrefix) &&
         all_of(parts[5].substr(kResourcePrefix.size()), id_char);
}

// A channel id as the API, the pages and `headcount history` accept it: an
// origin channel id or an IVS channel ARN.
constexpr bool IsChannelIdOrArn(std::string_view id) {
  return IsValidChannelId(id) || IsIvsChannelArn(id);
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
