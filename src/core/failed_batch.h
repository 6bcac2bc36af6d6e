// The outcome of a batch call that failed as a whole (RecordOutcome,
// WindowOutcome): every index failed, for one reason. Pure functions;
// thread-safe.
#pragma once

#include <cstddef>
#include <numeric>
#include <vector>

#include "core/result.h"
#include "core/tick.h"

namespace headcount {

// 0, 1, ..., size - 1: every index of a batch of `size` items.
inline std::vector<std::size_t> AllIndices(std::size_t size) {
  std::vector<std::size_t> out(size);
  std::iota(out.begin(), out.end(), std::size_t{0});
  return out;
}

// An Outcome (RecordOutcome or WindowOutcome) in which every one of the
// batch's `size` items failed with `error`, and nothing was written or read.
template <typename Outcome>
Outcome AllFailed(std::size_t size, const Error& error) {
  Outcome outcome;
  outcome.failed = AllIndices(size);
  outcome.error = error;
  return outcome;
}

}  // namespace headcount
