// ClientRateLimiter: a bucket per client, dropped when full and room is short.
#include "core/client_rate_limiter.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <iterator>
#include <random>
#include <string>

#include "core/token_bucket.h"

namespace headcount {
namespace {

// splitmix64's finalizer: every input bit moves every output bit.
std::uint64_t Mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

ClientRateLimiter::Key ClientRateLimiter::KeyOf(std::string_view client) {
  Key key{};
  char text[INET6_ADDRSTRLEN] = {};
  if (client.size() < sizeof text) {
    std::memcpy(text, client.data(), client.size());
    if (inet_pton(AF_INET6, text, key.data()) == 1) return key;
    in_addr v4{};
    if (inet_pton(AF_INET, text, &v4) == 1) {
      key[10] = 0xff;
      key[11] = 0xff;
      std::memcpy(key.data() + 12, &v4, sizeof v4);
      return key;
    }
  }
  // Not an address (tests, or a proxy's odd hop): its hash and length, with
  // a first byte no IPv6 address in use has (ff00::/8 is multicast).
  const std::uint64_t hash = std::hash<std::string_view>{}(client);
  const std::uint64_t size = client.size();
  std::memcpy(key.data(), &hash, sizeof hash);
  std::memcpy(key.data() + 8, &size, sizeof size);
  key[0] = 0xff;
  key[1] = 0x00;
  return key;
}

std::size_t ClientRateLimiter::KeyHash::operator()(const Key& key) const noexcept {
  std::uint64_t high = 0;
  std::uint64_t low = 0;
  std::memcpy(&high, key.data(), sizeof high);
  std::memcpy(&low, key.data() + 8, sizeof low);
  return static_cast<std::size_t>(Mix(Mix(high ^ seed) ^ low));
}

ClientRateLimiter::ClientRateLimiter(double rate, double burst, std::size_t max_clients)
    : rate_(rate),
      burst_(std::max(burst, 1.0)),
      max_clients_(std::max<std::size_t>(max_clients, 1)),
      buckets_(0, KeyHash{std::random_device{}() * 0x100000001ULL ^ std::random_device{}()}) {}

bool ClientRateLimiter::TryTake(std::string_view client, WallTime now) {
  if (client.empty() || rate_ <= 0) return true;
  const Key key = KeyOf(client);
  std::lock_guard lock(mu_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_clients_) {
      // A sweep, but only once per max_clients new clients at most: it
      // leaves room for all of those it drops.
      for (auto b = buckets_.begin(); b != buckets_.end();) {
        const Level& level = b->second;
        const double tokens = now > level.updated
                                  ? RefilledTokens(level.tokens, rate_, burst_, now - level.updated)
                                  : level.tokens;
        b = tokens >= burst_ ? buckets_.erase(b) : std::next(b);
      }
      if (buckets_.size() >= max_clients_) buckets_.clear();
    }
    it = buckets_.try_emplace(key, Level{burst_, now}).first;
  }
  Level& level = it->second;
  if (now > level.updated) {
    level.tokens = RefilledTokens(level.tokens, rate_, burst_, now - level.updated);
    level.updated = now;
  }
  if (level.tokens < 1.0 - kTokenEpsilon) return false;
  level.tokens -= 1.0;
  return true;
}

std::chrono::seconds ClientRateLimiter::RetryAfter() const {
  return std::chrono::seconds(
      std::max<long long>(1, static_cast<long long>(std::ceil(1.0 / std::max(rate_, 1e-3)))));
}

}  // namespace headcount
