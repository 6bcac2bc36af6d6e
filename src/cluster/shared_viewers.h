// The viewers of every node of a cluster, kept in Redis: each node reports
// the viewers it counts (as the ViewerSink of its origin sessions and
// heartbeat viewers) and sends them in batches; a count reads them all.
// Thread-safe: Seen and Gone only take a lock and touch memory (they are on
// the request path); Flush and Count talk to Redis.
//
// In Redis, per channel and kind (origin session, heartbeat token, CMCD sid)
// one sorted set <prefix>viewers:<kind>:<channel>, its members the viewers'
// 24-byte keys (the same on every node: the nodes share the session key),
// scored by the last time a node saw them (Unix milliseconds). A viewer whose
// requests land on several nodes is one member. A count drops the members
// older than their kind's timeout and reads the sets' sizes; each set
// expires on its own once no node writes to it (a channel that ended).
//
// The first reports of tokens and sids (FirstReport) go in the same flush,
// decided across the nodes by cluster/first_reports.h.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "cluster/first_reports.h"
#include "cluster/redis_client.h"
#include "core/result.h"
#include "core/samples.h"
#include "origin/viewer_sink.h"

namespace headcount {

// How often a node sends its viewers' updates (serve's flusher): the
// shared count lags a node's own by at most this.
inline constexpr std::chrono::seconds kViewerFlushInterval{1};
// Distinct viewers one node holds for its next batch, at most: far more
// than one second of updates; while Redis is unreachable the newest past it
// are not kept (the node counts locally meanwhile, and a viewer's next
// request adds it again).
inline constexpr std::size_t kMaxPendingViewerUpdates = 200'000;
// Members in one ZADD or ZREM: keeps each command small for Redis's event loop.
inline constexpr std::size_t kMaxMembersPerCommand = 500;

struct SharedViewersOptions {
  // Prepended to every key (cluster.key_prefix): clusters sharing one Redis
  // database keep apart.
  std::string key_prefix = "headcount:";
  // A viewer of each kind counts while seen within its timeout, as in the
  // local tables (origin.session_idle_timeout, the heartbeat expiry,
  // heartbeat.cmcd_timeout).
  std::chrono::seconds session_timeout{30};
  std::chrono::seconds token_timeout{30};
  std::chrono::seconds sid_timeout{75};
  // Least time between two heartbeats of one token for the later to count
  // (half the heartbeat interval), across nodes as on one.
  std::chrono::milliseconds token_gap{5000};
  std::size_t max_pending = kMaxPendingViewerUpdates;
};

class SharedViewers final : public ViewerSink {
 public:
  // `redis` must outlive this.
  SharedViewers(Redis& redis, SharedViewersOptions options);

  // ViewerSink: remembered for the next Flush (the newest word on each
  // viewer wins).
  void Seen(Kind kind, std::string_view channel, const SessionTable::Key& key,
            WallTime now) override;
  void Gone(Kind kind, std::string_view channel, const SessionTable::Key& key) override;
  // Remembered for the next Flush, which decides them in Redis.
  void FirstReport(Kind kind, std::string_view channel, const SessionTable::Key& key, WallTime now,
                   Sighting sighting) override;
  // True while the last Flush or Count that reached for Redis got its answer.
  bool SharesFirstReports() const override { return reachable_.load(std::memory_order_relaxed); }
  bool RefusedOldToken(std::string_view channel, const SessionTable::Key& key,
                       WallTime now) override;

  // Sends every update and first report remembered since the last Flush in
  // one pipeline, first reports first. On failure the updates are kept for
  // the next one (updates that came meanwhile win), up to max_pending, the
  // first reports are not, and the error is returned.
  Status Flush();

  // The counted viewers of each of `channels` at `now` over every node:
  // per channel the larger of its sessions and its heartbeat viewers (the
  // larger of tokens and sids), as CombinedSource and HeartbeatViewers
  // combine them on one node. Flushes first, so this node's newest are in.
  // Every channel asked for is in the answer (0 when none). Fails when
  // Redis does not answer.
  Result<std::map<ChannelId, std::int64_t>> Count(std::span<const ChannelId> channels,
                                                  WallTime now);

  // Updates waiting for the next Flush, and updates not kept since start
  // because max_pending were waiting.
  std::size_t pending() const;
  std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  // The Redis key of `kind`'s viewers of `channel`.
  std::string SetKey(Kind kind, std::string_view channel) const;
  std::chrono::seconds Timeout(Kind kind) const;
  // Records one update: last seen in Unix ms, or nullopt for gone.
  void Note(Kind kind, std::string_view channel, const SessionTable::Key& key,
            std::optional<std::int64_t> seen_ms);

  // Pending updates of one sorted set: per member its newest last-seen
  // time, or nullopt when it is gone.
  struct SetUpdates {
    Kind kind = Kind::kSession;
    std::unordered_map<std::string, std::optional<std::int64_t>> members;
  };
  using Pending = std::unordered_map<std::string, SetUpdates>;  // by set key

  Redis& redis_;
  const SharedViewersOptions options_;

  mutable std::mutex mu_;
  // Guarded by mu_.
  Pending pending_;
  std::size_t pending_count_ = 0;

  std::mutex flush_mu_;  // one Flush at a time, so a failed batch goes back before the next
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<bool> reachable_{false};
  FirstReports first_reports_;
};

}  // namespace headcount
