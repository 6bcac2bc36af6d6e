#include "origin/sessions.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <cstring>
#include <utility>

#include "core/base64.h"

namespace headcount {
namespace {

// Idle sessions one Touch drops on its way, at most: the table keeps up with
// the sessions leaving (each request drops a few, and a count drops the
// rest), and no request holds the lock for a burst of departures.
constexpr std::size_t kMaxExpiredPerTouch = 16;

// The replacement key is the MAC of this label under the session key: a key
// of its own, so a replacement's nonce (which the client sees) tells nothing
// about the tags of ids. The label starts with '\n', which no channel name
// does, so it is never the message of a tag either.
constexpr std::string_view kReplacementKeyLabel = "\nheadcount session replacement";

std::string RandomKey() {
  std::string key(kSessionKeyBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), int(key.size())) != 1) {
    spdlog::critical("origin: the system random generator failed; cannot make a session key");
    std::abort();
  }
  return key;
}

// The signer for `key`, or for a random key when it is empty; the key's
// bytes are wiped once its HMAC blocks are made.
crypto::HmacSha256 KeyedSigner(std::string key) {
  if (key.empty()) key = RandomKey();
  crypto::HmacSha256 signer(key);
  OPENSSL_cleanse(key.data(), key.size());
  return signer;
}

crypto::HmacSha256 ReplacementSigner(const crypto::HmacSha256& signer) {
  crypto::Sha256Digest key = signer.Sign({kReplacementKeyLabel});
  crypto::HmacSha256 replacer(crypto::AsBytes(key));
  OPENSSL_cleanse(key.data(), key.size());
  return replacer;
}

std::string_view AsChars(const unsigned char* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

std::string EncodeId(const SessionTable::Key& raw) {
  return Base64UrlEncode(AsChars(raw.data(), raw.size()));
}

}  // namespace

ViewerSessions::ViewerSessions(SessionOptions options)
    : idle_timeout_(options.idle_timeout),
      signer_(KeyedSigner(std::move(options.key))),
      replacer_(ReplacementSigner(signer_)),
      max_sessions_(options.max_sessions),
      sink_(options.sink),
      table_({.idle_timeout = options.idle_timeout,
              .max_sessions = options.max_sessions,
              .max_sessions_per_client = options.max_sessions_per_client}) {}

void ViewerSessions::Sign(std::string_view channel, const unsigned char* nonce,
                          unsigned char* tag) const {
  const crypto::Sha256Digest mac =
      signer_.Sign({channel, "\n", AsChars(nonce, kSessionNonceBytes)});
  std::memcpy(tag, mac.data(), kSessionTagBytes);
}

Result<std::string> ViewerSessions::Mint(std::string_view channel) const {
  RawId raw{};
  if (RAND_bytes(raw.data(), int(kSessionNonceBytes)) != 1) {
    return Error::Internal("random generator failed");
  }
  Sign(channel, raw.data(), raw.data() + kSessionNonceBytes);
  return EncodeId(raw);
}

std::string ViewerSessions::Replacement(std::string_view channel, std::string_view presented,
                                        std::string_view client) const {
  // Channel names and addresses hold no '\n'; the presented id goes last, so
  // it is the only part that may. Two inputs that still ran together would
  // only share a replacement.
  const crypto::Sha256Digest nonce =
      replacer_.Sign({channel, "\n", client, "\n", presented.substr(0, kMaxReplacedIdBytes)});
  RawId raw{};
  std::memcpy(raw.data(), nonce.data(), kSessionNonceBytes);
  Sign(channel, raw.data(), raw.data() + kSessionNonceBytes);
  return EncodeId(raw);
}

bool ViewerSessions::Parse(std::string_view id, RawId& raw) {
  if (id.size() != kSessionIdChars) return false;
  const Result<std::string> bytes = Base64UrlDecode(id);
  if (!bytes.ok() || bytes->size() != raw.size()) return false;
  std::memcpy(raw.data(), bytes->data(), raw.size());
  return true;
}

bool ViewerSessions::IsSigned(std::string_view channel, const RawId& raw) const {
  unsigned char expected[kSessionTagBytes];
  Sign(channel, raw.data(), expected);
  return CRYPTO_memcmp(expected, raw.data() + kSessionNonceBytes, kSessionTagBytes) == 0;
}

bool ViewerSessions::Verify(std::string_view channel, std::string_view id) const {
  RawId raw;
  return Parse(id, raw) && IsSigned(channel, raw);
}

bool ViewerSessions::Touch(std::string_view channel, std::string_view id, WallTime now,
                           Activity activity, std::string_view client) {
  RawId raw;
  if (!Parse(id, raw)) return false;
  // A tracked session was verified for its channel when it started, and its
  // raw id holds the tag: the same bytes for the same channel verify again,
  // so the usual request (a viewer's next one) needs no HMAC.
  {
    std::unique_lock lock(mu_);
    table_.Expire(now, kMaxExpiredPerTouch);
    if (table_.Refresh(raw, channel, now)) {
      lock.unlock();
      if (sink_ != nullptr) sink_->Seen(ViewerSink::Kind::kSession, channel, raw, now);
      return true;
    }
  }
  if (!IsSigned(channel, raw)) return false;
  if (activity == Activity::kPlaylist) {
    // Not a viewer until media flows; a session that has started (since the
    // look above) is still refreshed.
    std::unique_lock lock(mu_);
    const bool started = table_.Refresh(raw, channel, now);
    lock.unlock();
    if (started && sink_ != nullptr) sink_->Seen(ViewerSink::Kind::kSession, channel, raw, now);
    return true;
  }

  std::unique_lock lock(mu_);
  bool tracked = true;
  switch (table_.Start(raw, channel, client, now)) {
    case SessionTable::StartResult::kStarted:
      full_logged_ = false;
      break;
    case SessionTable::StartResult::kTableFull:
      tracked = false;
      if (!full_logged_) {
        full_logged_ = true;
        spdlog::warn(
            "origin: {} viewer sessions tracked, the maximum; new viewers are served "
            "but not counted",
            max_sessions_);
      }
      break;
    case SessionTable::StartResult::kAlreadyTracked:
      break;
    case SessionTable::StartResult::kClientAtCap:  // served, not counted
      tracked = false;
      break;
  }
  lock.unlock();
  if (tracked && sink_ != nullptr) sink_->Seen(ViewerSink::Kind::kSession, channel, raw, now);
  return true;
}

std::map<ChannelId, std::int64_t> ViewerSessions::CountActive(WallTime now) {
  std::lock_guard lock(mu_);
  table_.Expire(now);
  return table_.CountByChannel();
}

std::int64_t ViewerSessions::ActiveTotal(WallTime now) {
  std::lock_guard lock(mu_);
  table_.Expire(now);
  return std::int64_t(table_.size());
}

}  // namespace headcount
