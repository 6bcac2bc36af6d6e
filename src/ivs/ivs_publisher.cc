// IvsPublisher: quota slots, rotation, PutMetadata, what its answers mean
// and the backoff they drive. Thread-safe (see the header).
#include "ivs/ivs_publisher.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <numeric>
#include <sstream>
#include <utility>

#include "core/parallel.h"
#include "core/payload.h"

namespace headcount {
namespace {

// "155" or "0.5".
std::string FormatTps(double tps) {
  std::ostringstream out;
  out << tps;
  return out.str();
}

bool IsNotBroadcasting(const aws::AwsError& error) {
  // The model's name is ChannelNotBroadcasting; accept the -Exception
  // spelling some documents use.
  return error.code == "ChannelNotBroadcasting" || error.code == "ChannelNotBroadcastingException";
}

bool IsThrottling(const aws::AwsError& error) {
  return error.http_status == 429 || error.code.find("Throttl") != std::string::npos ||
         error.code == "TooManyRequestsException";
}

}  // namespace

IvsPublisher::IvsPublisher(aws::AwsClient& client, const Clock& clock, IvsOptions options,
                           SleepFunction sleep)
    : client_(client),
      clock_(clock),
      options_(std::move(options)),
      sleep_(std::move(sleep)),
      account_bucket_(options_.account_tps,
                      options_.burst.value_or(DefaultBurst(options_.account_tps))),
      account_rate_(options_.account_tps) {}

double IvsPublisher::account_rate() const {
  std::lock_guard lock(mu_);
  return account_rate_;
}

void IvsPublisher::AdaptRate(bool throttled, bool accepted, std::uint64_t rate_generation) {
  const double configured = options_.account_tps;
  if (configured <= 0) return;  // unlimited: nothing to back off from
  std::lock_guard lock(mu_);
  double rate = account_rate_;
  if (throttled) {
    if (rate_generation != rate_generation_) return;  // already halved for it
    rate = std::max(std::min(configured, kMinBackoffTps), rate / 2);
    ++rate_generation_;
    // IVS said the account is over its quota: no more burst from what was
    // saved up, only the halved rate.
    account_bucket_.DropSaved(clock_.Now());
    spdlog::warn("ivs: PutMetadata throttled; account rate {} TPS (configured {})", FormatTps(rate),
                 FormatTps(configured));
  } else if (accepted && rate < configured) {
    rate = std::min(configured, rate + configured / kBackoffRecoveryCalls);
  }
  if (rate == account_rate_) return;
  account_rate_ = rate;
  account_bucket_.SetRate(clock_.Now(), rate);
}

void IvsPublisher::PruneChannelBuckets(WallTime now) {
  for (auto it = channel_buckets_.begin(); it != channel_buckets_.end();) {
    it = it->second.Full(now) ? channel_buckets_.erase(it) : std::next(it);
  }
}

IvsPublisher::Slot IvsPublisher::Reserve(const ChannelId& channel,
                                         const std::optional<WallTime>& deadline) {
  std::lock_guard lock(mu_);
  const WallTime now = clock_.Now();
  const WallTime account_at = account_bucket_.NextFree(now);
  TokenBucket* channel_bucket = nullptr;
  WallTime channel_at = now;
  if (options_.channel_tps > 0) {
    if (channel_buckets_.size() >= kMaxChannelBuckets) PruneChannelBuckets(now);
    channel_bucket =
        &channel_buckets_.try_emplace(channel, options_.channel_tps, kChannelBucketCapacity)
             .first->second;
    channel_at = channel_bucket->NextFree(now);
  }
  const WallTime at = std::max(account_at, channel_at);
  if (deadline && at >= *deadline) {
    if (account_at >= channel_at) {
      const std::string backed_off = account_rate_ < options_.account_tps
                                         ? " (" + FormatTps(account_rate_) + " while throttled)"
                                         : std::string();
      return {std::nullopt,
              std::string(kQuotaReasonPrefix) + "account limit of " +
                  FormatTps(options_.account_tps) + " TPS" + backed_off +
                  " leaves no slot before the tick deadline",
              rate_generation_};
    }
    return {std::nullopt,
            std::string(kQuotaReasonPrefix) + "channel limit of " +
                FormatTps(options_.channel_tps) + " TPS leaves no slot before the tick deadline",
            rate_generation_};
  }
  account_bucket_.Take(now);
  if (channel_bucket != nullptr) channel_bucket->Take(now);
  return {at, {}, rate_generation_};
}

Result<PublishOutcome> IvsPublisher::Send(const Summary& summary, const std::string& metadata,
                                          const Deadline& deadline, std::uint64_t rate_generation) {
  // Retries (throttling, 5xx, network) stay inside the tick's deadline, but
  // a call always gets kMinPublishCallTime, and never more than
  // publish_timeout.
  const WallTime now = clock_.Now();
  WallTime call_deadline = now + options_.publish_timeout;
  if (deadline.at()) {
    call_deadline = std::min(call_deadline, std::max(*deadline.at(), now + kMinPublishCallTime));
  }

  aws::AwsError aws_error;
  Result<nlohmann::json> answer =
      client_.Call("PutMetadata", {{"channelArn", summary.channel}, {"metadata", metadata}},
                   call_deadline, &aws_error);
  // aws_error holds the last error answer of any attempt, also when a
  // later attempt was accepted: a throttled attempt counts either way.
  const bool answered = aws_error.http_status != 0;
  AdaptRate(answered && IsThrottling(aws_error), answer.ok(), rate_generation);
  if (answer.ok()) return PublishOutcome::Published();
  if (answered && IsNotBroadcasting(aws_error)) {
    return PublishOutcome::Skipped(std::string(kNotBroadcastingReason));
  }
  if (answered && IsThrottling(aws_error) && answer.error().code() != ErrorCode::kUnavailable) {
    return PublishOutcome::Skipped(std::string(kThrottledReasonPrefix) + answer.error().message());
  }
  return answer.error();
}

Result<PublishOutcome> IvsPublisher::PublishPaced(const Summary& summary,
                                                  const std::string& payload,
                                                  const Deadline& deadline, bool* started) {
  *started = false;
  if (!IsIvsChannelArn(summary.channel)) {
    return Error::InvalidArgument("ivs: channel \"" + summary.channel +
                                  "\" is not an IVS channel ARN");
  }
  std::string metadata =
      options_.metadata_format == MetadataFormat::kSeed ? EncodePayloadSeed(summary) : payload;
  if (metadata.empty() || metadata.size() > kMaxPayloadBytes) {
    return Error::InvalidArgument("ivs: metadata of " + std::to_string(metadata.size()) +
                                  " bytes; PutMetadata takes 1 to " +
                                  std::to_string(kMaxPayloadBytes));
  }
  if (deadline.Expired()) return PublishOutcome::Skipped(std::string(kDeadlineReason));
  Slot slot = Reserve(summary.channel, deadline.at());
  if (!slot.at) return PublishOutcome::Skipped(std::move(slot.quota_reason));
  if (const WallTime now = clock_.Now(); *slot.at > now) sleep_(*slot.at - now);
  if (deadline.Expired()) return PublishOutcome::Skipped(std::string(kDeadlineReason));
  *started = true;
  return Send(summary, metadata, deadline, slot.rate_generation);
}

Result<PublishOutcome> IvsPublisher::Publish(const Summary& summary, const std::string& payload) {
  const Deadline none(clock_, std::nullopt);
  bool started = false;
  return PublishPaced(summary, payload, none, &started);
}

std::vector<std::size_t> IvsPublisher::RotatedOrder(std::span<const PublishItem> items) {
  std::vector<std::size_t> order(items.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return items[a].summary->channel < items[b].summary->channel;
  });
  ChannelId cursor;
  {
    std::lock_guard lock(mu_);
    cursor = cursor_;
  }
  const auto first = std::upper_bound(
      order.begin(), order.end(), cursor,
      [&](const ChannelId& c, std::size_t i) { return c < items[i].summary->channel; });
  std::rotate(order.begin(), first, order.end());
  return order;
}

std::vector<Result<PublishOutcome>> IvsPublisher::PublishAll(std::span<const PublishItem> items,
                                                             const Deadline& deadline) {
  {
    std::lock_guard lock(mu_);
    PruneChannelBuckets(clock_.Now());
  }
  const std::vector<std::size_t> order = RotatedOrder(items);
  std::vector<std::optional<Result<PublishOutcome>>> outcomes(items.size());
  // The furthest position in `order` that made a call, plus one (0: none).
  std::atomic<std::size_t> started_end{0};

  ParallelFor(order.size(), options_.publish_concurrency, [&](std::size_t position) {
    const PublishItem& item = items[order[position]];
    bool started = false;
    try {
      outcomes[order[position]] = PublishPaced(*item.summary, *item.payload, deadline, &started);
    } catch (const std::exception& e) {
      outcomes[order[position]] =
          Error::Internal(std::string("ivs: unexpected exception: ") + e.what());
    } catch (...) {
      outcomes[order[position]] = Error::Internal("ivs: unexpected exception");
    }
    if (started) {
      std::size_t seen = started_end.load();
      while (seen < position + 1 && !started_end.compare_exchange_weak(seen, position + 1)) {
      }
    }
  });

  if (const std::size_t end = started_end.load(); end > 0) {
    std::lock_guard lock(mu_);
    cursor_ = items[order[end - 1]].summary->channel;
  }
  std::vector<Result<PublishOutcome>> out;
  out.reserve(items.size());
  for (auto& outcome : outcomes) {
    out.push_back(outcome ? std::move(*outcome)
                          : Result<PublishOutcome>(Error::Internal("ivs: no outcome")));
  }
  return out;
}

}  // namespace headcount
