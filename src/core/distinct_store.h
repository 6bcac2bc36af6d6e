// Where the distinct viewers' sketches are kept: one HyperLogLog
// (core/hyperloglog.h) per channel, UTC hour and viewer table, merged into
// what is stored, so the sketches of several nodes and of one node written
// again merge to the same. Implementations say whether they are thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/hyperloglog.h"
#include "core/result.h"
#include "core/samples.h"

namespace headcount {

// The distinct viewers of `channel` in one UTC hour, as one viewer table
// counted them (origin sessions, heartbeat tokens or CMCD sids:
// origin/viewer_sink.h's ViewerSink::Kind). The tables are kept apart as a
// count keeps them: one viewer may be in two of them under two keys.
struct HourSketch {
  ChannelId channel;
  Seconds hour;            // the hour's start
  std::uint8_t table = 0;  // ViewerSink::Kind
  HyperLogLog sketch;

  friend bool operator==(const HourSketch&, const HourSketch&) = default;
};

class DistinctStore {
 public:
  virtual ~DistinctStore() = default;
  DistinctStore() = default;
  DistinctStore(const DistinctStore&) = delete;
  DistinctStore& operator=(const DistinctStore&) = delete;

  // Merges each of `sketches` into the stored sketch of its channel, hour
  // and table (stores it when there is none), all or none of them. Merging
  // a sketch again changes nothing.
  virtual Status MergeSketches(std::span<const HourSketch> sketches) = 0;
  // The stored sketches of `channel` with from <= hour <= to, oldest first.
  // A stored sketch that cannot be read is an error (kIo).
  virtual Result<std::vector<HourSketch>> Sketches(const ChannelId& channel, Seconds from,
                                                   Seconds to) = 0;
};

}  // namespace headcount
