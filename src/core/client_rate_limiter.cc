// ClientRateLimiter: a bucket per client, dropped when full and room is short.
#include "core/client_rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <iterator>

namespace headcount {

ClientRateLimiter::ClientRateLimiter(double rate, double burst, std::size_t max_clients)
    : rate_(rate),
      burst_(std::max(burst, 1.0)),
      max_clients_(std::max<std::size_t>(max_clients, 1)) {}

bool ClientRateLimiter::TryTake(std::string_view client, WallTime now) {
  if (client.empty()) return true;
  std::lock_guard lock(mu_);
  auto it = buckets_.find(std::string(client));
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_clients_) {
      // A sweep, but only once per max_clients new clients at most: it
      // leaves room for all of those it drops.
      for (auto it = buckets_.begin(); it != buckets_.end();) {
        it = it->second.Full(now) ? buckets_.erase(it) : std::next(it);
      }
      if (buckets_.size() >= max_clients_) buckets_.clear();
    }
    it = buckets_.try_emplace(std::string(client), rate_, burst_).first;
  }
  return it->second.TryTake(now);
}

std::chrono::seconds ClientRateLimiter::RetryAfter() const {
  return std::chrono::seconds(
      std::max<long long>(1, static_cast<long long>(std::ceil(1.0 / std::max(rate_, 1e-3)))));
}

}  // namespace headcount
