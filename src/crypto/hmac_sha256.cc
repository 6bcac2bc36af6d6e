#include "crypto/hmac_sha256.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

namespace headcount::crypto {
namespace {

// SHA-256 fetched once, and a digest context per thread (below): OpenSSL
// 3's one-shot SHA256() and HMAC() look the algorithm up and build a context
// on every call, which cost more than the hashing (in callgrind, a third of
// the instructions of a 2,000-channel tick, all SigV4).
const EVP_MD* Sha256Md() {
  static const EVP_MD* const kSha256 = [] {
    const EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return fetched != nullptr ? fetched : EVP_sha256();
  }();
  return kSha256;
}

[[noreturn]] void DigestFailed() {
  spdlog::critical("crypto: OpenSSL's SHA-256 failed (out of memory?)");
  std::abort();
}

// SHA-256 of `prefix` followed by `parts`, through a digest context reused
// per thread.
Sha256Digest Digest(std::string_view prefix, std::initializer_list<std::string_view> parts) {
  thread_local const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> kContext(
      EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  EVP_MD_CTX* ctx = kContext.get();
  bool ok = ctx != nullptr && EVP_DigestInit_ex2(ctx, Sha256Md(), nullptr) == 1 &&
            EVP_DigestUpdate(ctx, prefix.data(), prefix.size()) == 1;
  for (std::string_view part : parts) {
    ok = ok && EVP_DigestUpdate(ctx, part.data(), part.size()) == 1;
  }
  Sha256Digest out;
  unsigned int length = 0;
  ok = ok && EVP_DigestFinal_ex(ctx, out.data(), &length) == 1 && length == out.size();
  if (!ok) DigestFailed();
  return out;
}

std::string_view View(const std::array<std::uint8_t, kSha256BlockBytes>& block) {
  return {reinterpret_cast<const char*>(block.data()), block.size()};
}

}  // namespace

Sha256Digest Sha256(std::initializer_list<std::string_view> parts) { return Digest({}, parts); }

HmacSha256::HmacSha256(std::string_view key) {
  Block block{};
  if (key.size() > block.size()) {
    Sha256Digest hashed = Sha256({key});
    std::copy(hashed.begin(), hashed.end(), block.begin());
    OPENSSL_cleanse(hashed.data(), hashed.size());
  } else {
    std::copy(key.begin(), key.end(), block.begin());
  }
  for (std::size_t i = 0; i < block.size(); ++i) {
    inner_pad_[i] = block[i] ^ 0x36;
    outer_pad_[i] = block[i] ^ 0x5c;
  }
  OPENSSL_cleanse(block.data(), block.size());
}

HmacSha256::~HmacSha256() {
  OPENSSL_cleanse(inner_pad_.data(), inner_pad_.size());
  OPENSSL_cleanse(outer_pad_.data(), outer_pad_.size());
}

Sha256Digest HmacSha256::Sign(std::initializer_list<std::string_view> parts) const {
  // HMAC(key, m) = H(outer_pad || H(inner_pad || m)).
  const Sha256Digest inner = Digest(View(inner_pad_), parts);
  return Digest(View(outer_pad_), {AsBytes(inner)});
}

}  // namespace headcount::crypto
