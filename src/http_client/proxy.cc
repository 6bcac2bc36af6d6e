// Proxy URLs and NO_PROXY matching, as curl reads them.
#include "http_client/proxy.h"

#include <openssl/evp.h>

#include <cstdlib>
#include <utility>

#include "core/strings.h"

namespace headcount::http_client {
namespace {

// curl's default proxy port.
constexpr std::uint16_t kDefaultProxyPort = 1080;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    const int hi = HexValue(s[i + 1]);
    const int lo = HexValue(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

std::string Base64(std::string_view s) {
  std::string out(4 * ((s.size() + 2) / 3), '\0');
  const int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string_view WithoutTrailingDot(std::string_view s) {
  if (!s.empty() && s.back() == '.') s.remove_suffix(1);
  return s;
}

bool EntryMatches(std::string_view entry, std::string_view host) {
  if (entry == "*") return true;
  if (entry.size() >= 2 && entry.front() == '[' && entry.back() == ']') {
    entry = entry.substr(1, entry.size() - 2);  // "[::1]" names the address "::1"
  }
  if (!entry.empty() && entry.front() == '.') entry.remove_prefix(1);
  entry = WithoutTrailingDot(entry);
  if (entry.empty()) return false;
  if (EqualsIgnoreCase(entry, host)) return true;
  // A domain suffix on a label boundary. An IP address entry never matches
  // this way: no host name ends in ".10.0.0.1" that is not itself a name.
  return host.size() > entry.size() && host[host.size() - entry.size() - 1] == '.' &&
         EqualsIgnoreCase(host.substr(host.size() - entry.size()), entry);
}

Result<std::optional<ProxyEndpoint>> FromVariable(const EnvironmentLookup& env,
                                                  std::string_view lower, std::string_view upper) {
  std::optional<std::string> value = env(lower);
  std::string_view name = lower;
  if (!value) {
    value = env(upper);
    name = upper;
  }
  if (!value) return std::optional<ProxyEndpoint>();
  Result<ProxyEndpoint> proxy = ParseProxyUrl(*value);
  if (!proxy.ok()) {
    return Error::InvalidArgument(std::string(name) + ": " + proxy.error().message());
  }
  return std::optional<ProxyEndpoint>(std::move(*proxy));
}

}  // namespace

Result<ProxyEndpoint> ParseProxyUrl(std::string_view text) {
  text = Trim(text);
  std::string_view rest = text;
  if (const std::size_t sep = rest.find("://"); sep != std::string_view::npos) {
    if (!EqualsIgnoreCase(rest.substr(0, sep), "http")) {
      return Error::InvalidArgument(
          "a proxy URL must be http:// (no other proxy scheme is supported)");
    }
    rest.remove_prefix(sep + 3);
  }
  // User info ends at the last '@' before the path (a password may hold '@'
  // only percent-encoded, but be lenient as curl is).
  const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  const std::string_view after = rest.substr(authority.size());
  if (!after.empty() && after != "/") {
    return Error::InvalidArgument("a proxy URL must have no path, query or fragment");
  }
  std::string_view host_port = authority;
  std::string authorization;
  if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
    const std::string_view user_info = authority.substr(0, at);
    host_port = authority.substr(at + 1);
    const std::size_t colon = user_info.find(':');
    std::optional<std::string> user = PercentDecode(user_info.substr(0, colon));
    std::optional<std::string> password = PercentDecode(
        colon == std::string_view::npos ? std::string_view() : user_info.substr(colon + 1));
    if (!user || !password) {
      return Error::InvalidArgument("a proxy URL's user info has a bad percent-encoding");
    }
    authorization = "Basic " + Base64(*user + ":" + *password);
  }
  // Reuse the one URL parser for host and port; a URL without an explicit
  // port gets curl's proxy default, not 80.
  Result<Url> url = ParseUrl("http://" + std::string(host_port) + "/");
  if (!url.ok()) return Error::InvalidArgument("proxy URL: " + url.error().message());
  const std::size_t colon = host_port.rfind(':');
  const std::size_t bracket = host_port.rfind(']');
  const bool has_port = colon != std::string_view::npos && colon + 1 < host_port.size() &&
                        (bracket == std::string_view::npos || colon > bracket);
  ProxyEndpoint proxy;
  proxy.host = url->host;
  proxy.port = has_port ? url->port : kDefaultProxyPort;
  proxy.authorization = std::move(authorization);
  return proxy;
}

bool NoProxyMatches(std::string_view no_proxy, std::string_view host) {
  host = WithoutTrailingDot(host);
  if (host.empty()) return false;
  std::size_t start = 0;
  while (start <= no_proxy.size()) {
    std::size_t end = no_proxy.find_first_of(", \t", start);
    if (end == std::string_view::npos) end = no_proxy.size();
    if (EntryMatches(no_proxy.substr(start, end - start), host)) return true;
    start = end + 1;
  }
  return false;
}

ProxySettings ProxySettings::FromEnvironment(const EnvironmentLookup& env) {
  ProxySettings settings;
  settings.https = FromVariable(env, "https_proxy", "HTTPS_PROXY");
  settings.http = FromVariable(env, "http_proxy", "HTTP_PROXY");
  std::optional<std::string> no_proxy = env("no_proxy");
  if (!no_proxy) no_proxy = env("NO_PROXY");
  settings.no_proxy = no_proxy.value_or("");
  return settings;
}

ProxySettings ProxySettings::FromProcessEnvironment() {
  return FromEnvironment([](std::string_view name) -> std::optional<std::string> {
    // NOLINTNEXTLINE(concurrency-mt-unsafe): read once, before threads change it
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr || *value == '\0') return std::nullopt;
    return std::string(value);
  });
}

Result<std::optional<ProxyEndpoint>> ProxyFor(const ProxySettings& settings, const Url& target) {
  const Result<std::optional<ProxyEndpoint>>& proxy =
      target.scheme == "https" ? settings.https : settings.http;
  if (proxy.ok() && !proxy->has_value()) return proxy;
  if (NoProxyMatches(settings.no_proxy, target.host)) return std::optional<ProxyEndpoint>();
  return proxy;
}

}  // namespace headcount::http_client
