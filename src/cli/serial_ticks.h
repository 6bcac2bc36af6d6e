// serve's ticks: one at a time, scheduled or asked for, each handed to the
// live state, the event streams, the metrics and the log. On a cluster
// (cluster.redis) a tick is the lease holder's, run here or followed from
// another node (cluster/cluster_ticks.h), so every node pushes the same tick.
// Thread-safe.
#pragma once

#include <chrono>
#include <mutex>

#include "cli/pipeline.h"
#include "cluster/cluster_ticks.h"
#include "core/tick.h"
#include "server/event_feed.h"
#include "server/live_state.h"
#include "server/metrics.h"

namespace headcount {

// Logs one tick's report: a line, and its first failures.
void LogTick(const TickReport& report);

class SerialTicks {
 public:
  // All must outlive this; `cluster` is null for a node alone.
  SerialTicks(Pipeline& parts, TickRunner& runner, LiveState& live, EventFeed& events,
              Metrics& metrics, std::chrono::seconds interval, ClusterTicks* cluster = nullptr)
      : parts_(parts),
        runner_(runner),
        live_(live),
        events_(events),
        metrics_(metrics),
        interval_(interval),
        cluster_(cluster) {}

  // The tick of the bucket holding `now`: run here (or, on a cluster,
  // followed), then recorded. On a cluster with nothing to show for the
  // bucket (ClusterTicks::Run's nullopt) an empty report of the bucket,
  // and the live state and event streams keep the tick before.
  TickReport Run(WallTime now);

 private:
  // What the API shows besides counts (IVS channel names and playback
  // URLs): at most one lookup per tick, within the tick's deadline.
  void RefreshDirectory(const TickReport& report, WallTime deadline);

  Pipeline& parts_;
  TickRunner& runner_;
  LiveState& live_;
  EventFeed& events_;
  Metrics& metrics_;
  const std::chrono::seconds interval_;
  ClusterTicks* const cluster_;
  std::mutex mu_;  // held for a whole tick
};

}  // namespace headcount
