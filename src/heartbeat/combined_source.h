// The count of `serve` with the built-in origin: its viewer sessions and
// its heartbeat viewers, combined so that each viewer is counted once per
// tick (docs/heartbeats.md). Thread-safe as its parts are.
#pragma once

#include <vector>

#include "core/tick.h"
#include "heartbeat/heartbeat_viewers.h"

namespace headcount {

// Polls `sessions` (the origin: which channels are live, and the sessions
// of each) and counts each live channel as the larger of its sessions and
// its heartbeat viewers. The larger, not the sum: a player that fetches
// media through the origin and also sends heartbeats (headcount.js on a
// page playing the origin's stream) is in both sets, and nothing ties its
// session to its token (a CDN between them, or a player that hides its
// URLs), so a sum would count it twice. With --count heartbeats no session
// exists (playlists carry no ids) and the count is the heartbeats'.
// Heartbeats for a channel that is not live count nothing.
class CombinedSource final : public Source {
 public:
  // Both must outlive this.
  CombinedSource(Source& sessions, HeartbeatViewers& heartbeats)
      : sessions_(sessions), heartbeats_(heartbeats) {}

  Result<std::vector<ChannelReading>> Poll(WallTime now, const Deadline& deadline) override;

 private:
  Source& sessions_;
  HeartbeatViewers& heartbeats_;
};

}  // namespace headcount
