#include "origin/distinct_viewers.h"

#include <chrono>
#include <cstring>
#include <utility>
#include <vector>

namespace headcount {
namespace {

// MurmurHash3's 64-bit finalizer: every input bit flips each output bit
// with probability about 1/2.
std::uint64_t Mix(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xFF51AFD7ED558CCDULL;
  x ^= x >> 33;
  x *= 0xC4CEB9FE1A85EC53ULL;
  x ^= x >> 33;
  return x;
}

}  // namespace

std::uint64_t HashViewerKey(const SessionTable::Key& key) {
  static_assert(SessionTable::kKeyBytes % 8 == 0);
  std::uint64_t hash = 0;
  for (std::size_t i = 0; i < key.size(); i += 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, key.data() + i, 8);
    hash = Mix(hash ^ word);
  }
  return hash;
}

void DistinctViewers::Seen(Kind kind, std::string_view channel, const SessionTable::Key& key,
                           WallTime now) {
  const Seconds hour = std::chrono::floor<std::chrono::hours>(now);
  const std::uint64_t hash = HashViewerKey(key);
  const auto table = static_cast<std::uint8_t>(kind);
  std::lock_guard lock(mu_);
  // Looked up by the channel as it is: a copy of its name only for a new sketch.
  auto it = pending_.find(SketchKeyView(channel, hour, table));
  if (it == pending_.end()) {
    if (pending_.size() >= max_pending_) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    it = pending_.emplace(SketchKey{std::string(channel), hour, table}, HyperLogLog{}).first;
  }
  it->second.Add(hash);
}

Status DistinctViewers::Flush(DistinctStore& store) {
  Sketches taken;
  {
    std::lock_guard lock(mu_);
    taken.swap(pending_);
  }
  if (taken.empty()) return {};
  std::vector<HourSketch> sketches;
  sketches.reserve(taken.size());
  for (const auto& [at, sketch] : taken) {
    sketches.push_back({std::get<0>(at), std::get<1>(at), std::get<2>(at), sketch});
  }
  Status st = store.MergeSketches(sketches);
  if (st.ok()) return st;
  std::lock_guard lock(mu_);
  for (auto& [at, sketch] : taken) {
    auto it = pending_.find(at);
    if (it != pending_.end()) {
      it->second.Merge(sketch);
    } else if (pending_.size() < max_pending_) {
      pending_.emplace(at, std::move(sketch));
    } else {
      dropped_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  return st;
}

std::size_t DistinctViewers::pending() const {
  std::lock_guard lock(mu_);
  return pending_.size();
}

}  // namespace headcount
