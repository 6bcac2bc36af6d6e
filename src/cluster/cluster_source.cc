#include "cluster/cluster_source.h"

namespace headcount {

Result<std::vector<ChannelReading>> ClusterSource::Poll(WallTime now, const Deadline& deadline) {
  Result<std::vector<ChannelReading>> readings = local_.Poll(now, deadline);
  if (!readings.ok() || readings->empty()) return readings;
  std::vector<ChannelId> channels;
  channels.reserve(readings->size());
  for (const ChannelReading& r : *readings) channels.push_back(r.channel);
  const Result<std::map<ChannelId, std::int64_t>> shared = shared_.Count(channels, now);
  (void)health_.Record(shared.ok() ? Status() : Status(shared.error()));
  if (!shared.ok()) return readings;  // degraded: this node's own count
  for (ChannelReading& r : *readings) {
    if (!r.viewers) continue;
    const auto it = shared->find(r.channel);
    if (it != shared->end()) r.viewers = it->second;
  }
  return readings;
}

}  // namespace headcount
