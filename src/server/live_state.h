// LiveState: the latest tick as the HTTP API shows it: per channel the newest
// Summary and when it came, and the last tick's numbers. Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/channel_directory.h"
#include "core/clock.h"
#include "core/samples.h"
#include "core/tick.h"

namespace headcount {

// One channel as last seen by a tick.
struct LiveChannel {
  Summary summary;    // the newest summary of this channel
  WallTime updated;   // when that summary was recorded (LiveState's clock)
  bool live = false;  // true if the channel was in the last tick
  // What the source's directory knew of it at the last tick (IVS: its name
  // and playback URL), if anything.
  std::optional<ChannelDetails> details;
};

// The numbers of the last tick (TickReport without its notes and summaries).
struct LastTick {
  WallTime at;  // when it was recorded (LiveState's clock)
  Seconds bucket;
  std::size_t seen = 0;
  std::size_t stored = 0;
  std::size_t published = 0;
  std::size_t skipped = 0;
  std::size_t failed = 0;
  std::chrono::microseconds duration{0};
  bool ok = true;
};

struct LiveSnapshot {
  std::optional<LastTick> last_tick;  // empty before the first Update
  std::vector<LiveChannel> channels;  // sorted by channel id
};

class LiveState {
 public:
  // A channel that has not been in a tick for this long is forgotten (the
  // history API still finds it in the store).
  static constexpr std::chrono::hours kOfflineRetention{24};

  // Stamps each Update with the system clock.
  LiveState();
  // `clock` stamps each Update; it must outlive this object.
  explicit LiveState(const Clock& clock) : clock_(clock) {}
  LiveState(const LiveState&) = delete;
  LiveState& operator=(const LiveState&) = delete;

  // Records `report`: its summaries become the channels' newest, those
  // channels live; channels it does not mention are kept, marked not live
  // (for up to kOfflineRetention). Each channel's details are what
  // `directory` (if any) knows of it now.
  void Update(const TickReport& report, const ChannelDirectory* directory = nullptr);

  // A copy of the current state.
  LiveSnapshot Snapshot() const;

  // True if `channel` was in any tick since this process started.
  bool Knows(const ChannelId& channel) const;

 private:
  const Clock& clock_;

  // Guarded by mu_.
  mutable std::mutex mu_;
  std::optional<LastTick> last_tick_;
  std::vector<LiveChannel> channels_;  // sorted by summary.channel
};

}  // namespace headcount
