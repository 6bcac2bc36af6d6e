// Which proxy, if any, a request goes through: HTTPS_PROXY / HTTP_PROXY /
// NO_PROXY read as curl and the AWS SDKs read them. Pure functions on
// values; thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "net/url.h"

namespace headcount::http_client {

// Looks up one environment variable; nullopt when unset or empty. The same
// shape as aws::Environment, so either may be passed.
using EnvironmentLookup = std::function<std::optional<std::string>(std::string_view name)>;

// A forward proxy, spoken to in plain HTTP: CONNECT tunnels for https
// targets, absolute-form requests for http targets.
struct ProxyEndpoint {
  std::string host;  // as in Url: lower-cased, IPv6 without brackets
  std::uint16_t port = 0;
  // "Basic <base64(user:password)>" from the proxy URL's user info, or
  // empty. A secret: never logged, never put in an error message.
  std::string authorization;

  bool operator==(const ProxyEndpoint&) const = default;
};

// Parses a proxy URL as curl does: "http://[user:password@]host[:port][/]",
// or the same without "http://"; the port defaults to 1080 as in curl.
// User and password are percent-decoded. kInvalidArgument for another
// scheme (an https:// proxy is not supported), a path, a query or a bad
// host or port; the message never quotes the text (it may hold a password).
Result<ProxyEndpoint> ParseProxyUrl(std::string_view text);

// Whether `host` (as in Url: lower-case, IPv6 without brackets) is exempt
// from proxying by the NO_PROXY list `no_proxy`: entries separated by commas
// (and/or spaces), each "*" (everything), a domain name that matches itself
// and its subdomains, with or without a leading dot ("example.com" and
// ".example.com" both match "example.com" and "a.example.com", not
// "badexample.com"), or an IP address that matches exactly (an IPv6 one
// with or without brackets). Case-insensitive; a trailing dot on the host or
// an entry is ignored. No CIDR ranges, no ports.
bool NoProxyMatches(std::string_view no_proxy, std::string_view host);

// The proxy settings of a process, read once.
struct ProxySettings {
  // From https_proxy, else HTTPS_PROXY: for https:// targets. nullopt: none.
  // An error when the variable is set but does not parse; every request
  // that would use it then fails with it.
  Result<std::optional<ProxyEndpoint>> https = std::optional<ProxyEndpoint>();
  // From http_proxy, else HTTP_PROXY: for http:// targets.
  Result<std::optional<ProxyEndpoint>> http = std::optional<ProxyEndpoint>();
  std::string no_proxy;  // from no_proxy, else NO_PROXY

  static ProxySettings FromEnvironment(const EnvironmentLookup& env);
  // The process environment (getenv); call before other threads change it.
  static ProxySettings FromProcessEnvironment();
};

// The proxy a request to `target` goes through: nullopt for none (no proxy
// for its scheme, or NO_PROXY exempts its host), else the proxy, or the
// error of a proxy variable that does not parse.
Result<std::optional<ProxyEndpoint>> ProxyFor(const ProxySettings& settings, const Url& target);

}  // namespace headcount::http_client
