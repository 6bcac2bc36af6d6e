// The shared "is this its second report?" of a cluster's heartbeat tokens
// and CMCD sids: the first reports each node hears (ViewerSink::FirstReport),
// batched, and decided in Redis by one script per channel and kind when
// SharedViewers flushes. Thread-safe: Note and Refused only take a lock and
// touch memory (they are on the request path); Take and Absorb run in the
// flush, one at a time.
//
// In Redis, per channel and kind a sorted set <prefix>first:<kind>:<channel>
// of the viewers' 24-byte keys, scored by the last first report a node heard
// (Unix ms). The script, for each first report at time t of member m:
//   - last = the newer of m's scores in that set and in the viewers set;
//   - last within the kind's timeout of t: another node (or this one before
//     its record expired) heard of m, so this is a later report. At least
//     the kind's gap after `last` (tokens: half the heartbeat interval, as
//     one node ignores a heartbeat sooner than that; sids: none), m counts
//     (ZADD GT to the viewers set) unless the report says it is not
//     watching; sooner, nothing changes (a burst is one report);
//   - else m is new to the cluster: recorded, not counted; except an old
//     token (made longer ago than its expiry), which is refused (-1) so that
//     no replayed token starts over.
// So a viewer counts from its second report wherever its reports land, and a
// one-shot probe, which reaches one node once, never counts.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cluster/redis_client.h"
#include "core/result.h"
#include "origin/viewer_sink.h"

namespace headcount {

// Old tokens the cluster refused that a node remembers (so it answers 403
// to their next heartbeat), at most; past it the oldest are forgotten first.
inline constexpr std::size_t kMaxRefusedTokens = 100'000;
// Members in one script call: keeps each call short for Redis's event loop.
inline constexpr std::size_t kMaxFirstReportsPerScript = 500;

struct FirstReportsOptions {
  std::string key_prefix = "headcount:";
  std::chrono::seconds token_timeout{30};
  std::chrono::seconds sid_timeout{75};
  // Least time between two reports of one token for the later to count:
  // half the heartbeat interval (HeartbeatViewers::Beat's kTooSoon).
  std::chrono::milliseconds token_gap{5000};
  // First reports held for the next flush, at most (as SharedViewers').
  std::size_t max_pending = 200'000;
};

class FirstReports {
 public:
  explicit FirstReports(FirstReportsOptions options);

  // Remembers one first report for the next flush (kSession is ignored).
  void Note(ViewerSink::Kind kind, std::string_view channel, const SessionTable::Key& key,
            WallTime now, ViewerSink::Sighting sighting);

  // The script calls for every first report noted since the last Take
  // (taken out: a failed flush loses them, which delays a viewer's count by
  // one report at most), and what Absorb needs to read their answers.
  struct Batch {
    std::vector<RedisCommand> commands;
    // Per command, per report in it: "<channel>\n<member>" for an old token
    // (else empty), and the report's time (Unix ms).
    struct Sent {
      std::string old_token;
      std::int64_t ms = 0;
    };
    std::vector<std::vector<Sent>> sent;
  };
  Batch Take();

  // Reads the replies to `batch`'s commands (in order): remembers the old
  // tokens refused, as of their report's time. A reply that is not the
  // script's answer is an error.
  Status Absorb(const Batch& batch, std::span<const RedisReply> replies);

  // Whether the token `key` of `channel` was refused within two token
  // timeouts of `now`.
  bool Refused(std::string_view channel, const SessionTable::Key& key, WallTime now) const;

  std::size_t pending() const;

 private:
  struct Report {
    std::int64_t ms = 0;
    ViewerSink::Sighting sighting = ViewerSink::Sighting::kCounts;
  };
  struct SetReports {
    ViewerSink::Kind kind = ViewerSink::Kind::kToken;
    std::string channel;
    std::unordered_map<std::string, Report> members;
  };

  const FirstReportsOptions options_;

  mutable std::mutex mu_;
  // Guarded by mu_.
  std::unordered_map<std::string, SetReports> pending_;  // by the first-report set's key
  std::size_t pending_count_ = 0;
  // "<channel>\n<member>" of refused old tokens, with the time of the
  // report refused (Unix ms).
  std::unordered_map<std::string, std::int64_t> refused_;
};

// The name of `kind` in the cluster's Redis keys: session, token or sid.
std::string_view ViewerKindName(ViewerSink::Kind kind);
// `t` in Unix milliseconds, the cluster's scores.
std::int64_t UnixMillis(WallTime t);

// The Lua script FirstReports sends (tests' fakes recognise it by its first
// line): KEYS first-report set, viewers set; ARGV timeout ms, gap ms, TTL ms,
// then per report: ms, "c" (counts) | "n" (not watching) | "o" (old token),
// member. Answers one integer per report: 1 counted, 0 not (yet), -1 refused.
extern const char kFirstReportsScript[];

}  // namespace headcount
