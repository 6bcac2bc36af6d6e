// Where the viewer tables (origin sessions, heartbeat tokens, CMCD sids)
// tell which viewers they count, and which reports they hear first, so that
// a cluster can share them (cluster/shared_viewers.h). Implementations are
// thread-safe and quick (memory only, never a round trip): they are called
// on the request path, after the table's lock is released.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/clock.h"
#include "origin/session_table.h"

namespace headcount {

class ViewerSink {
 public:
  // Which table a viewer is in: each is counted with its own timeout.
  enum class Kind : std::uint8_t { kSession = 0, kToken = 1, kSid = 2 };

  virtual ~ViewerSink() = default;
  ViewerSink() = default;
  ViewerSink(const ViewerSink&) = delete;
  ViewerSink& operator=(const ViewerSink&) = delete;

  // The viewer of `key` is counted for `channel`, seen at `now`.
  virtual void Seen(Kind kind, std::string_view channel, const SessionTable::Key& key,
                    WallTime now) = 0;
  // The viewer of `key` no longer counts for `channel` (left, paused).
  virtual void Gone(Kind kind, std::string_view channel, const SessionTable::Key& key) = 0;

  // What a first report says (FirstReport).
  enum class Sighting : std::uint8_t {
    kCounts,       // counts if it is the viewer's second report
    kNotWatching,  // a sid that says it is not watching: heard of, not counted
    kOldToken,     // a token made longer ago than its expiry (see RefusedOldToken)
  };
  // A heartbeat or CMCD report of `key` for `channel` at `now` that this
  // node holds no record of: its first here, not counted by this node. A
  // cluster counts the viewer when another node heard of it within its
  // kind's timeout, as one node counts a second report (a one-shot probe
  // reaches one node once, and never counts). Nothing by default.
  virtual void FirstReport(Kind /*kind*/, std::string_view /*channel*/,
                           const SessionTable::Key& /*key*/, WallTime /*now*/,
                           Sighting /*sighting*/) {}
  // Whether first reports are decided across nodes now (a cluster whose
  // Redis answered last time). False (the default): the node decides alone,
  // and refuses a token older than its expiry that it has no record of.
  virtual bool SharesFirstReports() const { return false; }
  // Whether, at `now`, the cluster has refused the token `key` of `channel`
  // that a FirstReport sent as kOldToken: no node had heard of it within
  // its expiry, so the player must ask for a new one. False by default, and
  // while the cluster has not answered yet.
  virtual bool RefusedOldToken(std::string_view /*channel*/, const SessionTable::Key& /*key*/,
                               WallTime /*now*/) {
    return false;
  }
};

}  // namespace headcount
