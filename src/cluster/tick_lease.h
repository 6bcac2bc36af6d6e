// One tick per interval across a cluster: a lease in Redis, fenced by the
// bucket. Thread-safe (each call is one atomic script in Redis).
//
// Keys: <prefix>tick:lease ("<bucket> <node> <nonce>", with a TTL),
// <prefix>tick:done (the newest bucket whose tick completed) and
// <prefix>tick:shared (that tick's report, cluster/shared_tick.h).
//  - Acquire(bucket) sets the lease (SET NX PX) only when no lease is held
//    and tick:done is older than `bucket`: a completed bucket is never
//    run again, and one node at a time runs one.
//  - Complete(bucket) stores the report and tick:done and drops the lease,
//    in one script, only while this node still holds its lease: a node
//    whose lease expired (it stalled) cannot overwrite a newer tick.
//  - Renew() extends this node's lease while its tick runs (ClusterTicks
//    does so every third of the TTL), so the TTL can be short: a node that
//    dies holding the lease frees it within one TTL, and another node runs
//    the bucket before its deadline.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "cluster/redis_client.h"
#include "core/clock.h"
#include "core/result.h"

namespace headcount {

class TickLease {
 public:
  enum class Outcome {
    kAcquired,  // this node runs the bucket's tick
    kDone,      // the bucket (or a later one) completed: read Shared()
    kHeld,      // another node runs it now
  };

  // `redis` must outlive this. `node` names this node in the lease (for
  // logs and fencing; a nonce makes every acquisition unique).
  TickLease(Redis& redis, const std::string& key_prefix, std::string node);

  // Tries to take the lease for `bucket`, held for `hold` at most.
  Result<Outcome> Acquire(Seconds bucket, std::chrono::milliseconds hold);

  // Extends this node's lease to `ttl` from now. False when the lease is no
  // longer this node's (it expired and another node may hold it).
  Result<bool> Renew(std::chrono::milliseconds ttl);

  // Records `report` as the shared tick of `bucket` and releases the lease.
  // False when the lease was no longer this node's (nothing written).
  Result<bool> Complete(Seconds bucket, std::string_view report);

  // The newest completed tick's report, if any.
  Result<std::optional<std::string>> Shared();

  // Who holds the lease now ("<bucket> <node> <nonce>"), if anyone.
  Result<std::optional<std::string>> Holder();

  const std::string& node() const { return node_; }

 private:
  Redis& redis_;
  const std::string lease_key_;
  const std::string done_key_;
  const std::string shared_key_;
  const std::string node_;

  std::mutex mu_;
  std::string token_;  // guarded by mu_: the value of the lease this node took last
};

}  // namespace headcount
