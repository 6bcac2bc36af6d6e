// A rate limit per client (a peer address): a token bucket each, in a
// bounded map. Thread-safe (one mutex).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string_view>
#include <unordered_map>

#include "core/clock.h"

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

  double rate() const { return rate_; }

  // A client as the map keys it: an IP address's 16 bytes (IPv4 as
  // IPv4-mapped IPv6, so "10.0.0.1" and "::ffff:10.0.0.1" are one client),
  // or for anything else a hash of the text with its length. Public for tests.
  using Key = std::array<unsigned char, 16>;
  static Key KeyOf(std::string_view client);

 private:
  // A client's bucket: its level and when that was last brought up to date
  // (rate and burst are the limiter's), 16 bytes; a map node is 40, where
  // a string key and a whole TokenBucket made it 88.
  struct Level {
    double tokens;
    WallTime updated;
  };
  // Keyed (a seed per limiter), so that no client can choose addresses
  // that collide in the map.
  struct KeyHash {
    std::uint64_t seed;
    std::size_t operator()(const Key& key) const noexcept;
  };

  const double rate_;
  const double burst_;
  const std::size_t max_clients_;

  // Guarded by mu_.
  std::mutex mu_;
  std::unordered_map<Key, Level, KeyHash> buckets_;
};

}  // namespace headcount
