// A virtual viewer of the viewer simulator (see simulator.h): what it fetches
// and when. Internal to src/viewers. A Player lives on its own strand and is
// touched only from it.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <random>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"
#include "hls/m3u8_reader.h"
#include "net/url.h"
#include "viewers/alarm.h"
#include "viewers/origin_connection.h"
#include "viewers/run_context.h"

namespace headcount::viewers {

// One virtual viewer: entry playlist -> first variant -> media playlist
// reloads and each new segment once, in order, over one keep-alive connection
// (OriginConnection), waiting on an Alarm between requests.
class Player : public std::enable_shared_from_this<Player> {
 public:
  Player(boost::asio::io_context& io, int index, RunContext& ctx);
  ~Player();
  Player(const Player&) = delete;
  Player& operator=(const Player&) = delete;

  // Starts the player at `at`. Call once.
  void Start(WallTime at);

 private:
  enum class Step { kEntry, kMedia, kSegment };  // what the request in flight is for

  struct Segment {
    std::int64_t sequence;
    std::string target;
  };

  void FetchEntry();
  void FetchMedia();
  void FetchSegment();
  // Sends again what failed (or, after a restart, the entry playlist).
  void Retry();
  // Calls `next` at `at`, or `delay` from now.
  void At(WallTime at, void (Player::*next)());
  void After(std::chrono::milliseconds delay, void (Player::*next)());

  void Send(const std::string& target);
  void OnResponse(Result<OriginConnection::Response> response);
  void OnEntryLoaded(const std::string& text);
  void OnMediaLoaded(const std::string& text);
  // Queues the segments of `playlist` this player has not fetched yet and
  // plans the next reload (RFC 8216 §6.3.4).
  void OnPlaylist(const M3u8Playlist& playlist, std::string_view text);
  // Fetches the next queued segment, or waits for the next reload, or ends.
  void ContinueSegments();
  // The origin answered but not with something playable (HTTP status, bad
  // playlist, too large). Skips a segment; retries a playlist later.
  void OnRejected(const std::string& why);
  // Could not reach the origin, or the connection broke. Retries after a
  // backoff; a segment that keeps failing is skipped.
  void OnNetworkError(const std::string& why);
  // The current backoff with jitter; doubles the next one.
  std::chrono::milliseconds NextBackoff();
  // The stream ended and every segment was fetched: this viewer leaves.
  void Finish();

  const int index_;
  RunContext& ctx_;
  const std::shared_ptr<OriginConnection> connection_;
  const std::unique_ptr<Alarm> alarm_;
  std::minstd_rand rng_;

  bool active_ = false;  // counted in players_active
  Step step_ = Step::kEntry;
  WallTime request_start_;
  std::chrono::milliseconds backoff_;
  int segment_attempts_ = 0;
  int media_failures_ = 0;

  Url media_url_;  // the media playlist's URL, with its query
  bool loaded_media_ = false;
  std::size_t playlist_hash_ = 0;
  std::chrono::milliseconds target_duration_;
  std::int64_t next_sequence_ = 0;  // the first sequence number not yet queued
  int backward_reloads_ = 0;
  bool ended_ = false;
  WallTime reload_at_;
  std::deque<Segment> pending_;  // queued segments, in order
  std::int64_t segments_loaded_ = 0;
};

}  // namespace headcount::viewers
