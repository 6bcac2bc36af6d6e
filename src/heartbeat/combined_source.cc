#include "heartbeat/combined_source.h"

#include <algorithm>

namespace headcount {

Result<std::vector<ChannelReading>> CombinedSource::Poll(WallTime now, const Deadline& deadline) {
  Result<std::vector<ChannelReading>> readings = sessions_.Poll(now, deadline);
  if (!readings.ok()) return readings;
  const std::map<ChannelId, std::int64_t> beating = heartbeats_.CountActive(now);
  if (beating.empty()) return readings;
  for (ChannelReading& reading : *readings) {
    const auto it = beating.find(reading.channel);
    if (it == beating.end()) continue;
    reading.viewers = std::max(reading.viewers.value_or(0), it->second);
  }
  return readings;
}

}  // namespace headcount
