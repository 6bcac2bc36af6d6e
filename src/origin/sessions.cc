#include "origin/sessions.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <memory>

#include "origin/base64.h"

namespace headcount {
namespace {

constexpr unsigned int kSha256Bytes = 32;

std::string RandomKey() {
  std::string key(kSessionKeyBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), int(key.size())) != 1) {
    spdlog::critical("origin: the system random generator failed; cannot make a session key");
    std::abort();
  }
  return key;
}

using HmacBlock = std::array<unsigned char, 64>;

// The key zero-padded to a block (hashed first when longer), XORed with `pad`.
HmacBlock KeyBlock(const std::string& key, unsigned char pad) {
  HmacBlock block{};
  if (key.size() > block.size()) {
    unsigned int len = 0;
    if (EVP_Digest(key.data(), key.size(), block.data(), &len, EVP_sha256(), nullptr) != 1) {
      spdlog::critical("origin: SHA-256 failed; cannot sign session ids");
      std::abort();
    }
  } else {
    std::memcpy(block.data(), key.data(), key.size());
  }
  for (unsigned char& b : block) b ^= pad;
  return block;
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

// SHA-256 fetched once (OpenSSL 3 looks the algorithm up on every use of
// EVP_sha256(); a fetched one skips that) and a digest context per thread,
// reused across calls. Null when OpenSSL fails.
const EVP_MD* Sha256() {
  static EVP_MD* const kSha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return kSha256;
}
EVP_MD_CTX* ThreadDigestContext() {
  thread_local const std::unique_ptr<EVP_MD_CTX, MdCtxFree> kContext(EVP_MD_CTX_new());
  return kContext.get();
}

// SHA-256 of `block` followed by `parts`, into `out` (32 bytes).
bool DigestAfterBlock(const HmacBlock& block, std::initializer_list<std::string_view> parts,
                      unsigned char* out) {
  EVP_MD_CTX* ctx = ThreadDigestContext();
  const EVP_MD* md = Sha256();
  if (ctx == nullptr || md == nullptr || EVP_DigestInit_ex(ctx, md, nullptr) != 1 ||
      EVP_DigestUpdate(ctx, block.data(), block.size()) != 1) {
    return false;
  }
  for (std::string_view part : parts) {
    if (EVP_DigestUpdate(ctx, part.data(), part.size()) != 1) return false;
  }
  unsigned int len = 0;
  return EVP_DigestFinal_ex(ctx, out, &len) == 1 && len == kSha256Bytes;
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
      inner_pad_(KeyBlock(key_, 0x36)),
      outer_pad_(KeyBlock(key_, 0x5c)),
      max_sessions_(options.max_sessions),
      max_sessions_per_client_(options.max_sessions_per_client) {}

bool ViewerSessions::Sign(std::string_view channel, const unsigned char* nonce,
                          unsigned char* tag) const {
  // HMAC(key, m) = H(outer_pad || H(inner_pad || m)), m = channel "\n" nonce:
  // the same tags as OpenSSL's HMAC(), which sets the key up on every call.
  unsigned char inner[kSha256Bytes];
  unsigned char mac[kSha256Bytes];
  const std::string_view nonce_bytes(reinterpret_cast<const char*>(nonce), kSessionNonceBytes);
  if (!DigestAfterBlock(inner_pad_, {channel, "\n", nonce_bytes}, inner) ||
      !DigestAfterBlock(outer_pad_,
                        {std::string_view(reinterpret_cast<const char*>(inner), sizeof(inner))},
                        mac)) {
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
