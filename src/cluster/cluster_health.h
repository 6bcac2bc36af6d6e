// Whether this node reaches the cluster's Redis: /healthz says "degraded"
// while it does not, and the log says when that starts and ends (once
// each, not once per failed call). Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "core/result.h"

namespace headcount {

class ClusterHealth {
 public:
  ClusterHealth() = default;
  ClusterHealth(const ClusterHealth&) = delete;
  ClusterHealth& operator=(const ClusterHealth&) = delete;

  // Records the outcome of a call to Redis. The first failure after a
  // success is logged (warning: the node counts its own viewers meanwhile),
  // and the first success after a failure (info: shared counting resumes).
  // Returns true when this call ended a degraded spell (the caller may have
  // state to forget: see ClusterTicks).
  bool Record(const Status& status);

  // Why the node is degraded now (the last error), or nullopt when it is not.
  std::optional<std::string> degraded() const;
  // Degraded spells begun since start: a caller that sees it change knows
  // one came (however short) since it last looked.
  std::uint64_t spells() const;

 private:
  mutable std::mutex mu_;
  // Guarded by mu_.
  std::optional<std::string> degraded_;
  std::uint64_t spells_ = 0;
};

}  // namespace headcount
