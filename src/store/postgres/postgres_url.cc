// PostgreSQL connection URIs: shape check, redaction, parameters. Pure.
#include "store/postgres/postgres_url.h"

#include <algorithm>
#include <cstddef>
#include <optional>
#include <utility>
#include <vector>

namespace headcount {
namespace {

constexpr std::string_view kSchemes[] = {"postgresql://", "postgres://"};

// Where a URI's parts are: [scheme][authority][path][?query][#...].
struct UrlParts {
  std::size_t authority_begin = 0;
  std::size_t authority_end = 0;                     // first '/', '?' or end after the authority
  std::size_t query_begin = std::string_view::npos;  // after '?', or npos
};

std::optional<UrlParts> Split(std::string_view url) {
  for (const std::string_view scheme : kSchemes) {
    if (url.starts_with(scheme)) {
      UrlParts parts;
      parts.authority_begin = scheme.size();
      parts.authority_end = std::min(url.find_first_of("/?", scheme.size()), url.size());
      const std::size_t question = url.find('?', scheme.size());
      if (question != std::string_view::npos) parts.query_begin = question + 1;
      return parts;
    }
  }
  return std::nullopt;
}

// [begin, end) of the user info's password inside `url`, if it has one.
std::optional<std::pair<std::size_t, std::size_t>> UserInfoPassword(std::string_view url,
                                                                    const UrlParts& parts) {
  const std::string_view authority =
      url.substr(parts.authority_begin, parts.authority_end - parts.authority_begin);
  const std::size_t at = authority.rfind('@');
  if (at == std::string_view::npos) return std::nullopt;
  const std::size_t colon = authority.substr(0, at).find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  return std::make_pair(parts.authority_begin + colon + 1, parts.authority_begin + at);
}

// Each `name=value` of the query: calls f(name, value_begin, value_end).
template <typename F>
void ForEachParam(std::string_view url, const UrlParts& parts, F f) {
  if (parts.query_begin == std::string_view::npos) return;
  std::size_t begin = parts.query_begin;
  const std::size_t end = std::min(url.find('#', begin), url.size());
  while (begin < end) {
    const std::size_t amp = std::min(url.find('&', begin), end);
    const std::string_view param = url.substr(begin, amp - begin);
    const std::size_t eq = param.find('=');
    if (eq != std::string_view::npos) f(param.substr(0, eq), begin + eq + 1, amp);
    begin = amp + 1;
  }
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      const int hi = HexValue(text[i + 1]);
      const int lo = HexValue(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

}  // namespace

Status CheckPostgresUrl(std::string_view url) {
  if (url.empty()) return Error::InvalidArgument("must not be empty");
  if (!Split(url)) {
    const std::size_t colon = url.find(':');
    const std::string scheme =
        colon == std::string_view::npos ? std::string() : std::string(url.substr(0, colon));
    return Error::InvalidArgument(
        (scheme.empty() ? std::string("not a URI")
                        : "the scheme \"" + scheme.substr(0, 32) + "\"") +
        ": expected postgresql://[user[:password]@]host[:port]/database[?sslmode=...]");
  }
  return {};
}

std::string RedactPostgresUrl(std::string_view url) {
  const std::optional<UrlParts> parts = Split(url);
  if (!parts) return std::string(url);
  std::string out(url);
  // Right to left, so earlier offsets stay valid.
  std::vector<std::pair<std::size_t, std::size_t>> spans;
  if (auto span = UserInfoPassword(url, *parts)) spans.push_back(*span);
  ForEachParam(url, *parts, [&](std::string_view name, std::size_t begin, std::size_t end) {
    if (name == "password") spans.emplace_back(begin, end);
  });
  for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
    out.replace(it->first, it->second - it->first, kRedactedPassword);
  }
  return out;
}

std::string WithPostgresParam(std::string_view url, std::string_view name, std::string_view value) {
  const std::optional<UrlParts> parts = Split(url);
  if (!parts) return std::string(url);
  bool present = false;
  ForEachParam(url, *parts, [&](std::string_view n, std::size_t, std::size_t) {
    present = present || n == name;
  });
  if (present) return std::string(url);
  std::string out(url);
  const std::size_t hash = std::min(out.find('#'), out.size());
  std::string param(name);
  param += '=';
  param += value;
  if (parts->query_begin == std::string_view::npos) {
    out.insert(hash, "?" + param);
  } else {
    const bool ends_open = hash == parts->query_begin || out[hash - 1] == '&';
    out.insert(hash, (ends_open ? "" : "&") + param);
  }
  return out;
}

std::string PostgresUrlPassword(std::string_view url) {
  const std::optional<UrlParts> parts = Split(url);
  if (!parts) return "";
  std::string password;
  if (auto span = UserInfoPassword(url, *parts)) {
    password = PercentDecode(url.substr(span->first, span->second - span->first));
  }
  ForEachParam(url, *parts, [&](std::string_view name, std::size_t begin, std::size_t end) {
    if (name == "password") password = PercentDecode(url.substr(begin, end - begin));
  });
  return password;
}

std::string ScrubSecret(std::string text, std::string_view secret) {
  if (secret.empty()) return text;
  for (std::size_t at = text.find(secret); at != std::string::npos;
       at = text.find(secret, at + kRedactedPassword.size())) {
    text.replace(at, secret.size(), kRedactedPassword);
  }
  return text;
}

}  // namespace headcount
