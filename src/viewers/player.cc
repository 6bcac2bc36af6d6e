#include "viewers/player.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/strand.hpp>
#include <utility>

namespace headcount::viewers {
namespace {

using std::chrono::milliseconds;

// Where a live player joins: this many segments back from the end (hls.js's
// liveSyncDurationCount). Also how far ahead a player of an ended stream buffers.
constexpr int kLiveEdgeSegments = 3;
// Reconnect backoff after network errors: doubles from min to max, +-25% jitter
// so that N players that lost the origin together do not return together.
constexpr milliseconds kMinBackoff{500};
constexpr milliseconds kMaxBackoff{30'000};
constexpr double kBackoffJitter = 0.25;
// Retry delay for the first playlist, before any target duration is known.
constexpr milliseconds kDefaultRetryDelay{2'000};
// Floor on the reload interval, so a "#EXT-X-TARGETDURATION:0" cannot make a
// player spin.
constexpr milliseconds kMinTargetDuration{500};
// A segment that fails this many times over the network is skipped.
constexpr int kMaxSegmentAttempts = 3;
// After this many failed reloads in a row, go back to the entry URL (like a
// viewer reloading the page): the session the origin gave may be gone.
constexpr int kMaxMediaFailuresBeforeRestart = 5;
// After this many reloads in a row whose last segment is older than what the
// player already has, assume the stream restarted and rejoin at the live edge.
constexpr int kMaxBackwardReloads = 3;

}  // namespace

Player::Player(boost::asio::io_context& io, int index, RunContext& ctx)
    : index_(index),
      ctx_(ctx),
      connection_(std::make_shared<OriginConnection>(boost::asio::make_strand(io), ctx)),
      alarm_(ctx.alarms.NewAlarm(connection_->executor())),
      rng_(static_cast<std::uint32_t>(index) + 1),
      backoff_(kMinBackoff),
      target_duration_(kDefaultRetryDelay) {}

Player::~Player() {
  if (active_) --ctx_.counters.players_active;
}

void Player::Start(WallTime at) {
  alarm_->WakeAt(at, [self = shared_from_this()] {
    self->active_ = true;
    ++self->ctx_.counters.players_started;
    ++self->ctx_.counters.players_active;
    self->FetchEntry();
  });
}

void Player::FetchEntry() {
  step_ = Step::kEntry;
  Send(ctx_.entry.Target());
}

void Player::FetchMedia() {
  step_ = Step::kMedia;
  Send(media_url_.Target());
}

void Player::FetchSegment() {
  step_ = Step::kSegment;
  Send(pending_.front().target);
}

void Player::Retry() {
  switch (step_) {
    case Step::kEntry:
      return FetchEntry();
    case Step::kMedia:
      return FetchMedia();
    case Step::kSegment:
      return FetchSegment();
  }
}

void Player::At(WallTime at, void (Player::*next)()) {
  alarm_->WakeAt(at, [self = shared_from_this(), next] { ((*self).*next)(); });
}

void Player::After(milliseconds delay, void (Player::*next)()) {
  At(ctx_.alarms.clock().Now() + delay, next);
}

void Player::Send(const std::string& target) {
  request_start_ = ctx_.alarms.clock().Now();
  const auto kind = step_ == Step::kSegment ? OriginConnection::Kind::kSegment
                                            : OriginConnection::Kind::kPlaylist;
  connection_->Get(target, kind,
                   [self = shared_from_this()](Result<OriginConnection::Response> response) {
                     self->OnResponse(std::move(response));
                   });
}

void Player::OnResponse(Result<OriginConnection::Response> response) {
  if (!response.ok()) {
    if (response.error().code() == ErrorCode::kUnavailable) {
      return OnNetworkError(response.error().message());
    }
    return OnRejected(response.error().message());
  }
  if (response->status < 200 || response->status > 299) {
    return OnRejected("HTTP " + std::to_string(response->status));
  }
  backoff_ = kMinBackoff;
  switch (step_) {
    case Step::kEntry:
      return OnEntryLoaded(response->text);
    case Step::kMedia:
      return OnMediaLoaded(response->text);
    case Step::kSegment:
      pending_.pop_front();
      segment_attempts_ = 0;
      ++segments_loaded_;
      return ContinueSegments();
  }
}

void Player::OnEntryLoaded(const std::string& text) {
  Result<M3u8Playlist> playlist = ParseM3u8(text);
  if (!playlist.ok()) return OnRejected(playlist.error().message());
  if (!playlist->multivariant) {  // the URL was a media playlist: reload it as is
    media_url_ = ctx_.entry;
    return OnPlaylist(*playlist, text);
  }
  Result<Url> variant = ResolveReference(ctx_.entry, playlist->variant_uris.front());
  if (!variant.ok()) return OnRejected(variant.error().message());
  media_url_ = std::move(*variant);  // keeps its query: the session id lives there
  FetchMedia();
}

void Player::OnMediaLoaded(const std::string& text) {
  Result<M3u8Playlist> playlist = ParseM3u8(text);
  if (!playlist.ok()) return OnRejected(playlist.error().message());
  if (playlist->multivariant) {
    return OnRejected("variant playlist where a media playlist was due");
  }
  OnPlaylist(*playlist, text);
}

void Player::OnPlaylist(const M3u8Playlist& playlist, std::string_view text) {
  media_failures_ = 0;
  target_duration_ = std::max<milliseconds>(playlist.target_duration, kMinTargetDuration);
  const std::size_t hash = std::hash<std::string_view>{}(text);
  const bool changed = !loaded_media_ || hash != playlist_hash_;
  playlist_hash_ = hash;

  const std::int64_t first = playlist.media_sequence;
  const std::int64_t end = first + static_cast<std::int64_t>(playlist.segment_uris.size());
  const std::int64_t live_edge = std::max(first, end - kLiveEdgeSegments);
  if (!loaded_media_) {
    next_sequence_ = playlist.ended ? first : live_edge;
  } else if (end < next_sequence_) {
    // The playlist went backwards: a stale cache (wait it out), or the
    // stream restarted with new numbers (rejoin).
    if (++backward_reloads_ >= kMaxBackwardReloads) {
      next_sequence_ = live_edge;
      backward_reloads_ = 0;
    }
  } else {
    backward_reloads_ = 0;
  }
  loaded_media_ = true;
  next_sequence_ = std::max(next_sequence_, first);  // missed segments are gone

  for (std::int64_t seq = next_sequence_; seq < end; ++seq) {
    const std::string& uri = playlist.segment_uris[static_cast<std::size_t>(seq - first)];
    Result<Url> url = ResolveReference(media_url_, uri);
    if (!url.ok()) {
      ++ctx_.counters.errors;
      ctx_.Warn(index_, media_url_.path, url.error().message());
      continue;
    }
    pending_.push_back({seq, url->Target()});
  }
  next_sequence_ = std::max(next_sequence_, end);
  ended_ = playlist.ended;
  // From when this load began: a full target duration after a change, half
  // of it when nothing changed.
  reload_at_ = request_start_ + (changed ? target_duration_ : target_duration_ / 2);
  ContinueSegments();
}

void Player::ContinueSegments() {
  if (!pending_.empty()) {
    // A stream that ended is not live: keep a few segments ahead, then
    // fetch at playback pace instead of all at once.
    if (ended_ && segments_loaded_ >= kLiveEdgeSegments) {
      return After(target_duration_, &Player::FetchSegment);
    }
    return FetchSegment();
  }
  if (ended_) return Finish();
  At(reload_at_, &Player::FetchMedia);
}

void Player::OnRejected(const std::string& why) {
  ++ctx_.counters.errors;
  ctx_.Warn(index_, PathForLog(connection_->target()), why);
  if (step_ == Step::kSegment) {
    pending_.pop_front();
    segment_attempts_ = 0;
    return ContinueSegments();
  }
  if (step_ == Step::kMedia && ++media_failures_ >= kMaxMediaFailuresBeforeRestart &&
      media_url_.Target() != ctx_.entry.Target()) {
    step_ = Step::kEntry;  // start over, like a reloaded page
    media_failures_ = 0;
    loaded_media_ = false;
    pending_.clear();
  }
  const milliseconds base = loaded_media_ ? target_duration_ : kDefaultRetryDelay;
  After(std::max(base, NextBackoff()), &Player::Retry);
}

void Player::OnNetworkError(const std::string& why) {
  ++ctx_.counters.errors;
  ctx_.Warn(index_, PathForLog(connection_->target()), why);
  if (step_ == Step::kSegment && ++segment_attempts_ >= kMaxSegmentAttempts) {
    pending_.pop_front();
    segment_attempts_ = 0;
    return After(NextBackoff(), &Player::ContinueSegments);
  }
  After(NextBackoff(), &Player::Retry);
}

milliseconds Player::NextBackoff() {
  std::uniform_real_distribution<double> jitter(1.0 - kBackoffJitter, 1.0 + kBackoffJitter);
  const auto delay =
      milliseconds(static_cast<std::int64_t>(static_cast<double>(backoff_.count()) * jitter(rng_)));
  backoff_ = std::min(backoff_ * 2, kMaxBackoff);
  return delay;
}

void Player::Finish() {
  connection_->Close();
  alarm_->Cancel();
  active_ = false;
  --ctx_.counters.players_active;
  spdlog::debug("viewers: player {} reached the end of the stream", index_);
  if (--ctx_.unfinished == 0) ctx_.stop_io();
}

}  // namespace headcount::viewers
