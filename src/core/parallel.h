// Runs independent calls on a few threads: how adapters that talk to remote
// services (IVS, DynamoDB) keep many slow requests in flight in one tick.
// ParallelFor itself is thread-safe; `fn` must be safe to call concurrently.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

namespace headcount {

// Calls fn(i) for every i in [0, n), on up to `concurrency` threads (the
// calling thread is one of them), and returns when all calls have returned.
// Indices are handed out in increasing order. `fn` must not throw.
template <typename Fn>
void ParallelFor(std::size_t n, std::size_t concurrency, const Fn& fn) {
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i = next++; i < n; i = next++) fn(i);
  };
  const std::size_t threads = std::min(std::max<std::size_t>(concurrency, 1), n);
  std::vector<std::jthread> pool;
  pool.reserve(threads > 0 ? threads - 1 : 0);
  for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
}

}  // namespace headcount
