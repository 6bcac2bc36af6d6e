#include "cluster/cluster_health.h"

#include <spdlog/spdlog.h>

namespace headcount {

bool ClusterHealth::Record(const Status& status) {
  std::lock_guard lock(mu_);
  if (!status.ok()) {
    if (!degraded_) {
      // Redis errors name the host and port, never the password.
      spdlog::warn(
          "cluster: degraded, counting this node's viewers only until Redis answers again: {}",
          status.error().ToString());
      ++spells_;
    }
    degraded_ = status.error().ToString();
    return false;
  }
  if (!degraded_) return false;
  degraded_.reset();
  spdlog::info("cluster: Redis answers again; shared counting resumes");
  return true;
}

std::optional<std::string> ClusterHealth::degraded() const {
  std::lock_guard lock(mu_);
  return degraded_;
}

}  // namespace headcount

namespace headcount {

std::uint64_t ClusterHealth::spells() const {
  std::lock_guard lock(mu_);
  return spells_;
}

}  // namespace headcount
