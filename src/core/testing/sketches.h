// Distinct viewers' sketches of numbered viewers, for tests of the stores
// that keep them. Pure functions.
#pragma once

#include <cstdint>

#include "core/hyperloglog.h"

namespace headcount::testing {

// A sketch of the viewers numbered first..last, their numbers spread over
// 64 bits (MurmurHash3's finalizer) as the viewer keys' hash spreads them.
inline HyperLogLog ViewerSketch(std::uint64_t first, std::uint64_t last) {
  HyperLogLog hll;
  for (std::uint64_t i = first; i <= last; ++i) {
    std::uint64_t x = i;
    x ^= x >> 33;
    x *= 0xFF51AFD7ED558CCDULL;
    x ^= x >> 33;
    x *= 0xC4CEB9FE1A85EC53ULL;
    x ^= x >> 33;
    hll.Add(x);
  }
  return hll;
}

}  // namespace headcount::testing
