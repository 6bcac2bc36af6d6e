#include "core/clock.h"

#include <cassert>

namespace headcount {

Seconds BucketStart(WallTime t, std::chrono::seconds length) {
  assert(length.count() > 0);
  const auto secs = std::chrono::floor<std::chrono::seconds>(t).time_since_epoch().count();
  const auto len = length.count();
  // Floor division, also right before the epoch.
  auto q = secs / len;
  if (secs % len != 0 && secs < 0) --q;
  return Seconds{std::chrono::seconds{q * len}};
}

}  // namespace headcount
