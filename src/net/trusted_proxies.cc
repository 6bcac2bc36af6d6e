// TrustedProxies: CIDR parsing with Boost.Asio's address and network types,
// and the right-to-left walk through X-Forwarded-For.
#include "net/trusted_proxies.h"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>
#include <cstring>

#include "core/strings.h"

namespace headcount {
namespace {

namespace ip = boost::asio::ip;

// `text` as an address, an IPv4-mapped IPv6 one as IPv4; "[v6]" accepted.
std::optional<ip::address> ParseAddress(std::string_view text) {
  if (text.size() > 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  boost::system::error_code ec;
  ip::address address = ip::make_address(std::string(text), ec);
  if (ec) return std::nullopt;
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return ip::make_address_v4(ip::v4_mapped, address.to_v6());
  }
  return address;
}

// True when the first `prefix` bits of `a` and `b` agree.
bool PrefixMatches(const unsigned char* a, const unsigned char* b, unsigned prefix) {
  const unsigned whole = prefix / 8;
  if (std::memcmp(a, b, whole) != 0) return false;
  const unsigned rest = prefix % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<unsigned char>(0xff << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

}  // namespace

Result<TrustedProxies> TrustedProxies::Parse(std::string_view text) {
  TrustedProxies out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string entry(Trim(text.substr(start, comma - start)));
    start = comma + 1;
    if (entry.empty()) continue;
    if (out.networks_.size() == kMaxTrustedProxyNetworks) {
      return Error::InvalidArgument("more than " + std::to_string(kMaxTrustedProxyNetworks) +
                                    " networks");
    }
    const std::string shown = "\"" + entry.substr(0, 64) + "\"";
    Network network;
    boost::system::error_code ec;
    if (entry.find('/') == std::string::npos) {
      const std::optional<ip::address> address = ParseAddress(entry);
      if (!address) {
        return Error::InvalidArgument(shown + " is not an IPv4 or IPv6 address or CIDR network");
      }
      network.v6 = address->is_v6();
      if (network.v6) {
        const auto bytes = address->to_v6().to_bytes();
        std::copy(bytes.begin(), bytes.end(), network.bytes.begin());
        network.prefix = 128;
      } else {
        const auto bytes = address->to_v4().to_bytes();
        std::copy(bytes.begin(), bytes.end(), network.bytes.begin());
        network.prefix = 32;
      }
    } else if (entry.find(':') == std::string::npos) {
      const ip::network_v4 v4 = ip::make_network_v4(entry, ec);
      if (ec) {
        return Error::InvalidArgument(shown + " is not an IPv4 network like 10.0.0.0/8 (" +
                                      ec.message() + ")");
      }
      if (v4 != v4.canonical()) {
        return Error::InvalidArgument(shown + " has host bits set below its prefix; write " +
                                      v4.canonical().to_string());
      }
      const auto bytes = v4.address().to_bytes();
      std::copy(bytes.begin(), bytes.end(), network.bytes.begin());
      network.prefix = v4.prefix_length();
    } else {
      const ip::network_v6 v6 = ip::make_network_v6(entry, ec);
      if (ec) {
        return Error::InvalidArgument(shown + " is not an IPv6 network like 2001:db8::/32 (" +
                                      ec.message() + ")");
      }
      if (v6 != v6.canonical()) {
        return Error::InvalidArgument(shown + " has host bits set below its prefix; write " +
                                      v6.canonical().to_string());
      }
      network.v6 = true;
      const auto bytes = v6.address().to_bytes();
      std::copy(bytes.begin(), bytes.end(), network.bytes.begin());
      network.prefix = v6.prefix_length();
    }
    out.networks_.push_back(network);
  }
  return out;
}

bool TrustedProxies::Contains(std::string_view address) const {
  if (networks_.empty()) return false;
  const std::optional<ip::address> parsed = ParseAddress(address);
  if (!parsed) return false;
  std::array<unsigned char, 16> bytes{};
  if (parsed->is_v6()) {
    bytes = parsed->to_v6().to_bytes();
  } else {
    const auto v4 = parsed->to_v4().to_bytes();
    std::copy(v4.begin(), v4.end(), bytes.begin());
  }
  for (const Network& n : networks_) {
    if (n.v6 == parsed->is_v6() && PrefixMatches(n.bytes.data(), bytes.data(), n.prefix)) {
      return true;
    }
  }
  return false;
}

std::string TrustedProxies::ClientAddress(std::string_view peer,
                                          std::optional<std::string_view> forwarded_for) const {
  if (!forwarded_for || !Contains(peer)) return std::string(peer);
  std::string_view rest = *forwarded_for;
  std::string client(peer);
  for (std::size_t hops = 0; hops < kMaxForwardedHops; ++hops) {
    const std::size_t comma = rest.rfind(',');
    const std::string_view hop =
        Trim(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
    const std::optional<ip::address> address = ParseAddress(hop);
    if (!address) return client;  // garbage: the trusted hop before it is all we know
    client = address->to_string();
    if (!Contains(client)) return client;
    if (comma == std::string_view::npos) return client;  // every hop trusted: the leftmost
    rest = rest.substr(0, comma);
  }
  return client;
}

std::string TrustedProxies::ToString() const {
  std::string out;
  for (const Network& n : networks_) {
    if (!out.empty()) out += ",";
    if (n.v6) {
      ip::address_v6::bytes_type bytes;
      std::copy(n.bytes.begin(), n.bytes.end(), bytes.begin());
      out += ip::address_v6(bytes).to_string();
    } else {
      ip::address_v4::bytes_type bytes;
      std::copy(n.bytes.begin(), n.bytes.begin() + 4, bytes.begin());
      out += ip::address_v4(bytes).to_string();
    }
    out += "/" + std::to_string(n.prefix);
  }
  return out;
}

}  // namespace headcount
