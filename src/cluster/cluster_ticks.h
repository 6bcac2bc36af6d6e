// The tick of a node of a cluster: the node that takes the bucket's lease
// runs the pipeline (counting from the shared viewers, storing once) and
// shares its report; the others wait for that report and publish its
// payloads themselves, so every node's playlists, segments, API and event
// stream carry the same tick. Without Redis the node ticks alone (degraded).
// Not reentrant: serve's SerialTicks runs one tick at a time.
#pragma once

#include <chrono>
#include <functional>
#include <optional>

#include "cluster/cluster_health.h"
#include "cluster/tick_lease.h"
#include "core/clock.h"
#include "core/scheduler.h"
#include "core/tick.h"

namespace headcount {

// How often a node waiting for another's tick looks for its report: the
// followers publish a tick's payload within this of the leader.
inline constexpr std::chrono::milliseconds kFollowPollInterval{200};

// The tick lease's TTL bounds: a fifth of the interval within them. The
// holder renews it every third of the TTL (in real time: Redis expires it in
// real time), so a holder that dies frees it within one TTL, early enough in
// the bucket for another node to run it.
inline constexpr std::chrono::milliseconds kMinLeaseTtl{1000};
inline constexpr std::chrono::milliseconds kMaxLeaseTtl{10'000};

struct ClusterTicksOptions {
  std::chrono::seconds interval{60};
  std::chrono::milliseconds follow_poll = kFollowPollInterval;
  // Renew the lease while a tick runs (off in tests whose clock is fake).
  bool renew = true;
};

// The lease's TTL for ticks of `interval`.
std::chrono::milliseconds LeaseTtl(std::chrono::seconds interval);

class ClusterTicks {
 public:
  // The pipeline's tick on this node (RunPipelineTick), until `deadline`.
  using RunLocal = std::function<TickReport(WallTime now, WallTime deadline)>;
  // Publishes a tick another node ran (its summaries' payloads into this
  // node's playlists and segments).
  using Follow = std::function<void(const TickReport&)>;
  // Forgets what this node remembers of the buckets it wrote (the window
  // cache): called before a tick whose previous bucket this node did not
  // run under the lease, since another node (or this one, degraded) may
  // have written it.
  using Forget = std::function<void()>;

  // Everything must outlive this. `waiter` paces the wait for another
  // node's tick; stopping it (serve's shutdown) ends the wait.
  ClusterTicks(TickLease& lease, ClusterHealth& health, const Clock& clock, Waiter& waiter,
               ClusterTicksOptions options, RunLocal run, Follow follow, Forget forget);

  // The tick of the bucket that holds `now`, to be done by `deadline`:
  //  - the lease is this node's: RunLocal, then the report is shared;
  //  - another node completed the bucket (or a later one): its report,
  //    handed to Follow first;
  //  - another node holds the lease: waits (polling) for its report, and
  //    takes the lease itself if it is freed before the deadline with the
  //    bucket not done (the holder died: its lease expires within
  //    LeaseTtl); nullopt at the deadline, or when
  //    the bucket completed but its report is gone (Redis restarted):
  //    nothing to show for this bucket;
  //  - Redis does not answer: RunLocal (the count is this node's own) and
  //    health says degraded.
  std::optional<TickReport> Run(WallTime now, WallTime deadline);

 private:
  TickReport Lead(Seconds bucket, WallTime now, WallTime deadline);
  TickReport Alone(WallTime now, WallTime deadline, const Error& why);

  TickLease& lease_;
  ClusterHealth& health_;
  const Clock& clock_;
  Waiter& waiter_;
  const ClusterTicksOptions options_;
  const RunLocal run_;
  const Follow follow_;
  const Forget forget_;

  // The last bucket this node ran under the lease and shared, if the tick
  // after it has not gone elsewhere since. Only Run touches it.
  std::optional<Seconds> led_;
  std::uint64_t led_spells_ = 0;  // health_.spells() when led_ was set
};

}  // namespace headcount
