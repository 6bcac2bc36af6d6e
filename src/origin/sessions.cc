#include "origin/sessions.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "origin/base64.h"

namespace headcount {
namespace {

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

std::string_view AsChars(const unsigned char* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace

std::size_t ViewerSessions::RawIdHash::operator()(const RawId& id) const {
  // The nonce is random, and nobody can make a valid id without the key, so
  // its first bytes are a fine hash that no client can steer.
  std::size_t h = 0;
  std::memcpy(&h, id.data(), sizeof(h));
  return h;
}

ViewerSessions::ViewerSessions(SessionOptions options)
    : idle_timeout_(options.idle_timeout),
      signer_(KeyedSigner(std::move(options.key))),
      max_sessions_(options.max_sessions),
      max_sessions_per_client_(options.max_sessions_per_client) {}

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
  return Base64UrlEncode(AsChars(raw.data(), raw.size()));
}

bool ViewerSessions::Parse(std::string_view id, RawId& raw) {
  if (id.size() != kSessionIdChars) return false;
  const Result<std::string> bytes = Base64UrlDecode(id);
  if (!bytes.ok() || bytes->size() != raw.size()) return false;
  std::memcpy(raw.data(), bytes->data(), raw.size());
  return true;
}

bool ViewerSessions::Decode(std::string_view channel, std::string_view id, RawId& raw) const {
  return Parse(id, raw) && IsSigned(channel, raw);
}

bool ViewerSessions::IsSigned(std::string_view channel, const RawId& raw) const {
  unsigned char expected[kSessionTagBytes];
  Sign(channel, raw.data(), expected);
  return CRYPTO_memcmp(expected, raw.data() + kSessionNonceBytes, kSessionTagBytes) == 0;
}

bool ViewerSessions::Verify(std::string_view channel, std::string_view id) const {
  RawId raw;
  return Decode(channel, id, raw);
}

bool ViewerSessions::Touch(std::string_view channel, std::string_view id, WallTime now,
                           Activity activity, std::string_view client) {
  RawId raw;
  if (!Parse(id, raw)) return false;
  // A tracked session was verified for its channel when it started, and its
  // raw id holds the tag: the same bytes for the same channel verify again,
  // so the usual request (a viewer's next one) needs no HMAC.
  {
    std::lock_guard lock(mu_);
    if (const auto it = sessions_.find(raw);
        it != sessions_.end() && it->second.channel == channel) {
      it->second.last_seen = std::max(it->second.last_seen, now);
      return true;
    }
  }
  if (!IsSigned(channel, raw)) return false;

  std::lock_guard lock(mu_);
  if (const auto it = sessions_.find(raw); it != sessions_.end()) {
    it->second.last_seen = std::max(it->second.last_seen, now);
    return true;
  }
  if (activity == Activity::kPlaylist) return true;  // not a viewer until media flows
  if (sessions_.size() >= max_sessions_ && now - last_full_sweep_ >= idle_timeout_) {
    // Full: make room from idle sessions, at most once per idle timeout so a
    // full table does not cost a sweep per request.
    last_full_sweep_ = now;
    DropExpiredLocked(now);
  }
  if (sessions_.size() >= max_sessions_) {
    if (!full_logged_) {
      full_logged_ = true;
      spdlog::warn(
          "origin: {} viewer sessions tracked, the maximum; new viewers are served "
          "but not counted",
          max_sessions_);
    }
    return true;
  }
  if (!client.empty() && max_sessions_per_client_ != 0) {
    std::size_t& held = per_client_[std::string(client)];
    if (held >= max_sessions_per_client_) return true;  // served, not counted
    ++held;
  }
  sessions_.emplace(raw, Entry{ChannelId(channel), std::string(client), now});
  return true;
}

void ViewerSessions::DropExpiredLocked(WallTime now) {
  const WallTime cutoff = now - idle_timeout_;
  std::erase_if(sessions_, [&](const auto& kv) {
    if (kv.second.last_seen > cutoff) return false;
    if (const auto it = per_client_.find(kv.second.client); it != per_client_.end()) {
      if (--it->second == 0) per_client_.erase(it);
    }
    return true;
  });
  if (sessions_.size() < max_sessions_) full_logged_ = false;
}

std::map<ChannelId, std::int64_t> ViewerSessions::CountActive(WallTime now) {
  std::lock_guard lock(mu_);
  DropExpiredLocked(now);
  std::map<ChannelId, std::int64_t> counts;
  for (const auto& [raw, entry] : sessions_) ++counts[entry.channel];
  return counts;
}

std::int64_t ViewerSessions::ActiveTotal(WallTime now) {
  std::lock_guard lock(mu_);
  DropExpiredLocked(now);
  return std::int64_t(sessions_.size());
}

}  // namespace headcount
