// IvsPublisher: sends each channel's summary into its stream as Amazon IVS
// timed metadata (PutMetadata), paced under the account and per-channel
// quotas, backing off when IVS throttles. Thread-safe: the pacing state is
// guarded by mu_; AwsClient is thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "aws/aws_client.h"
#include "core/clock.h"
#include "core/retry.h"
#include "core/tick.h"
#include "core/token_bucket.h"
#include "ivs/ivs_options.h"

namespace headcount {

// The per-channel bucket holds one token: calls to one channel are spaced
// evenly at 1/channel_tps (a tick sends one per channel anyway). The
// account bucket holds IvsOptions::burst, by default nine tenths of one
// second's quota (kDefaultBurstShare): a tick of up to 139 channels goes
// out at once, a bigger one is paced at account_tps after that. IVS (like
// the emulator) enforces a bucket of one second's quota refilled at the
// quota; the tenth kept back absorbs latency jitter.
inline constexpr double kChannelBucketCapacity = 1.0;
// Adaptive backoff of the account rate (AIMD): a ThrottlingException (or
// HTTP 429) answer halves the rate in force, never below
// min(account_tps, kMinBackoffTps) and drops the burst saved up in the
// bucket; each call accepted afterwards adds
// account_tps / kBackoffRecoveryCalls, up to account_tps. Calls booked
// before a halving do not halve it again (they met the same congestion).
inline constexpr double kMinBackoffTps = 1.0;
inline constexpr double kBackoffRecoveryCalls = 100.0;
// A call that starts just before the tick's deadline still gets this long
// for its attempt (the deadline stops new work, not work in flight).
inline constexpr std::chrono::milliseconds kMinPublishCallTime{2000};
// Idle per-channel buckets are forgotten once this many are kept.
inline constexpr std::size_t kMaxChannelBuckets = 65536;

// Reasons given in Skipped outcomes (the quota one is a prefix).
inline constexpr std::string_view kNotBroadcastingReason = "channel not broadcasting";
inline constexpr std::string_view kQuotaReasonPrefix = "PutMetadata quota: ";
inline constexpr std::string_view kThrottledReasonPrefix = "PutMetadata throttled: ";

class IvsPublisher final : public Publisher {
 public:
  // `client` talks to IVS and must outlive this. `options` must pass
  // ValidateIvsOptions. `clock` and `sleep` pace the calls (tests pass a
  // FakeClock and a sleep that advances it).
  IvsPublisher(aws::AwsClient& client, const Clock& clock, IvsOptions options,
               SleepFunction sleep = RealSleep());

  // PutMetadata {channelArn: summary.channel, metadata} where metadata is
  // `payload` (format v1) or EncodePayloadSeed(summary) (format seed), after
  // waiting for a quota slot. Published on success. Skipped (not failed):
  // kNotBroadcastingReason when IVS answers ChannelNotBroadcasting (the
  // channel went offline), kThrottledReasonPrefix when IVS still throttles
  // after AwsClient's retries. Failed: kInvalidArgument for a channel that
  // is not an IVS channel ARN or metadata over kMaxPayloadBytes (nothing is
  // sent); otherwise the AwsClient error, whose message names the AWS code.
  Result<PublishOutcome> Publish(const Summary& summary, const std::string& payload) override;

  // Publishes the items on up to options.publish_concurrency threads, each
  // call booked on the account bucket (options.burst at once, then
  // account_rate() a second) and its channel's bucket (options.channel_tps). Items go in
  // channel-ARN order, starting after the last channel started by the previous call, so the
  // channels a quota leaves out change from tick to tick. With a deadline,
  // an item whose slot would fall at or after it is
  // Skipped(kQuotaReasonPrefix + which limit), and one not started when it
  // passes is Skipped(kDeadlineReason); without one, every item waits for
  // its slot. Outcomes as for Publish, in the items' order.
  std::vector<Result<PublishOutcome>> PublishAll(std::span<const PublishItem> items,
                                                 const Deadline& deadline) override;

  // The account rate in force: options.account_tps, or less while backing
  // off after throttling (see kMinBackoffTps). 0 = unlimited.
  double account_rate() const;

 private:
  // A booked send time, or why there is none before the deadline.
  struct Slot {
    std::optional<WallTime> at;
    std::string quota_reason;
    std::uint64_t rate_generation = 0;  // rate_generation_ when booked
  };

  // Books the next slot of the account and of `channel`, unless it would
  // fall at or after `deadline` (then nothing is booked).
  Slot Reserve(const ChannelId& channel, const std::optional<WallTime>& deadline);
  // Waits for a slot, then sends. *started tells whether a call was made.
  Result<PublishOutcome> PublishPaced(const Summary& summary, const std::string& payload,
                                      const Deadline& deadline, bool* started);
  // One PutMetadata call and the classification of its answer; adapts the
  // account rate to it (AdaptRate).
  Result<PublishOutcome> Send(const Summary& summary, const std::string& metadata,
                              const Deadline& deadline, std::uint64_t rate_generation);
  // After a call booked at `rate_generation`: halves the account rate if
  // it was throttled (at any attempt) and no halving happened since it was
  // booked; otherwise, if accepted, recovers a step.
  void AdaptRate(bool throttled, bool accepted, std::uint64_t rate_generation);
  // Item indices in channel order, rotated to start after cursor_.
  std::vector<std::size_t> RotatedOrder(std::span<const PublishItem> items);
  // Forgets channel buckets that are full. Requires mu_ held.
  void PruneChannelBuckets(WallTime now);

  aws::AwsClient& client_;
  const Clock& clock_;
  const IvsOptions options_;
  const SleepFunction sleep_;

  mutable std::mutex mu_;
  // Guarded by mu_.
  TokenBucket account_bucket_;
  double account_rate_;                // what account_bucket_ refills at
  std::uint64_t rate_generation_ = 0;  // halvings so far
  std::unordered_map<ChannelId, TokenBucket> channel_buckets_;
  ChannelId cursor_;  // the last channel the previous PublishAll started
};

}  // namespace headcount
