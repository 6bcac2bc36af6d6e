#include "origin/sessions.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

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
      key_(options.key.empty() ? RandomKey() : std::move(options.key)),
      max_sessions_(options.max_sessions),
      max_sessions_per_client_(options.max_sessions_per_client) {}

bool ViewerSessions::Sign(std::string_view channel, const unsigned char* nonce,
                          unsigned char* tag) const {
  std::string message;
  message.reserve(channel.size() + 1 + kSessionNonceBytes);
  message += channel;
  message += '\n';
  message.append(reinterpret_cast<const char*>(nonce), kSessionNonceBytes);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (HMAC(EVP_sha256(), key_.data(), int(key_.size()),
           reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac,
           &mac_len) == nullptr ||
      mac_len < kSessionTagBytes) {
    return false;
  }
  std::memcpy(tag, mac, kSessionTagBytes);
  return true;
}

Result<std::string> ViewerSessions::Mint(std::string_view channel) const {
  RawId raw{};
  if (RAND_bytes(raw.data(), int(kSessionNonceBytes)) != 1) {
    return Error::Internal("random generator failed");
  }
  if (!Sign(channel, raw.data(), raw.data() + kSessionNonceBytes)) {
    return Error::Internal("HMAC failed");
  }
  return Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(raw.data()), raw.size()));
}

bool ViewerSessions::Decode(std::string_view channel, std::string_view id, RawId& raw) const {
  if (id.size() != kSessionIdChars) return false;
  const Result<std::string> bytes = Base64UrlDecode(id);
  if (!bytes.ok() || bytes->size() != raw.size()) return false;
  std::memcpy(raw.data(), bytes->data(), raw.size());
  unsigned char expected[kSessionTagBytes];
  if (!Sign(channel, raw.data(), expected)) return false;
  return CRYPTO_memcmp(expected, raw.data() + kSessionNonceBytes, kSessionTagBytes) == 0;
}

bool ViewerSessions::Verify(std::string_view channel, std::string_view id) const {
  RawId raw;
  return Decode(channel, id, raw);
}

bool ViewerSessions::Touch(std::string_view channel, std::string_view id, WallTime now,
                           Activity activity, std::string_view client) {
  RawId raw;
  if (!Decode(channel, id, raw)) return false;

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
