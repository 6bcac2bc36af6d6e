// IvsChannelDirectory: the name and playback URL of Amazon IVS channels,
// from BatchGetChannel, for the API and the dashboard (which links each IVS
// channel to its player). At most one call per Refresh (a tick), for at most
// 50 channels: those never looked up first, then those looked up longest
// ago, each at most once an hour. Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>

#include "aws/aws_client.h"
#include "core/channel_directory.h"
#include "core/clock.h"

namespace headcount {

class IvsChannelDirectory final : public ChannelDirectory {
 public:
  // A channel's details are looked up again after this long.
  static constexpr std::chrono::hours kRefreshAfter{1};
  // BatchGetChannel's limit on ARNs per call.
  static constexpr std::size_t kMaxArnsPerCall = 50;
  // Longest name (the IVS model's) and playback URL taken from an answer.
  static constexpr std::size_t kMaxNameLength = 128;
  static constexpr std::size_t kMaxPlaybackUrlLength = 2048;

  // `client` (IVS) and `clock` must outlive the directory.
  IvsChannelDirectory(aws::AwsClient& client, const Clock& clock)
      : client_(client), clock_(clock) {}

  // One BatchGetChannel for the channels of `channels` (IVS channel ARNs;
  // other ids are skipped) that are due, if any. The answer is checked: a
  // channel not asked for, a name or URL of the wrong shape is dropped and
  // logged; an ARN the answer lists as an error is remembered as having no
  // details (until it is due again). Errors: the call's (nothing learned).
  Status Refresh(std::span<const ChannelId> channels, WallTime deadline) override;
  std::optional<ChannelDetails> Find(const ChannelId& channel) const override;

 private:
  struct Entry {
    WallTime looked_up;
    std::optional<ChannelDetails> details;  // none: IVS does not know it
  };

  aws::AwsClient& client_;
  const Clock& clock_;
  mutable std::mutex mu_;
  std::unordered_map<ChannelId, Entry> entries_;  // guarded by mu_
};

}  // namespace headcount
