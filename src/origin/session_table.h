// The table of tracked viewer sessions behind ViewerSessions. A refresh or a
// start costs O(1), expiry O(1) per session it drops, a count O(channels):
// nothing walks the sessions, so a count never holds the segment requests'
// lock for a sweep of up to a million entries. Not thread-safe:
// ViewerSessions guards it with its mutex.
//
// Sessions sit in one list in order of last activity, as in an LRU cache:
// a refresh moves a session to the newest end, and expiry pops idle sessions
// off the oldest end, so it touches only the sessions that expire. That is
// what a timing wheel (Kafka's TimingWheel, Netty's HashedWheelTimer) buys,
// without its buckets and exact to the nanosecond: every refresh carries the
// newest time, so the list needs no sorting. Counts per channel and per
// client change as sessions start and end; a count reads them.
//
// A session may be tracked without being counted (a heartbeat viewer before
// its second heartbeat): it holds its client's share and expires like any
// other, but is not in its channel's count until Count() is called.
//
// Sessions live in one of kLanes lanes, each with its own idle timeout and
// its own activity list (so each list stays in order and expiry stays O(1)
// per session dropped); the bounds, the per-client caps and the channels'
// tallies are shared by all lanes. Heartbeat viewers keep signed tokens in
// lane 0 and CMCD sids, with a longer timeout, in lane 1; origin sessions
// use lane 0 only.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.h"
#include "core/samples.h"

namespace headcount {

class SessionTable {
 public:
  // A session's raw id (nonce and tag). Its first bytes are random or a MAC,
  // so they are a hash no client can steer without the key.
  static constexpr std::size_t kKeyBytes = 24;
  using Key = std::array<unsigned char, kKeyBytes>;
  static constexpr std::size_t kLanes = 2;

  struct Limits {
    // A session of lane 0 not seen for this long is gone: active while
    // last_seen > now - idle_timeout.
    std::chrono::seconds idle_timeout{30};
    // The same for the sessions of lane 1.
    std::chrono::seconds second_lane_idle_timeout{30};
    std::size_t max_sessions = 0;
    // Sessions one client may hold at once; 0 = no limit.
    std::size_t max_sessions_per_client = 0;
  };

  enum class StartResult {
    kStarted,
    kAlreadyTracked,  // the key is tracked already (refreshed, not started)
    kTableFull,       // max_sessions tracked, even after dropping idle ones
    kClientAtCap,     // the client holds max_sessions_per_client
  };

  explicit SessionTable(Limits limits);
  SessionTable(const SessionTable&) = delete;
  SessionTable& operator=(const SessionTable&) = delete;

  // Marks `key` seen at `now` when it is tracked for `channel`; false when
  // not tracked (or tracked for another channel), and nothing changes.
  //
  // Times are expected to move forward. One earlier than the newest seen in
  // the session's lane (threads that read the clock in one order and lock
  // in another) counts as the newest, which keeps the list in order; so a
  // wall clock stepped back by D keeps the sessions seen meanwhile up to D
  // longer.
  bool Refresh(const Key& key, std::string_view channel, WallTime now);

  // Starts tracking `key` for `channel` in `lane` (< kLanes), seen at
  // `now`, in the channel's count unless `counted` is false. `client` (a peer address) is held to
  // max_sessions_per_client; an empty one is not limited. Before refusing
  // for a full table or a client at its cap, drops the sessions idle at
  // `now` (they are the oldest: no sweep).
  StartResult Start(const Key& key, std::string_view channel, std::string_view client, WallTime now,
                    bool counted = true, std::size_t lane = 0);

  // A tracked session as Find sees it.
  struct Tracked {
    WallTime last_seen;
    bool counted = false;
    bool marked = false;  // Mark() was called
  };
  // The session of `key` when it is tracked for `channel` (idle ones not
  // yet expired included); nullopt otherwise. Changes nothing.
  std::optional<Tracked> Find(const Key& key, std::string_view channel) const;

  // Puts the session of `key` into its channel's count (no refresh); false
  // when it is not tracked for `channel`. Counting a counted one does nothing.
  bool Count(const Key& key, std::string_view channel);
  // Takes the session of `key` out of its channel's count, still tracked
  // (it keeps its client's share and expires as before); false when it is
  // not tracked for `channel`. Uncounting an uncounted one does nothing.
  bool Uncount(const Key& key, std::string_view channel);

  // Sets the session's mark, a bit of the owner's that stays until the
  // session ends (HeartbeatViewers marks a CMCD sid that has stated a play
  // state); false when it is not tracked for `channel`.
  bool Mark(const Key& key, std::string_view channel);

  // Ends the session of `key` now; false when it is not tracked for `channel`.
  bool Remove(const Key& key, std::string_view channel);

  // Drops the sessions idle at `now`, oldest first, at most `limit` of them
  // (a request bounds its own share of the work). Returns how many.
  std::size_t Expire(WallTime now, std::size_t limit = std::numeric_limits<std::size_t>::max());

  // Tracked sessions, idle ones not yet expired included: call Expire(now)
  // first for the count at `now`.
  std::size_t size() const { return sessions_.size(); }
  // Counted sessions among them.
  std::size_t counted() const { return counted_; }
  // Counted sessions per channel (channels without one absent), of all
  // lanes or of one; O(channels).
  std::map<ChannelId, std::int64_t> CountByChannel() const;
  std::map<ChannelId, std::int64_t> CountByChannel(std::size_t lane) const;

 private:
  struct Entry;
  using Node = std::pair<const Key, Entry>;
  struct ChannelTally {
    std::array<std::int64_t, kLanes> counted{};  // sessions in the channel's count, per lane
    std::size_t tracked = 0;                     // every session of the channel, counted or not
  };
  using ChannelCounts = std::unordered_map<ChannelId, ChannelTally>;
  using ClientCounts = std::unordered_map<std::string, std::size_t>;
  struct Entry {
    ChannelCounts::value_type* channel;  // its channel's tally (the key names it)
    ClientCounts::value_type* client;    // its client's count; null when not limited
    WallTime last_seen;
    bool counted = true;
    bool marked = false;
    std::uint8_t lane = 0;
    Node* older = nullptr;  // neighbours in its lane's activity list
    Node* newer = nullptr;
  };
  struct KeyHash {
    std::size_t operator()(const Key& key) const noexcept;
  };

  void Unlink(Node& node);
  void LinkNewest(Node& node);
  // Ends `node`'s session: unlinks it, updates the counts, erases it.
  void Erase(Node& node);
  // True when `client` may start one more session.
  bool ClientHasRoom(std::string_view client) const;

  // Sets whether the session of `node` is counted, keeping the tallies.
  void SetCounted(Node& node, bool counted);

  const std::array<std::chrono::seconds, kLanes> idle_timeouts_;
  const std::size_t max_sessions_;
  const std::size_t max_sessions_per_client_;

  // Unordered_map nodes never move, so the list and the counts' entries are
  // linked by pointer.
  std::unordered_map<Key, Entry, KeyHash> sessions_;
  // Per lane: the ends of its activity list, and the newest last_seen ever
  // set in it.
  std::array<Node*, kLanes> oldest_{};
  std::array<Node*, kLanes> newest_{};
  std::array<WallTime, kLanes> latest_{WallTime::min(), WallTime::min()};
  ChannelCounts channels_;   // sessions per channel, none tracking 0
  ClientCounts clients_;     // sessions per limited client, none at 0
  std::size_t counted_ = 0;  // counted sessions, over all channels
};

}  // namespace headcount
