// A node of a cluster (cluster.redis): its Redis pool, its shared viewers
// with the thread that flushes them every kViewerFlushInterval, its health
// and its tick lease. Built once by `serve`; thread-safe as its parts are.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "cluster/cluster_health.h"
#include "cluster/redis_client.h"
#include "cluster/shared_viewers.h"
#include "cluster/tick_lease.h"
#include "core/clock.h"
#include "core/result.h"
#include "core/scheduler.h"

namespace headcount {

struct ClusterNodeOptions {
  RedisOptions redis;
  SharedViewersOptions viewers;  // its key_prefix is the cluster's
  // Names this node in the tick lease and the logs (hostname and pid).
  std::string node_name;
};

class ClusterNode {
 public:
  // Starts the flusher. Connects when first needed: a node whose Redis does
  // not answer starts degraded (it counts alone until Redis answers), since
  // media must be served either way.
  static std::unique_ptr<ClusterNode> Start(const ClusterNodeOptions& options);

  // Checks that `session_key` (origin.session_key_file) is the cluster's:
  // every node must have the same, or a viewer moving between nodes would
  // count again (CheckClusterSessionKey). kInvalidArgument on a mismatch;
  // when Redis does not answer, the node is degraded and this succeeds.
  Status CheckSessionKey(const std::string& session_key);
  // Stops the flusher after one last flush.
  ~ClusterNode();
  ClusterNode(const ClusterNode&) = delete;
  ClusterNode& operator=(const ClusterNode&) = delete;

  SharedViewers& viewers() { return viewers_; }
  ClusterHealth& health() { return health_; }
  TickLease& lease() { return lease_; }

 private:
  explicit ClusterNode(const ClusterNodeOptions& options);
  void FlushLoop();

  const std::string key_prefix_;
  RedisPool redis_;
  SharedViewers viewers_;
  ClusterHealth health_;
  TickLease lease_;
  SystemWaiter waiter_;
  std::thread flusher_;
};

// The node name the lease and logs use: "<hostname>:<pid>".
std::string DefaultNodeName();

// Checks that `session_key` is the one the cluster of `key_prefix` uses:
// records its fingerprint (an HMAC of a fixed label, which tells nothing of
// the key) when none is, else compares. kInvalidArgument on a mismatch.
Status CheckClusterSessionKey(Redis& redis, const std::string& key_prefix,
                              const std::string& session_key);

}  // namespace headcount
