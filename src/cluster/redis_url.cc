// Redis URLs: parsing and redaction. Pure.
#include "cluster/redis_url.h"

#include <charconv>
#include <optional>

#include "core/strings.h"
#include "store/postgres/postgres_url.h"

namespace headcount {
namespace {

constexpr std::string_view kScheme = "redis://";
constexpr std::string_view kTlsScheme = "rediss://";

int HexDigitValue(char c) {
  if (IsDigit(c)) return c - '0';
  return AsciiLower(c) - 'a' + 10;
}

// `text` percent-decoded; nullopt when a '%' is not followed by two hex digits.
std::optional<std::string> Unescape(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size() || !IsHexDigit(text[i + 1]) || !IsHexDigit(text[i + 2])) {
      return std::nullopt;
    }
    out.push_back(static_cast<char>(HexDigitValue(text[i + 1]) * 16 + HexDigitValue(text[i + 2])));
    i += 2;
  }
  return out;
}

// [begin, end) of the password in `url`'s user info, when it has one.
std::optional<std::pair<std::size_t, std::size_t>> PasswordSpan(std::string_view url) {
  const std::size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::nullopt;
  const std::size_t begin = scheme + 3;
  const std::size_t end = std::min(url.find('/', begin), url.size());
  const std::size_t at = url.substr(0, end).rfind('@');
  if (at == std::string_view::npos || at < begin) return std::nullopt;
  const std::size_t colon = url.substr(begin, at - begin).find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  return std::make_pair(begin + colon + 1, at);
}

Error Bad(std::string_view url, std::string_view why) {
  return Error::InvalidArgument(
      "\"" + RedactRedisUrl(url) + "\" is not a Redis URL " +
      "(redis[s]://[[user]:password@]host[:port][/db]): " + std::string(why));
}

}  // namespace

Result<RedisEndpoint> ParseRedisUrl(std::string_view url) {
  RedisEndpoint endpoint;
  std::string_view rest;
  if (url.starts_with(kTlsScheme)) {
    endpoint.tls = true;
    rest = url.substr(kTlsScheme.size());
  } else if (url.starts_with(kScheme)) {
    rest = url.substr(kScheme.size());
  } else {
    return Bad(url, "it must start with redis:// or rediss://");
  }
  if (const std::size_t slash = rest.find('/'); slash != std::string_view::npos) {
    const std::string_view db = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
    if (!db.empty()) {
      const auto [end, ec] = std::from_chars(db.data(), db.data() + db.size(), endpoint.database);
      if (ec != std::errc() || end != db.data() + db.size() || endpoint.database < 0 ||
          endpoint.database > kMaxRedisDatabase) {
        return Bad(url, "the database after '/' must be a number from 0 to " +
                            std::to_string(kMaxRedisDatabase));
      }
    }
  }
  if (const std::size_t at = rest.rfind('@'); at != std::string_view::npos) {
    const std::string_view info = rest.substr(0, at);
    rest = rest.substr(at + 1);
    const std::size_t colon = info.find(':');
    std::optional<std::string> user = Unescape(info.substr(0, colon));
    std::optional<std::string> password =
        colon == std::string_view::npos ? std::string() : Unescape(info.substr(colon + 1));
    if (!user || !password) {
      return Bad(url, "a '%' in the user info is not followed by two hex digits");
    }
    if (colon == std::string_view::npos) {
      // redis://secret@host: the Redis convention reads a lone user info as
      // the password (`requirepass`).
      password = std::move(user);
      user = std::string();
    }
    endpoint.user = std::move(*user);
    endpoint.password = std::move(*password);
  }
  std::string_view host = rest;
  if (host.starts_with('[')) {  // [::1]:6379
    const std::size_t close = host.find(']');
    if (close == std::string_view::npos) return Bad(url, "an IPv6 address lacks its ']'");
    rest = host.substr(close + 1);
    host = host.substr(1, close - 1);
  } else {
    const std::size_t colon = host.find(':');
    rest = colon == std::string_view::npos ? std::string_view() : host.substr(colon);
    host = host.substr(0, colon);
  }
  if (host.empty()) return Bad(url, "no host");
  endpoint.host = std::string(host);
  if (!rest.empty()) {
    if (rest.front() != ':') return Bad(url, "unexpected characters after the host");
    const std::string_view port = rest.substr(1);
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return Bad(url, "the port must be a number from 1 to 65535");
    }
    endpoint.port = static_cast<std::uint16_t>(value);
  }
  return endpoint;
}

std::string RedisHostPort(const RedisEndpoint& endpoint) {
  const std::string& host = endpoint.host;
  return (host.find(':') == std::string::npos ? host : "[" + host + "]") + ":" +
         std::to_string(endpoint.port);
}

std::string RedactRedisUrl(std::string_view url) {
  const auto span = PasswordSpan(url);
  if (!span) {
    // redis://secret@host: a lone user info is the password.
    const std::size_t scheme = url.find("://");
    const std::size_t end =
        std::min(url.find('/', scheme == std::string_view::npos ? 0 : scheme + 3), url.size());
    const std::size_t at = url.substr(0, end).rfind('@');
    if (scheme == std::string_view::npos || at == std::string_view::npos || at < scheme + 3) {
      return std::string(url);
    }
    return std::string(url.substr(0, scheme + 3)) + std::string(kRedactedPassword) +
           std::string(url.substr(at));
  }
  if (span->first == span->second) return std::string(url);  // an empty password
  return std::string(url.substr(0, span->first)) + std::string(kRedactedPassword) +
         std::string(url.substr(span->second));
}

}  // namespace headcount
