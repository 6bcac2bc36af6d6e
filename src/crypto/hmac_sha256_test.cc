#include "crypto/hmac_sha256.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>
#include <thread>
#include <vector>

namespace headcount::crypto {
namespace {

std::string Hex(const Sha256Digest& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (const std::uint8_t b : bytes) {
    hex += kDigits[b >> 4];
    hex += kDigits[b & 0xF];
  }
  return hex;
}

// What OpenSSL's one-shot HMAC() computes, the reference.
std::string OpenSslHmacHex(const std::string& key, const std::string& data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), int(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &length);
  Sha256Digest out{};
  EXPECT_EQ(length, out.size());
  std::copy(mac, mac + out.size(), out.begin());
  return Hex(out);
}

TEST(Sha256Test, KnownDigests) {
  // FIPS 180-2 examples.
  EXPECT_EQ(Hex(Sha256({""})), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Hex(Sha256({"abc"})),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // Parts are hashed as their concatenation.
  EXPECT_EQ(Hex(Sha256({"a", "", "bc"})), Hex(Sha256({"abc"})));
  EXPECT_EQ(Hex(Sha256({})), Hex(Sha256({""})));
}

TEST(HmacSha256Test, MatchesRfc4231) {
  // RFC 4231 test cases 1, 2, 3, 4, 6 and 7 (6 and 7: keys longer than the
  // 64-byte block, hashed first).
  EXPECT_EQ(Hex(HmacSha256::Of(std::string(20, '\x0b'), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(Hex(HmacSha256::Of("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(Hex(HmacSha256::Of(std::string(20, '\xaa'), std::string(50, '\xdd'))),
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
  std::string key4;
  for (char c = 1; c <= 25; ++c) key4 += c;
  EXPECT_EQ(Hex(HmacSha256::Of(key4, std::string(50, '\xcd'))),
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
  EXPECT_EQ(Hex(HmacSha256::Of(std::string(131, '\xaa'),
                               "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  EXPECT_EQ(Hex(HmacSha256::Of(std::string(131, '\xaa'),
                               "This is a test using a larger than block-size key and a larger "
                               "than block-size data. The key needs to be hashed before being "
                               "used by the HMAC algorithm.")),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

TEST(HmacSha256Test, SameAsOpenSslForEveryKeyLength) {
  // Around the block size (64) and its hashed-key path, and the empty key.
  for (std::size_t length = 0; length <= 2 * kSha256BlockBytes + 1; ++length) {
    std::string key;
    for (std::size_t i = 0; i < length; ++i) key += char(i * 7 + 1);
    const HmacSha256 mac(key);
    const std::string data = "message of key " + std::to_string(length);
    EXPECT_EQ(Hex(mac.Sign({data})), OpenSslHmacHex(key, data)) << length << "-byte key";
    // A key reused: the same MAC each time, and parts are concatenated.
    EXPECT_EQ(Hex(mac.Sign({"message ", "of key ", std::to_string(length)})),
              OpenSslHmacHex(key, data));
  }
}

TEST(HmacSha256Test, CopiesSignAlike) {
  const HmacSha256 original("key");
  const HmacSha256 copy = original;  // NOLINT(performance-unnecessary-copy-initialization)
  EXPECT_EQ(Hex(copy.Sign({"data"})), Hex(original.Sign({"data"})));
  EXPECT_EQ(Hex(copy.Sign({"data"})), OpenSslHmacHex("key", "data"));
}

TEST(HmacSha256Test, OneKeyFromManyThreads) {
  // Digest contexts are per thread: concurrent MACs under one key agree.
  const HmacSha256 mac("shared key");
  const std::string expected = OpenSslHmacHex("shared key", "payload");
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (std::size_t t = 0; t < mismatches.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 1000; ++i) {
        if (Hex(mac.Sign({"pay", "load"})) != expected) ++mismatches[t];
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(mismatches, std::vector<int>(mismatches.size(), 0));
}

}  // namespace
}  // namespace headcount::crypto
