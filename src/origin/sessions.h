// Viewer sessions of the HLS origin: signed session ids handed out in the
// URIs of served playlists, and the table of ids seen recently, which is the
// viewer count. ViewerSessions is thread-safe (one mutex guards the table).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"
#include "core/samples.h"
#include "crypto/hmac_sha256.h"
#include "origin/session_table.h"
#include "origin/viewer_sink.h"

namespace headcount {

// Sessions tracked at once, over all channels. Past it, new sessions are not
// counted (logged once per episode); media is still served.
inline constexpr std::size_t kMaxSessions = 1'000'000;
// Default of SessionOptions::max_sessions_per_client.
inline constexpr std::size_t kDefaultMaxSessionsPerClient = 1000;
// A session not seen for this long is gone.
inline constexpr std::chrono::seconds kDefaultSessionIdleTimeout{30};
// Length of a generated signing key.
inline constexpr std::size_t kSessionKeyBytes = 32;
// An id is base64url(nonce || first kSessionTagBytes of HMAC-SHA256(key,
// channel + "\n" + nonce)): 24 bytes, 32 characters.
inline constexpr std::size_t kSessionNonceBytes = 12;
inline constexpr std::size_t kSessionTagBytes = 12;
inline constexpr std::size_t kSessionIdChars = (kSessionNonceBytes + kSessionTagBytes) / 3 * 4;
static_assert(kSessionNonceBytes + kSessionTagBytes == SessionTable::kKeyBytes);
// Bytes of a presented id that its Replacement is derived from: far more
// than a real id, and a bound on the work a client's garbage can cost.
inline constexpr std::size_t kMaxReplacedIdBytes = 256;

struct SessionOptions {
  std::chrono::seconds idle_timeout = kDefaultSessionIdleTimeout;
  // HMAC key; any length, but it should hold 32 bytes of entropy. Empty = a
  // random key of kSessionKeyBytes (ids then die with the process).
  std::string key;
  std::size_t max_sessions = kMaxSessions;
  // Sessions one client address may hold at once (0 = no limit): one client
  // cannot inflate the count past it by minting ids. Many real viewers can
  // share an address (offices, carrier-grade NAT), so keep it generous.
  std::size_t max_sessions_per_client = kDefaultMaxSessionsPerClient;
  // Told of every counted session as it is seen (a cluster's shared count);
  // null = none. Must outlive the sessions.
  ViewerSink* sink = nullptr;
};

// What a request carrying a session id fetched.
enum class Activity { kPlaylist, kMedia };

class ViewerSessions {
 public:
  // Aborts the process if `options.key` is empty and the system random
  // generator fails: serving with a guessable key would let clients forge
  // viewers, and the generator cannot fail on a working Linux system.
  explicit ViewerSessions(SessionOptions options = {});
  ViewerSessions(const ViewerSessions&) = delete;
  ViewerSessions& operator=(const ViewerSessions&) = delete;

  // A fresh id for `channel`. Stateless: nothing is stored, so an id that
  // is never presented again (a one-shot probe) is never counted. Fails
  // (Internal) only if the random generator fails.
  Result<std::string> Mint(std::string_view channel) const;

  // True when `id` was minted by this key for `channel` (constant-time tag
  // comparison). False for forged, malformed and other channels' ids.
  bool Verify(std::string_view channel, std::string_view id) const;

  // The id that stands in for `presented` when it fails Verify: an id from
  // a lost or rotated key, another node's or channel's id, garbage. A valid
  // id for `channel`, derived (a MAC under a key of its own) from `channel`,
  // `client` and the first kMaxReplacedIdBytes of `presented`: the same on
  // every call, so a player that keeps reloading a URL with a bad id gets
  // the same replacement each time and counts once. Stateless and never
  // fails. The client is part of it so that one bad id shared by players at
  // many addresses (a pasted URL) does not merge them into one viewer.
  std::string Replacement(std::string_view channel, std::string_view presented,
                          std::string_view client) const;

  // Verifies `id` for `channel`, then refreshes its session at `now`. A
  // session starts with its first media request (kMedia): playlist requests
  // (kPlaylist) only refresh a session that has started, so a client that
  // reads playlists and never media (a probe, a crawler) is never a viewer.
  // Returns Verify's answer: a valid id is still "true" when the table is
  // full and the session could not be tracked.
  // A new session from `client` (the peer address) is not tracked while that
  // client already holds max_sessions_per_client; an empty `client` is not
  // limited.
  bool Touch(std::string_view channel, std::string_view id, WallTime now, Activity activity,
             std::string_view client = {});

  // Active sessions per channel at `now`: those with last_seen > now -
  // idle_timeout. Channels without one are absent. Drops the expired
  // sessions and reads counts kept as sessions come and go: O(channels +
  // sessions expired), never a sweep of the table.
  std::map<ChannelId, std::int64_t> CountActive(WallTime now);

  // Active sessions over all channels at `now`, for /metrics: O(1 + sessions
  // expired).
  std::int64_t ActiveTotal(WallTime now);

  std::chrono::seconds idle_timeout() const { return idle_timeout_; }

 private:
  using RawId = SessionTable::Key;

  // The tag of `nonce` (kSessionNonceBytes) for `channel`, into `tag`.
  void Sign(std::string_view channel, const unsigned char* nonce, unsigned char* tag) const;
  // `id` decoded, if it is well formed (signature not checked).
  static bool Parse(std::string_view id, RawId& raw);
  // True when `raw`'s tag is the signature of its nonce for `channel`.
  bool IsSigned(std::string_view channel, const RawId& raw) const;

  const std::chrono::seconds idle_timeout_;
  const crypto::HmacSha256 signer_;    // signs ids: keyed by the session key
  const crypto::HmacSha256 replacer_;  // derives replacements' nonces
  const std::size_t max_sessions_;
  ViewerSink* const sink_;

  // Guarded by mu_.
  mutable std::mutex mu_;
  SessionTable table_;
  bool full_logged_ = false;  // the table was full, and that was logged
};

}  // namespace headcount
