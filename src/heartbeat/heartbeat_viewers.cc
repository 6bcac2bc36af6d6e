#include "heartbeat/heartbeat_viewers.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "core/base64.h"

namespace headcount {
namespace {

// Expired records one Beat drops on its way, at most (as origin sessions).
constexpr std::size_t kMaxExpiredPerBeat = 16;

// The token key is the MAC of this label under the session key. It starts
// with '\n', which no channel name does, so it is never the message of an
// origin session id's tag, and it differs from the origin's replacement label.
constexpr std::string_view kTokenKeyLabel = "\nheadcount heartbeat token";
// A sid's record key is the MAC of channel and sid under the key of this
// label: a client cannot steer where its records hash to.
constexpr std::string_view kSidKeyLabel = "\nheadcount cmcd sid";

// The MAC key derived from `key` (random when empty) for `label`.
crypto::HmacSha256 DerivedSigner(std::string key, std::string_view label) {
  if (key.empty()) {
    key.assign(kSessionKeyBytes, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), int(key.size())) != 1) {
      spdlog::critical("heartbeat: the system random generator failed; cannot make a key");
      std::abort();
    }
  }
  crypto::Sha256Digest derived = crypto::HmacSha256(key).Sign({label});
  OPENSSL_cleanse(key.data(), key.size());
  crypto::HmacSha256 signer(crypto::AsBytes(derived));
  OPENSSL_cleanse(derived.data(), derived.size());
  return signer;
}

std::string_view AsChars(const unsigned char* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// The table's lanes: tokens expire after `expiry`, sids after `cmcd_timeout`.
constexpr std::size_t kTokenLane = 0;
constexpr std::size_t kSidLane = 1;

constexpr std::size_t kSignedBytes = kTokenNonceBytes + kTokenIssuedBytes;

std::int64_t SecondsOf(WallTime t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace

HeartbeatViewers::HeartbeatViewers(HeartbeatOptions options)
    : interval_(options.interval),
      expiry_(options.expiry),
      cmcd_timeout_(options.cmcd_timeout),
      max_viewers_(options.max_viewers),
      sink_(options.sink),
      signer_(DerivedSigner(options.key, kTokenKeyLabel)),
      sid_signer_(DerivedSigner(std::move(options.key), kSidKeyLabel)),
      table_({.idle_timeout = options.expiry,
              .second_lane_idle_timeout = options.cmcd_timeout,
              .max_sessions = options.max_viewers,
              .max_sessions_per_client = options.max_viewers_per_client}) {}

void HeartbeatViewers::Sign(std::string_view channel, RawToken& raw) const {
  const crypto::Sha256Digest mac = signer_.Sign({channel, "\n", AsChars(raw.data(), kSignedBytes)});
  std::memcpy(raw.data() + kSignedBytes, mac.data(), kTokenTagBytes);
}

Result<std::string> HeartbeatViewers::Mint(std::string_view channel, WallTime now) const {
  RawToken raw{};
  if (RAND_bytes(raw.data(), int(kTokenNonceBytes)) != 1) {
    return Error::Internal("random generator failed");
  }
  const auto issued = static_cast<std::uint32_t>(std::max<std::int64_t>(0, SecondsOf(now)));
  for (std::size_t i = 0; i < kTokenIssuedBytes; ++i) {
    raw[kTokenNonceBytes + i] =
        static_cast<unsigned char>(issued >> (8 * (kTokenIssuedBytes - 1 - i)));
  }
  Sign(channel, raw);
  return Base64UrlEncode(AsChars(raw.data(), raw.size()));
}

bool HeartbeatViewers::Verify(std::string_view channel, std::string_view token,
                              RawToken& raw) const {
  if (token.size() != kTokenChars) return false;
  const Result<std::string> bytes = Base64UrlDecode(token);
  if (!bytes.ok() || bytes->size() != raw.size()) return false;
  std::memcpy(raw.data(), bytes->data(), raw.size());
  RawToken expected = raw;
  Sign(channel, expected);
  return CRYPTO_memcmp(expected.data() + kSignedBytes, raw.data() + kSignedBytes, kTokenTagBytes) ==
         0;
}

BeatResult HeartbeatViewers::Beat(std::string_view channel, std::string_view token,
                                  std::string_view client, WallTime now, bool left) {
  RawToken raw;
  if (!Verify(channel, token, raw)) return BeatResult::kInvalid;
  std::uint32_t issued = 0;
  for (std::size_t i = 0; i < kTokenIssuedBytes; ++i) {
    issued = issued << 8 | raw[kTokenNonceBytes + i];
  }

  // A token made longer ago than the expiry: one node with no record of it
  // refuses it; a cluster asks the other nodes first (ViewerSink), since a
  // player whose heartbeats go round-robin reaches this node less often than
  // the expiry.
  const bool old = SecondsOf(now) - std::int64_t{issued} > expiry_.count();
  const bool shared = sink_ != nullptr && sink_->SharesFirstReports();
  const bool refused = old && shared && !left && sink_->RefusedOldToken(channel, raw, now);

  std::unique_lock lock(mu_);
  table_.Expire(now, kMaxExpiredPerBeat);
  if (refused) {
    (void)table_.Remove(raw, channel);
    return BeatResult::kExpired;
  }
  if (left) {
    (void)table_.Remove(raw, channel);
    lock.unlock();
    if (sink_ != nullptr) sink_->Gone(ViewerSink::Kind::kToken, channel, raw);
    return BeatResult::kLeft;
  }
  if (const std::optional<SessionTable::Tracked> seen = table_.Find(raw, channel)) {
    // Half the interval: a player's timer may run a little early or late,
    // and one that sends a burst (a reload, a bug, a loop) counts as one.
    if (now - seen->last_seen < interval_ / 2) return BeatResult::kTooSoon;
    (void)table_.Refresh(raw, channel, now);
    (void)table_.Count(raw, channel);
    lock.unlock();
    if (sink_ != nullptr) sink_->Seen(ViewerSink::Kind::kToken, channel, raw, now);
    return BeatResult::kAccepted;
  }
  if (old && !shared) return BeatResult::kExpired;
  switch (table_.Start(raw, channel, client, now, /*counted=*/false, kTokenLane)) {
    case SessionTable::StartResult::kStarted:
      full_logged_ = false;
      lock.unlock();
      if (sink_ != nullptr) {
        sink_->FirstReport(ViewerSink::Kind::kToken, channel, raw, now,
                           old ? ViewerSink::Sighting::kOldToken : ViewerSink::Sighting::kCounts);
      }
      return BeatResult::kAccepted;
    case SessionTable::StartResult::kAlreadyTracked:  // for another channel: 96-bit collision
      return BeatResult::kInvalid;
    case SessionTable::StartResult::kClientAtCap:
      return BeatResult::kClientAtCap;
    case SessionTable::StartResult::kTableFull:
      if (!full_logged_) {
        full_logged_ = true;
        spdlog::warn("heartbeat: {} viewers tracked, the maximum; new viewers are not counted",
                     max_viewers_);
      }
      return BeatResult::kTableFull;
  }
  return BeatResult::kTableFull;
}

ReportResult HeartbeatViewers::Report(std::string_view channel, std::string_view sid,
                                      std::string_view client, WallTime now, CmcdPlayState state) {
  if (sid.empty() || sid.size() > kMaxCmcdSidChars) return ReportResult::kInvalidSid;
  const crypto::Sha256Digest mac = sid_signer_.Sign({channel, "\n", sid});
  SessionTable::Key key;
  std::memcpy(key.data(), mac.data(), key.size());

  std::unique_lock lock(mu_);
  table_.Expire(now, kMaxExpiredPerBeat);
  if (table_.Refresh(key, channel, now)) {
    // Marked: the sid has stated a play state. One that never has counts
    // while its reports come.
    bool counted = false;
    switch (state) {
      case CmcdPlayState::kWatching:
        (void)table_.Mark(key, channel);
        counted = table_.Count(key, channel);
        break;
      case CmcdPlayState::kNotWatching:
        (void)table_.Mark(key, channel);
        (void)table_.Uncount(key, channel);
        break;
      case CmcdPlayState::kUnsaid:
        if (const auto seen = table_.Find(key, channel)) {
          counted = seen->counted || (!seen->marked && table_.Count(key, channel));
        }
        break;
    }
    lock.unlock();
    if (sink_ != nullptr) {
      if (counted) {
        sink_->Seen(ViewerSink::Kind::kSid, channel, key, now);
      } else if (state == CmcdPlayState::kNotWatching) {
        sink_->Gone(ViewerSink::Kind::kSid, channel, key);
      }
    }
    return ReportResult::kAccepted;
  }
  switch (table_.Start(key, channel, client, now, /*counted=*/false, kSidLane)) {
    case SessionTable::StartResult::kStarted:
      if (state != CmcdPlayState::kUnsaid) (void)table_.Mark(key, channel);
      full_logged_ = false;
      lock.unlock();
      if (sink_ != nullptr) {
        // Another node may count the sid (its first report went there):
        // one that says it stopped watching stops counting there too.
        const bool watching = state != CmcdPlayState::kNotWatching;
        sink_->FirstReport(
            ViewerSink::Kind::kSid, channel, key, now,
            watching ? ViewerSink::Sighting::kCounts : ViewerSink::Sighting::kNotWatching);
        if (!watching) sink_->Gone(ViewerSink::Kind::kSid, channel, key);
      }
      return ReportResult::kAccepted;
    case SessionTable::StartResult::kAlreadyTracked:  // for another channel: 192-bit collision
      full_logged_ = false;
      return ReportResult::kAccepted;
    case SessionTable::StartResult::kClientAtCap:
      return ReportResult::kClientAtCap;
    case SessionTable::StartResult::kTableFull:
      if (!full_logged_) {
        full_logged_ = true;
        spdlog::warn("cmcd: {} viewers tracked, the maximum; new sids are not counted",
                     max_viewers_);
      }
      return ReportResult::kTableFull;
  }
  return ReportResult::kTableFull;
}

std::map<ChannelId, std::int64_t> HeartbeatViewers::CountActive(WallTime now) {
  std::lock_guard lock(mu_);
  table_.Expire(now);
  std::map<ChannelId, std::int64_t> counts = table_.CountByChannel(kTokenLane);
  for (const auto& [channel, sids] : table_.CountByChannel(kSidLane)) {
    std::int64_t& n = counts[channel];
    n = std::max(n, sids);
  }
  return counts;
}

std::map<ChannelId, std::int64_t> HeartbeatViewers::CountSids(WallTime now) {
  std::lock_guard lock(mu_);
  table_.Expire(now);
  return table_.CountByChannel(kSidLane);
}

CmcdPlayState CmcdPlayStateOf(std::optional<std::string_view> sta) {
  if (!sta) return CmcdPlayState::kUnsaid;
  // CTA-5004-B: starting, playing, seeking, rebuffering, waiting.
  constexpr std::string_view kWatching = "spkrw";
  return sta->size() == 1 && kWatching.find((*sta)[0]) != std::string_view::npos
             ? CmcdPlayState::kWatching
             : CmcdPlayState::kNotWatching;
}

std::int64_t HeartbeatViewers::ActiveTotal(WallTime now) {
  std::int64_t total = 0;
  for (const auto& [channel, n] : CountActive(now)) total += n;
  return total;
}

}  // namespace headcount
