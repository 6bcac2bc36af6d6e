// A Store that remembers what it wrote, for the warm runners (`headcount
// lambda`, `headcount serve`): it answers the tick's window read from memory
// when this process wrote every bucket of it. Thread-safe (see WindowCache).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/result.h"
#include "core/samples.h"
#include "core/tick.h"

namespace headcount {

// Wraps `inner`: Record and RecordEach go to `inner`, and the cache keeps,
// for each of the last `buckets` buckets it recorded, which samples are
// stored (RecordEach's `failed` says which are not known to be). WindowEach
// answers a channel from memory, sending nothing, when every bucket start in
// [from, to] is one this process recorded after its first one (a previous
// process may have written the bucket it started in) and the channel's
// sample in each is known: stored, or absent because this process never
// wrote one (a gap). The other channels are read from `inner`, in one call.
//
// Correct only if this process is the only writer of the table or database
// (docs/dynamodb.md: the CDK app deploys one Lambda with reserved
// concurrency 1), every writer uses buckets of `bucket_length`, and Record
// calls do not overlap (a tick runs at a time: serve's tick mutex, the
// Lambda loop). Where other processes write too (the nodes of a cluster,
// cluster/cluster_ticks.h), the caller calls Clear whenever another may
// have written since this one's last Record. Memory is bounded: at most
// `buckets` × channels samples.
//
// Thread-safe: every call may come from any thread (memory is guarded by a
// mutex; `inner` is called without it held).
class WindowCache final : public Store {
 public:
  // `inner` must outlive the cache; `bucket_length` and `buckets` must be
  // positive (kWindowBuckets holds one tick's window).
  WindowCache(Store& inner, std::chrono::seconds bucket_length,
              std::size_t buckets = kWindowBuckets);

  // Records through RecordEach: the inner store's result, and the samples
  // it stored remembered (a failed one is unknown until written again). If
  // `inner` throws, every sample of the batch is unknown and it rethrows.
  Result<std::size_t> Record(std::span<const Sample> samples) override;
  RecordOutcome RecordEach(std::span<const Sample> samples) override;

  // WindowEach, all or nothing: fails with the first error if any channel failed.
  Result<std::vector<Sample>> Window(std::span<const ChannelId> channels, Seconds from,
                                     Seconds to) override;
  // Channels memory can answer get their samples from memory; the others
  // come from inner.WindowEach, whose failures are reported as they are.
  WindowOutcome WindowEach(std::span<const ChannelId> channels, Seconds from, Seconds to) override;

  // Forgets every bucket, as a new process would start: windows are read
  // from `inner` until this process has recorded all of one again.
  void Clear();

  // How the last WindowEach was answered, in channels asked for.
  struct WindowStats {
    std::size_t from_memory = 0;
    std::size_t from_store = 0;
  };
  WindowStats last_window() const;

 private:
  // One recorded bucket.
  struct Bucket {
    std::unordered_map<ChannelId, std::int64_t> stored;  // written by this process
    std::unordered_set<ChannelId> unknown;               // a write failed: may or may not be stored
  };

  // Whether memory holds every bucket start of [from, to] (and nothing a
  // previous process may have written). Needs mu_ held.
  bool CoversLocked(Seconds from, Seconds to) const;

  Store& inner_;
  const std::chrono::seconds bucket_length_;
  const std::size_t capacity_;

  mutable std::mutex mu_;
  // Guarded by mu_.
  std::map<Seconds, Bucket> buckets_;  // the newest capacity_ buckets recorded
  std::optional<Seconds> first_;       // the newest bucket of the first batch recorded
  WindowStats last_window_;
};

}  // namespace headcount
