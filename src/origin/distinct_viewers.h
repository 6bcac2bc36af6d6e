// The distinct viewers the viewer tables count (origin sessions, heartbeat
// tokens, CMCD sids), as a ViewerSink: per channel, UTC hour and table a
// HyperLogLog (core/hyperloglog.h) of the viewers' keys, merged into a
// DistinctStore by Flush. A viewer seen again (a refresh, a return with the
// same id, another node of a cluster: the nodes share the session key) is
// the same key, so it counts once. Thread-safe: Seen takes a lock and
// touches memory only (it is on the request path); Flush writes to the
// store outside the lock, from one thread at a time.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

#include "core/distinct_store.h"
#include "core/result.h"
#include "origin/viewer_sink.h"

namespace headcount {

// Sketches (channel, hour, table) one node holds for its next Flush, at
// most: far more than one tick's; while the store fails, the sketches of
// channels past it are not kept (their viewers' next requests add them).
inline constexpr std::size_t kMaxPendingSketches = 10'000;

// A 64-bit hash of a viewer's key for the sketches. The keys' first bytes
// are already random or a MAC (SessionTable::Key), so no client can steer
// it; all 24 bytes are mixed in anyway, so the hash does not rest on the
// keys' layout.
std::uint64_t HashViewerKey(const SessionTable::Key& key);

class DistinctViewers final : public ViewerSink {
 public:
  explicit DistinctViewers(std::size_t max_pending = kMaxPendingSketches)
      : max_pending_(max_pending) {}

  // Adds `key` to the sketch of `channel`, `kind` and the UTC hour of `now`.
  void Seen(Kind kind, std::string_view channel, const SessionTable::Key& key,
            WallTime now) override;
  // Nothing: a viewer who left was seen all the same.
  void Gone(Kind /*kind*/, std::string_view /*channel*/,
            const SessionTable::Key& /*key*/) override {}

  // Merges the sketches noted since the last Flush into `store` in one
  // call. On failure they are kept for the next Flush (merged with what
  // comes meanwhile; merging is idempotent) and the error is returned.
  Status Flush(DistinctStore& store);

  // Sketches waiting for the next Flush, and what was not kept since start
  // because max_pending sketches were waiting (Seen calls, and sketches of
  // a failed Flush).
  std::size_t pending() const;
  std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  using SketchKey = std::tuple<std::string, Seconds, std::uint8_t>;  // channel, hour, table
  using SketchKeyView = std::tuple<std::string_view, Seconds, std::uint8_t>;
  // Orders SketchKeys and SketchKeyViews alike, so Seen looks a sketch up by
  // the channel's name as it is, without a copy per request.
  struct SketchKeyLess {
    using is_transparent = void;
    static SketchKeyView View(const auto& k) {
      return {std::get<0>(k), std::get<1>(k), std::get<2>(k)};
    }
    bool operator()(const auto& a, const auto& b) const { return View(a) < View(b); }
  };
  using Sketches = std::map<SketchKey, HyperLogLog, SketchKeyLess>;

  const std::size_t max_pending_;
  std::atomic<std::uint64_t> dropped_{0};
  mutable std::mutex mu_;
  Sketches pending_;  // guarded by mu_
};

}  // namespace headcount
