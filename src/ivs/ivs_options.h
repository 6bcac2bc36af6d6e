// Settings of the Amazon IVS adapters (IvsSource, IvsPublisher) in one plain
// struct with documented defaults, and the checks on it. Value types; pure
// functions, thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "core/result.h"
#include "core/samples.h"  // IsIvsChannelArn, kMaxChannelArnBytes

namespace headcount {

// ListStreams / ListChannels page size: the API's maximum.
inline constexpr int kIvsListPageSize = 100;
// Pages one Poll follows before giving up (100,000 streams; far above any
// account's channel quota). Guards against a server that never stops paging.
inline constexpr int kDefaultMaxListPages = 1000;
// The whole of one Poll (every page, the GetStream retries, ListChannels).
inline constexpr std::chrono::milliseconds kDefaultPollTimeout{30000};
// GetStream calls one Poll may spend re-reading channels that said -1.
inline constexpr int kDefaultMaxUnknownRetries = 10;
// A viewer count above this is treated as garbage, not as a reading.
inline constexpr std::int64_t kMaxPlausibleViewers = 100'000'000;
// IVS PutMetadata default quotas (requests per second).
inline constexpr double kDefaultAccountTps = 155.0;
inline constexpr double kDefaultChannelTps = 5.0;
inline constexpr double kMaxTps = 1'000'000.0;
// The smallest burst: one call at a time, evenly spaced at 1/rate.
inline constexpr double kMinBurst = 1.0;
// The default burst, as a share of one second's quota. IVS (like the
// emulator) refills a bucket of one second's quota and counts a call when
// it handles it; the publisher counts it when it sends. Calls that left
// spread out by latency can be handled closer together, so a burst of the
// whole quota leaves no room for that and gets a few calls throttled; the
// tenth kept back absorbs a tenth of a second of it.
inline constexpr double kDefaultBurstShare = 0.9;
// PutMetadata calls in flight at once in PublishAll.
inline constexpr std::size_t kDefaultPublishConcurrency = 16;
inline constexpr std::size_t kMaxPublishConcurrency = 256;
// Publish has no deadline of its own: this bounds one call and its retries.
inline constexpr std::chrono::milliseconds kDefaultPublishTimeout{30000};
// AWS tag limits: keys 1-128 characters, values 0-256.
inline constexpr std::size_t kMaxTagKeyBytes = 128;
inline constexpr std::size_t kMaxTagValueBytes = 256;

// What goes into PutMetadata's `metadata`.
enum class MetadataFormat {
  kV1,    // the v1 JSON payload (docs/metadata.md)
  kSeed,  // the seed's own: counts newest first, joined by commas
};

// "v1" or "seed".
std::string_view MetadataFormatName(MetadataFormat format);
// Parses "v1" or "seed"; kInvalidArgument naming the valid values otherwise.
Result<MetadataFormat> ParseMetadataFormat(std::string_view text);

struct IvsOptions {
  // AWS region; empty = AWS_REGION, then AWS_DEFAULT_REGION.
  std::string region = {};
  // IVS endpoint URL; empty = AWS_ENDPOINT_URL_IVS, then AWS_ENDPOINT_URL,
  // then https://ivs.<region>.amazonaws.com.
  std::string endpoint = {};

  // --- source ---
  // Channel ARNs to report; empty = every channel of the account.
  std::set<std::string, std::less<>> channels = {};
  // When channel_tag_key is set, only channels whose ListChannels summary
  // has tags[channel_tag_key] == channel_tag_value are reported (and, with
  // `channels`, only those in both).
  std::string channel_tag_key = {};
  std::string channel_tag_value = {};
  // Also report channels that exist but are not live, with 0 viewers
  // (ListChannels), as the seed did.
  bool include_offline = false;
  // GetStream calls per Poll spent re-reading channels whose viewerCount
  // was -1 ("not available yet"); 0 = none, they are reported as unknown.
  int max_unknown_retries = kDefaultMaxUnknownRetries;
  std::chrono::milliseconds poll_timeout = kDefaultPollTimeout;
  int max_list_pages = kDefaultMaxListPages;

  // --- publisher ---
  MetadataFormat metadata_format = MetadataFormat::kV1;
  // PutMetadata quotas to stay under; 0 = unlimited.
  double account_tps = kDefaultAccountTps;
  double channel_tps = kDefaultChannelTps;
  // PutMetadata calls the account bucket lets through at once before the
  // pacing at account_tps starts (the bucket's capacity); nullopt =
  // DefaultBurst(account_tps). kMinBurst to kMaxTps. The per-channel bucket
  // has no burst.
  std::optional<double> burst = std::nullopt;
  std::size_t publish_concurrency = kDefaultPublishConcurrency;
  std::chrono::milliseconds publish_timeout = kDefaultPublishTimeout;
};

// The burst when IvsOptions::burst is unset: kDefaultBurstShare of one
// second's quota (139.5 of 155), at least kMinBurst.
double DefaultBurst(double account_tps);

// OK, or kInvalidArgument naming the first bad field: a channel that is not
// an IVS channel ARN, a tag value without a key or over the tag limits, a TPS negative, not finite
// or above kMaxTps, a burst outside [kMinBurst, kMaxTps], a concurrency outside [1,
// kMaxPublishConcurrency], non-positive timeouts or page limit, negative retries.
Status ValidateIvsOptions(const IvsOptions& options);

}  // namespace headcount
