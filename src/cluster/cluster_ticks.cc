#include "cluster/cluster_ticks.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>

#include "cluster/shared_tick.h"
#include "core/time_text.h"

namespace headcount {

std::chrono::milliseconds LeaseTtl(std::chrono::seconds interval) {
  return std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(interval) / 5,
                    kMinLeaseTtl, kMaxLeaseTtl);
}

namespace {

// Renews `lease` every third of `ttl` until destroyed (the tick is over) or
// a renewal says the lease is gone. Real time, not the Clock: the TTL runs
// out in Redis's real time.
class LeaseRenewer {
 public:
  LeaseRenewer(TickLease& lease, std::chrono::milliseconds ttl) : lease_(lease), ttl_(ttl) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~LeaseRenewer() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }
  LeaseRenewer(const LeaseRenewer&) = delete;
  LeaseRenewer& operator=(const LeaseRenewer&) = delete;

 private:
  void Loop() {
    std::unique_lock lock(mu_);
    while (!wake_.wait_for(lock, ttl_ / 3, [this] { return done_; })) {
      lock.unlock();
      const Result<bool> renewed = lease_.Renew(ttl_);
      lock.lock();
      // Lost or unreachable: Complete will tell (it is fenced).
      if (!renewed.ok() || !*renewed) return;
    }
  }

  TickLease& lease_;
  const std::chrono::milliseconds ttl_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool done_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace

ClusterTicks::ClusterTicks(TickLease& lease, ClusterHealth& health, const Clock& clock,
                           Waiter& waiter, ClusterTicksOptions options, RunLocal run, Follow follow,
                           Forget forget)
    : lease_(lease),
      health_(health),
      clock_(clock),
      waiter_(waiter),
      options_(options),
      run_(std::move(run)),
      follow_(std::move(follow)),
      forget_(std::move(forget)) {}

TickReport ClusterTicks::Alone(WallTime now, WallTime deadline, const Error& why) {
  (void)health_.Record(why);
  spdlog::debug("cluster: tick {} runs on this node alone (Redis does not answer)",
                FormatRfc3339(BucketStart(now, options_.interval)));
  // Other nodes may write these buckets too, as may this one's lease later.
  led_.reset();
  forget_();
  return run_(now, deadline);
}

TickReport ClusterTicks::Lead(Seconds bucket, WallTime now, WallTime deadline) {
  // The window cache holds only buckets this node wrote under the lease in
  // a row, with no degraded spell between (when any node may have written).
  const std::uint64_t spells = health_.spells();
  if (!led_ || *led_ + options_.interval != bucket || led_spells_ != spells) forget_();
  led_.reset();
  spdlog::debug("cluster: tick {} runs on this node (it holds the lease)", FormatRfc3339(bucket));
  TickReport report;
  {
    std::optional<LeaseRenewer> renewer;
    if (options_.renew) renewer.emplace(lease_, LeaseTtl(options_.interval));
    report = run_(now, deadline);
  }
  const Result<bool> shared = lease_.Complete(bucket, EncodeSharedTick(report));
  if (!shared.ok()) {
    // Stored, but not shared: the others publish nothing new this bucket.
    (void)health_.Record(shared.error());
  } else if (!*shared) {
    spdlog::warn("cluster: tick {} ran past its lease; its report is not shared",
                 FormatRfc3339(bucket));
  } else {
    led_ = bucket;
    led_spells_ = spells;
  }
  return report;
}

std::optional<TickReport> ClusterTicks::Run(WallTime now, WallTime deadline) {
  const Seconds bucket = BucketStart(now, options_.interval);
  for (;;) {
    const Result<TickLease::Outcome> outcome = lease_.Acquire(bucket, LeaseTtl(options_.interval));
    if (!outcome.ok()) return Alone(now, deadline, outcome.error());
    (void)health_.Record({});
    switch (*outcome) {
      case TickLease::Outcome::kAcquired:
        return Lead(bucket, now, deadline);
      case TickLease::Outcome::kDone: {
        const Result<std::optional<std::string>> shared = lease_.Shared();
        if (!shared.ok()) return Alone(now, deadline, shared.error());
        if (*shared) {
          Result<TickReport> report = DecodeSharedTick(**shared);
          if (report.ok() && report->bucket >= bucket) {
            follow_(*report);
            return std::move(*report);
          }
          if (!report.ok()) spdlog::warn("cluster: {}", report.error().message());
        }
        return std::nullopt;  // done, but its report is gone (Redis restarted)
      }
      case TickLease::Outcome::kHeld:
        break;
    }
    const WallTime next = clock_.Now() + options_.follow_poll;
    if (next >= deadline || !waiter_.WaitUntil(next)) {
      spdlog::warn("cluster: tick {}: another node held the tick lease until the deadline",
                   FormatRfc3339(bucket));
      return std::nullopt;
    }
  }
}

}  // namespace headcount
