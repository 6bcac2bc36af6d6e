// Viewers counted from player heartbeats (behind a CDN, or on a page that no
// part of headcount serves): signed tokens bound to a channel, and the table
// of tokens heard from recently, which is the heartbeat count. Thread-safe
// (one mutex guards the table).
//
// A viewer record is keyed by SessionTable::Key, 24 bytes no client can
// steer without the key: a token's raw bytes, or for a CMCD v2 player (its
// session id `sid`, docs/heartbeats.md) the MAC of channel and sid under a
// key of its own. Both live in this one table (tokens in lane 0, sids in
// lane 1, each with its own timeout), so the per-address cap and the bound
// on records apply to both alike.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"
#include "core/samples.h"
#include "crypto/hmac_sha256.h"
#include "origin/session_table.h"
#include "origin/sessions.h"
#include "origin/viewer_sink.h"

namespace headcount {

// What a token's answer tells the player: heartbeat every kHeartbeatInterval;
// a viewer not heard from for kHeartbeatExpiry has left.
inline constexpr std::chrono::seconds kHeartbeatInterval{10};
inline constexpr std::chrono::seconds kHeartbeatExpiry{30};
// Heartbeat viewers tracked at once, over all channels (as origin sessions).
inline constexpr std::size_t kMaxHeartbeatViewers = kMaxSessions;
// A token is base64url(nonce || issued || tag): a random nonce, the second it
// was made (big-endian, since the epoch) and the first kTokenTagBytes of
// HMAC-SHA256(token key, channel + "\n" + nonce + issued). 24 bytes, 32
// characters. The token key is derived from the session key, so a token is
// never an origin session id nor the other way round.
inline constexpr std::size_t kTokenNonceBytes = 8;
inline constexpr std::size_t kTokenIssuedBytes = 4;
inline constexpr std::size_t kTokenTagBytes = 12;
inline constexpr std::size_t kTokenChars = 32;
static_assert(kTokenNonceBytes + kTokenIssuedBytes + kTokenTagBytes == SessionTable::kKeyBytes);
// CTA-5004-B's default interval between a player's time-interval reports
// (`e=t`), and how long a sid counts after its last report by default:
// two and a half intervals, so one lost or late report does not drop it.
inline constexpr std::chrono::seconds kCmcdStandardInterval{30};
inline constexpr std::chrono::seconds kDefaultCmcdTimeout{kCmcdStandardInterval * 5 / 2};
// The longest sid taken (CTA-5004-B: a string of at most 64 characters).
inline constexpr std::size_t kMaxCmcdSidChars = 64;

struct HeartbeatOptions {
  // The session key (origin.session_key_file); empty = random per process.
  std::string key;
  std::chrono::seconds interval = kHeartbeatInterval;
  std::chrono::seconds expiry = kHeartbeatExpiry;
  // A CMCD sid not heard from for this long has left.
  std::chrono::seconds cmcd_timeout = kDefaultCmcdTimeout;
  std::size_t max_viewers = kMaxHeartbeatViewers;
  // Viewer records (counted or not yet) one client address may hold; 0 = no
  // limit. serve sets origin.max_sessions_per_client.
  std::size_t max_viewers_per_client = kDefaultMaxSessionsPerClient;
  // Told of every counted token and sid as it is heard from, and of those
  // that stop counting (a cluster's shared count); null = none. Must outlive
  // the viewers.
  ViewerSink* sink = nullptr;
};

// What became of one heartbeat.
enum class BeatResult {
  kAccepted,     // the viewer was refreshed, started, or counted from now on
  kTooSoon,      // within interval / 2 of the last one taken: ignored
  kLeft,         // "left": the viewer is gone at once
  kInvalid,      // not a token of this key for this channel
  kExpired,      // no record, and made more than `expiry` ago
  kClientAtCap,  // the client holds max_viewers_per_client records
  kTableFull,    // max_viewers tracked
};

// What one CMCD report says of its player: watching (its `sta` is s, p, k,
// r or w), not watching (any other `sta`: paused, ended, fatal error, quit,
// preloading), or nothing (no `sta`: its state is as it was).
enum class CmcdPlayState { kUnsaid, kWatching, kNotWatching };

// What became of one CMCD report.
enum class ReportResult {
  kAccepted,     // the sid's record was started or refreshed
  kInvalidSid,   // empty, or longer than kMaxCmcdSidChars
  kClientAtCap,  // as for heartbeats
  kTableFull,
};

class HeartbeatViewers {
 public:
  // Aborts as ViewerSessions does when `options.key` is empty and the
  // random generator fails.
  explicit HeartbeatViewers(HeartbeatOptions options = {});
  HeartbeatViewers(const HeartbeatViewers&) = delete;
  HeartbeatViewers& operator=(const HeartbeatViewers&) = delete;

  // A fresh token for `channel`, made at `now`. Stateless: nothing is
  // stored until its first heartbeat. Fails (Internal) only if the random
  // generator fails.
  Result<std::string> Mint(std::string_view channel, WallTime now) const;

  // One heartbeat of `token` for `channel` from `client` at `now`:
  //  - a token that is not this key's for this channel: kInvalid;
  //  - `left`: the viewer's record is dropped (kLeft, with or without one);
  //  - no record: the token starts one, not yet counted, if it was made
  //    within `expiry` of `now` (else kExpired) and `client` has room
  //    (else kClientAtCap; kTableFull when the table is);
  //  - a record: heard from less than interval / 2 ago, ignored (kTooSoon);
  //    else refreshed and, from this second heartbeat on, counted.
  // So a one-shot probe is never a viewer, and a viewer stops counting
  // `expiry` after its last heartbeat. A token whose record has expired
  // cannot start over once it is older than `expiry`: the player asks for
  // a new one. In a cluster (the sink SharesFirstReports) a record started
  // here goes to the sink as a first report, which counts the viewer when
  // another node heard of it; a token older than `expiry` starts one too,
  // and is refused (kExpired) once the sink says no node heard of it
  // within `expiry` (RefusedOldToken).
  BeatResult Beat(std::string_view channel, std::string_view token, std::string_view client,
                  WallTime now, bool left = false);

  // One CMCD report of `sid` for `channel` from `client`, received at `now`
  // (the report's own `ts` is the client's word and is not used):
  //  - no record: one is started, not counted (kClientAtCap / kTableFull
  //    as for a token), whatever the state;
  //  - a record: refreshed, and counted from then on when `state` is
  //    watching, taken out of the count (still tracked) when it is not;
  //    when unsaid, left as it was if the sid ever stated a state, else
  //    counted.
  // A record started here goes to the sink as a first report (and, when
  // the report says it is not watching, as gone: another node may count it).
  // So a sid counts from its second report while it says it is watching,
  // until a report says otherwise or `cmcd_timeout` passes without one. A
  // sid that never states a play state (Shaka Player 5.2 sends
  // time-interval reports only, paused or not) counts from its second
  // report while its reports keep coming.
  ReportResult Report(std::string_view channel, std::string_view sid, std::string_view client,
                      WallTime now, CmcdPlayState state);

  // Counted viewers per channel at `now` (channels without one absent): per
  // channel the larger of its token viewers and its CMCD sids, since one
  // page may run both (headcount.js beside a player reporting CMCD) and
  // nothing ties a token to a sid. Drops expired records: O(channels +
  // records expired).
  std::map<ChannelId, std::int64_t> CountActive(WallTime now);
  // Counted CMCD sids per channel at `now`, for /metrics.
  std::map<ChannelId, std::int64_t> CountSids(WallTime now);
  // Counted viewers over all channels at `now`, for /metrics.
  std::int64_t ActiveTotal(WallTime now);

  std::chrono::seconds interval() const { return interval_; }
  std::chrono::seconds expiry() const { return expiry_; }
  std::chrono::seconds cmcd_timeout() const { return cmcd_timeout_; }

 private:
  using RawToken = SessionTable::Key;

  void Sign(std::string_view channel, RawToken& raw) const;
  // `raw` when `token` decodes to a token signed for `channel`.
  bool Verify(std::string_view channel, std::string_view token, RawToken& raw) const;

  const std::chrono::seconds interval_;
  const std::chrono::seconds expiry_;
  const std::chrono::seconds cmcd_timeout_;
  const std::size_t max_viewers_;
  ViewerSink* const sink_;
  const crypto::HmacSha256 signer_;
  const crypto::HmacSha256 sid_signer_;  // a sid's record key

  // Guarded by mu_.
  std::mutex mu_;
  SessionTable table_;
  bool full_logged_ = false;
};

// The play state a report's `sta` value says (nullopt: no `sta`).
CmcdPlayState CmcdPlayStateOf(std::optional<std::string_view> sta);

}  // namespace headcount
