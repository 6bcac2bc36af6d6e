// LiveState (see live_state.h). Thread-safe: everything under mu_.
#include "server/live_state.h"

#include <algorithm>
#include <map>

namespace headcount {
namespace {

const SystemClock& TheSystemClock() {
  static const SystemClock kClock;  // made once, thread-safely
  return kClock;
}

}  // namespace

LiveState::LiveState() : clock_(TheSystemClock()) {}

void LiveState::Update(const TickReport& report, const ChannelDirectory* directory) {
  const WallTime now = clock_.Now();
  LastTick tick;
  tick.at = now;
  tick.bucket = report.bucket;
  tick.seen = report.seen;
  tick.stored = report.stored;
  tick.published = report.published;
  tick.skipped = report.skipped.size();
  tick.failed = report.failed.size();
  tick.duration = report.duration;
  tick.ok = report.ok();

  std::lock_guard lock(mu_);
  std::map<ChannelId, LiveChannel> merged;
  for (LiveChannel& channel : channels_) {
    if (now - channel.updated > kOfflineRetention) continue;
    channel.live = false;
    merged.emplace(channel.summary.channel, std::move(channel));
  }
  for (const Summary& summary : report.summaries) {
    merged.insert_or_assign(summary.channel, LiveChannel{summary, now, true, std::nullopt});
  }
  channels_.clear();
  channels_.reserve(merged.size());
  for (auto& [id, channel] : merged) {
    channel.details = directory ? directory->Find(id) : std::nullopt;
    channels_.push_back(std::move(channel));
  }
  last_tick_ = tick;
}

LiveSnapshot LiveState::Snapshot() const {
  std::lock_guard lock(mu_);
  return LiveSnapshot{last_tick_, channels_};
}

bool LiveState::Knows(const ChannelId& channel) const {
  std::lock_guard lock(mu_);
  return std::ranges::binary_search(
      channels_, channel, {},
      [](const LiveChannel& c) -> const ChannelId& { return c.summary.channel; });
}

}  // namespace headcount
