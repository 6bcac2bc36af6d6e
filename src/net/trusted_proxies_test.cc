#include "net/trusted_proxies.h"

#include <gtest/gtest.h>

namespace headcount {
namespace {

TrustedProxies ParsedProxies(std::string_view text) {
  auto parsed = TrustedProxies::Parse(text);
  EXPECT_TRUE(parsed.ok()) << (parsed.ok() ? "" : parsed.error().message());
  return parsed.ok() ? *parsed : TrustedProxies{};
}

TEST(TrustedProxiesTest, ParsesIpv4AndIpv6NetworksAndHosts) {
  const TrustedProxies p = ParsedProxies(" 10.0.0.0/8, 2001:db8::/32 ,192.0.2.7,::1,,");
  EXPECT_EQ(p.ToString(), "10.0.0.0/8,2001:db8::/32,192.0.2.7/32,::1/128");
  EXPECT_TRUE(p.Contains("10.255.1.2"));
  EXPECT_FALSE(p.Contains("11.0.0.1"));
  EXPECT_TRUE(p.Contains("2001:db8:ffff::1"));
  EXPECT_FALSE(p.Contains("2001:db9::1"));
  EXPECT_TRUE(p.Contains("192.0.2.7"));
  EXPECT_FALSE(p.Contains("192.0.2.8"));
  EXPECT_TRUE(p.Contains("::ffff:10.1.2.3"));  // IPv4-mapped is its IPv4 address
  EXPECT_TRUE(p.Contains("::1"));
  EXPECT_FALSE(p.Contains("not an address"));
  EXPECT_TRUE(ParsedProxies("").empty());
  EXPECT_TRUE(ParsedProxies(" , ").empty());
}

TEST(TrustedProxiesTest, PrefixesThatAreNotByteAligned) {
  const TrustedProxies p = ParsedProxies("172.16.0.0/12,fe80::/10");
  EXPECT_TRUE(p.Contains("172.31.255.255"));
  EXPECT_FALSE(p.Contains("172.32.0.0"));
  EXPECT_TRUE(p.Contains("febf::1"));
  EXPECT_FALSE(p.Contains("fec0::1"));
}

TEST(TrustedProxiesTest, RefusesWhatIsNotANetworkAndSaysWhy) {
  for (const char* bad : {"10.0.0.0/33", "10.0.0/8", "example.com", "2001:db8::/129", "10.0.0.0/-1",
                          "10.0.0.0/8/8", "1.2.3.4:80"}) {
    const auto r = TrustedProxies::Parse(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message().find(bad), std::string::npos) << r.error().message();
  }
  const auto host_bits = TrustedProxies::Parse("10.0.0.1/8");
  ASSERT_FALSE(host_bits.ok());
  EXPECT_NE(host_bits.error().message().find("write 10.0.0.0/8"), std::string::npos);
  std::string many;
  for (std::size_t i = 0; i <= kMaxTrustedProxyNetworks; ++i) many += "10.0.0.1,";
  EXPECT_FALSE(TrustedProxies::Parse(many).ok());
}

TEST(TrustedProxiesTest, ClientIsTheRightmostUntrustedHopOnlyBehindATrustedPeer) {
  const TrustedProxies p = ParsedProxies("10.0.0.0/8");
  // An untrusted peer's header is ignored: anyone can send it.
  EXPECT_EQ(p.ClientAddress("203.0.113.9", "198.51.100.1"), "203.0.113.9");
  EXPECT_EQ(p.ClientAddress("10.0.0.2", std::nullopt), "10.0.0.2");
  EXPECT_EQ(p.ClientAddress("10.0.0.2", "198.51.100.1"), "198.51.100.1");
  // The client prepends a made-up hop; the proxy appends what it saw.
  EXPECT_EQ(p.ClientAddress("10.0.0.2", "1.1.1.1, 198.51.100.1, 10.0.0.3"), "198.51.100.1");
  EXPECT_EQ(p.ClientAddress("10.0.0.2", "10.0.0.9,10.0.0.3"), "10.0.0.9");  // all trusted
  EXPECT_EQ(p.ClientAddress("10.0.0.2", "garbage, 10.0.0.3"), "10.0.0.3");
  EXPECT_EQ(p.ClientAddress("10.0.0.2", ""), "10.0.0.2");
  EXPECT_EQ(p.ClientAddress("::ffff:10.0.0.2", "[2001:db8::1]"), "2001:db8::1");
  EXPECT_EQ(TrustedProxies{}.ClientAddress("10.0.0.2", "198.51.100.1"), "10.0.0.2");
}

}  // namespace
}  // namespace headcount
