// SHA-256 and HMAC-SHA256 (RFC 2104) over OpenSSL, for keys used many times:
// SigV4 signing keys and the origin's session key. Thread-safe.
//
// Neither fails: with OpenSSL's default provider, SHA-256 can fail only when
// memory runs out (a digest context is allocated once per thread), which ends
// the process, as a failed `new` would. A MAC computed wrong would either
// forge viewers or be refused by AWS, so a failure aborts (logged) rather
// than return bytes that are not the digest.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string_view>

namespace headcount::crypto {

inline constexpr std::size_t kSha256Bytes = 32;
// SHA-256's block, which HMAC pads the key to.
inline constexpr std::size_t kSha256BlockBytes = 64;

using Sha256Digest = std::array<std::uint8_t, kSha256Bytes>;

// SHA-256 of the concatenation of `parts`.
Sha256Digest Sha256(std::initializer_list<std::string_view> parts);

// The bytes of `digest`, to feed it to another hash or MAC.
inline std::string_view AsBytes(const Sha256Digest& digest) {
  return {reinterpret_cast<const char*>(digest.data()), digest.size()};
}

// HMAC-SHA256 under one key, with the key's inner and outer blocks computed
// once: a MAC is then two plain SHA-256 digests, with the same result as
// OpenSSL's HMAC(), which sets the key up on every call. Copyable; the copies
// hold the key blocks (wiped when destroyed).
//
// Example:
//   const crypto::HmacSha256 mac(key);
//   crypto::Sha256Digest tag = mac.Sign({channel, "\n", nonce});
class HmacSha256 {
 public:
  // Any length; a key longer than a block is hashed first (RFC 2104).
  explicit HmacSha256(std::string_view key);
  ~HmacSha256();
  HmacSha256(const HmacSha256&) = default;
  HmacSha256& operator=(const HmacSha256&) = default;

  // HMAC-SHA256 of the concatenation of `parts`.
  Sha256Digest Sign(std::initializer_list<std::string_view> parts) const;

  // One MAC under a key used once.
  static Sha256Digest Of(std::string_view key, std::string_view data) {
    return HmacSha256(key).Sign({data});
  }

 private:
  using Block = std::array<std::uint8_t, kSha256BlockBytes>;
  Block inner_pad_;  // the padded key XOR 0x36
  Block outer_pad_;  // the padded key XOR 0x5c
};

}  // namespace headcount::crypto
