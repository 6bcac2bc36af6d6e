// A rate limit per client (a peer address): one TokenBucket each, in a
// bounded map. Thread-safe (one mutex).
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.h"
#include "core/token_bucket.h"

namespace headcount {

// Clients whose buckets one limiter keeps by default.
inline constexpr std::size_t kDefaultMaxRateLimitedClients = 100'000;

class ClientRateLimiter {
 public:
  // Each client may take `burst` (>= 1) at once, then `rate` per second
  // (> 0). At most `max_clients` buckets are kept: when a new client would
  // pass that, the buckets that are full again (they would start full
  // anyway) are dropped, and if that is not enough, every bucket is: the
  // limiter forgets, and lets a burst through, rather than grow or refuse
  // clients it has no room for.
  ClientRateLimiter(double rate, double burst,
                    std::size_t max_clients = kDefaultMaxRateLimitedClients);
  ClientRateLimiter(const ClientRateLimiter&) = delete;
  ClientRateLimiter& operator=(const ClientRateLimiter&) = delete;

  // Takes one from `client`'s bucket at `now`: true when there was one,
  // false (nothing taken) when the client is over its rate. An empty client
  // is not limited.
  bool TryTake(std::string_view client, WallTime now);

  // The time one token takes to refill, for a Retry-After.
  std::chrono::seconds RetryAfter() const;

 private:
  const double rate_;
  const double burst_;
  const std::size_t max_clients_;

  // Guarded by mu_.
  std::mutex mu_;
  std::unordered_map<std::string, TokenBucket> buckets_;
};

}  // namespace headcount
