// ChannelDirectory: what a source knows about its channels besides their
// counts (an Amazon IVS channel's name and playback URL), for the API and
// the dashboard. Implementations say whether they are thread-safe.
#pragma once

#include <optional>
#include <span>
#include <string>

#include "core/clock.h"
#include "core/result.h"
#include "core/samples.h"

namespace headcount {

struct ChannelDetails {
  std::string name;          // as the source names it; may be empty
  std::string playback_url;  // an http(s) HLS playlist URL; may be empty

  friend bool operator==(const ChannelDetails&, const ChannelDetails&) = default;
};

class ChannelDirectory {
 public:
  virtual ~ChannelDirectory() = default;
  ChannelDirectory() = default;
  ChannelDirectory(const ChannelDirectory&) = delete;
  ChannelDirectory& operator=(const ChannelDirectory&) = delete;

  // Learns about (some of) `channels` before `deadline`, within its own
  // limits on calls; an error leaves what it knew.
  virtual Status Refresh(std::span<const ChannelId> channels, WallTime deadline) = 0;
  // What it knows of `channel`, if anything.
  virtual std::optional<ChannelDetails> Find(const ChannelId& channel) const = 0;
};

}  // namespace headcount
