// The count of a cluster's tick: the live channels and this node's counts
// from the local source (the origin and its heartbeat viewers), each count
// then replaced by the cluster's (SharedViewers). When Redis does not
// answer, the local counts stand and health says degraded. Thread-safe as
// its parts are.
#pragma once

#include <vector>

#include "cluster/cluster_health.h"
#include "cluster/shared_viewers.h"
#include "core/tick.h"

namespace headcount {

class ClusterSource final : public Source {
 public:
  // All must outlive this.
  ClusterSource(Source& local, SharedViewers& shared, ClusterHealth& health)
      : local_(local), shared_(shared), health_(health) {}

  // The local source's channels; a channel's count is the cluster's when
  // Redis answers, else the local one (a channel the local source could not
  // count stays uncounted either way).
  Result<std::vector<ChannelReading>> Poll(WallTime now, const Deadline& deadline) override;

 private:
  Source& local_;
  SharedViewers& shared_;
  ClusterHealth& health_;
};

}  // namespace headcount
