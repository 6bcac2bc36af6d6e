// The proxies (a CDN, a load balancer) whose X-Forwarded-For headers are
// believed, as IPv4 and IPv6 networks, and the client address a request
// stands for once they are. Immutable after Parse; thread-safe.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace headcount {

// Networks one list may hold: far more than a CDN publishes (CloudFront's
// origin-facing list is about 150), and a bound on each request's matching.
inline constexpr std::size_t kMaxTrustedProxyNetworks = 1024;
// X-Forwarded-For hops looked at per request, from the right: a client can
// prepend any number of made-up ones, which are never reached.
inline constexpr std::size_t kMaxForwardedHops = 32;

class TrustedProxies {
 public:
  // No proxy is trusted: every request is its peer.
  TrustedProxies() = default;

  // Comma-separated CIDRs ("10.0.0.0/8, 2001:db8::/32"); a bare address is
  // one host (/32, /128). Empty text (or only commas and spaces) trusts
  // none. Fails (InvalidArgument, naming the entry and why) for an entry
  // that is not an IPv4 or IPv6 network, a prefix out of range, host bits
  // set below the prefix ("10.0.0.1/8": write 10.0.0.0/8), or more than
  // kMaxTrustedProxyNetworks entries.
  static Result<TrustedProxies> Parse(std::string_view text);

  // True when `address` (an IPv4 or IPv6 literal; an IPv4-mapped IPv6 one
  // counts as its IPv4 address) lies in one of the networks.
  bool Contains(std::string_view address) const;

  // The client a request from `peer` stands for: `peer` itself unless it is
  // trusted; then the rightmost X-Forwarded-For hop that is not trusted
  // (walking right to left through trusted hops, at most kMaxForwardedHops),
  // or the leftmost hop when all are trusted. A hop that is not an IP
  // literal stops the walk at the trusted address before it. `forwarded_for`
  // is the header's value, repeated headers joined with ", ".
  std::string ClientAddress(std::string_view peer,
                            std::optional<std::string_view> forwarded_for) const;

  bool empty() const { return networks_.empty(); }
  // The networks as canonical CIDR text, comma-separated (for the settings).
  std::string ToString() const;

 private:
  struct Network {
    bool v6 = false;
    std::array<unsigned char, 16> bytes{};  // v4 uses the first 4
    unsigned prefix = 0;
  };
  std::vector<Network> networks_;
};

}  // namespace headcount
