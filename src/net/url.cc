// Url: parse, resolve (RFC 3986 §5.2) and serialize (see url.h). Pure
// functions; thread-safe.
#include "net/url.h"

#include <algorithm>
#include <charconv>

#include "core/strings.h"

namespace headcount {
namespace {

constexpr std::uint32_t kMaxPort = 65535;

// RFC 3986 §2.3 unreserved and §2.2 sub-delims: the characters of a reg-name
// besides pct-encoded ones.
bool IsRegNameChar(char c) {
  return IsAlnum(c) || std::string_view("-._~!$&'()*+,;=").find(c) != std::string_view::npos;
}

// Spaces and control characters may appear nowhere in a URL (RFC 3986 §2).
bool HasForbiddenChar(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f;
  });
}

// The length of the scheme of `s` ("http" in "http://..."), or 0 when `s`
// has none (RFC 3986 §3.1: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ),
// then ':', before any '/', '?' or '#').
std::size_t SchemeLength(std::string_view s) {
  if (s.empty() || !IsAlpha(s.front())) return 0;
  for (std::size_t i = 1; i < s.size(); ++i) {
    const char c = s[i];
    if (c == ':') return i;
    if (!IsAlnum(c) && c != '+' && c != '-' && c != '.') return 0;
  }
  return 0;
}

// A reference split into its five components (RFC 3986 §3, Appendix B); a
// component that is absent is nullopt (path is always there, maybe empty).
struct Parts {
  std::optional<std::string_view> scheme;
  std::optional<std::string_view> authority;
  std::string_view path;
  std::optional<std::string_view> query;
  std::optional<std::string_view> fragment;
};

Parts Split(std::string_view s) {
  Parts parts;
  if (const std::size_t hash = s.find('#'); hash != std::string_view::npos) {
    parts.fragment = s.substr(hash + 1);
    s = s.substr(0, hash);
  }
  if (const std::size_t question = s.find('?'); question != std::string_view::npos) {
    parts.query = s.substr(question + 1);
    s = s.substr(0, question);
  }
  if (const std::size_t scheme = SchemeLength(s); scheme > 0) {
    parts.scheme = s.substr(0, scheme);
    s.remove_prefix(scheme + 1);
  }
  if (s.starts_with("//")) {
    s.remove_prefix(2);
    const std::size_t slash = s.find('/');
    parts.authority = s.substr(0, slash);
    s = slash == std::string_view::npos ? std::string_view() : s.substr(slash);
  }
  parts.path = s;
  return parts;
}

Result<std::string> ParseIpv6Host(std::string_view literal) {
  const bool valid = !literal.empty() && literal.find(':') != std::string_view::npos &&
                     std::all_of(literal.begin(), literal.end(),
                                 [](char c) { return IsHexDigit(c) || c == ':' || c == '.'; });
  if (!valid) return Error::InvalidArgument("URL has a bad IPv6 host");
  return AsciiLower(literal);
}

Result<std::string> ParseRegNameHost(std::string_view host) {
  if (host.empty()) return Error::InvalidArgument("URL has no host");
  for (std::size_t i = 0; i < host.size(); ++i) {
    if (IsRegNameChar(host[i])) continue;
    if (host[i] == '%' && i + 2 < host.size() && IsHexDigit(host[i + 1]) &&
        IsHexDigit(host[i + 2])) {
      i += 2;
      continue;
    }
    return Error::InvalidArgument("URL host has a character URLs do not allow there");
  }
  return AsciiLower(host);
}

// Fills url.host and url.port from an authority (user info is refused).
Status ParseAuthority(std::string_view authority, Url& url) {
  if (authority.find('@') != std::string_view::npos) {
    return Error::InvalidArgument("URL must not carry user info (user:password@)");
  }
  std::string_view port_text;  // empty: the scheme's default (RFC 3986 allows "host:")
  Result<std::string> host = std::string();
  if (authority.starts_with('[')) {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return Error::InvalidArgument("URL has a bad IPv6 host");
    host = ParseIpv6Host(authority.substr(1, close - 1));
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Error::InvalidArgument("URL has a bad IPv6 host");
      port_text = after.substr(1);
    }
  } else {
    const std::size_t colon = authority.find(':');
    host = ParseRegNameHost(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (!host.ok()) return host.error();
  url.host = std::move(*host);
  url.port = Url::DefaultPort(url.scheme);
  if (!port_text.empty()) {
    std::uint32_t port = 0;
    const auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (!IsAllDigits(port_text) || ec != std::errc() ||
        end != port_text.data() + port_text.size() || port == 0 || port > kMaxPort) {
      return Error::InvalidArgument("URL has a bad port (1 to 65535)");
    }
    url.port = static_cast<std::uint16_t>(port);
  }
  return {};
}

// RFC 3986 §5.2.4: "." and ".." segments removed, as a browser does.
std::string RemoveDotSegments(std::string_view in) {
  std::string out;
  const auto pop_segment = [&out] {
    const std::size_t slash = out.rfind('/');
    out.erase(slash == std::string::npos ? 0 : slash);
  };
  while (!in.empty()) {
    if (in.starts_with("../")) {
      in.remove_prefix(3);
    } else if (in.starts_with("./") || in.starts_with("/./")) {
      in.remove_prefix(2);
    } else if (in == "/.") {
      in = "/";
    } else if (in.starts_with("/../")) {
      in.remove_prefix(3);
      pop_segment();
    } else if (in == "/..") {
      in = "/";
      pop_segment();
    } else if (in == "." || in == "..") {
      in = {};
    } else {
      const std::size_t end = in.find('/', in.front() == '/' ? 1 : 0);
      out += in.substr(0, end);
      in = end == std::string_view::npos ? std::string_view() : in.substr(end);
    }
  }
  return out;
}

std::optional<std::string> Copy(const std::optional<std::string_view>& part) {
  return part ? std::optional<std::string>(*part) : std::nullopt;
}

// RFC 3986 §5.2.3: the reference's relative path after the base's directory.
std::string Merge(std::string_view base_path, std::string_view reference_path) {
  std::string merged(base_path.substr(0, base_path.rfind('/') + 1));
  merged += reference_path;
  return merged;
}

// An IPv6 literal in brackets, any other host as it is.
std::string Bracketed(std::string_view host) {
  return host.find(':') != std::string_view::npos ? "[" + std::string(host) + "]"
                                                  : std::string(host);
}

}  // namespace

std::uint16_t Url::DefaultPort(std::string_view scheme) {
  return scheme == "https" ? kHttpsPort : kHttpPort;
}

std::string Url::HostHeader() const {
  return HasDefaultPort() ? Bracketed(host) : HostPort(host, port);
}

std::string HostPort(std::string_view host, std::uint16_t port) {
  return Bracketed(host) + ":" + std::to_string(port);
}

std::string Url::Origin() const { return scheme + "://" + HostHeader(); }

std::string Url::Target() const { return query ? path + "?" + *query : path; }

std::string Url::ToString() const {
  std::string out = Origin() + Target();
  if (fragment) out += "#" + *fragment;
  return out;
}

Result<Url> ParseUrl(std::string_view text) {
  if (HasForbiddenChar(text)) {
    return Error::InvalidArgument("URL contains spaces or control characters");
  }
  const Parts parts = Split(text);
  if (!parts.scheme || !parts.authority) {
    return Error::InvalidArgument("not an absolute URL (expected http:// or https://)");
  }
  Url url;
  url.scheme = AsciiLower(*parts.scheme);
  if (url.scheme != "http" && url.scheme != "https") {
    return Error::InvalidArgument("URL scheme must be http or https, not \"" + url.scheme + "\"");
  }
  if (Status authority = ParseAuthority(*parts.authority, url); !authority.ok()) {
    return authority.error();
  }
  url.path = parts.path.empty() ? std::string("/") : std::string(parts.path);
  url.query = Copy(parts.query);
  url.fragment = Copy(parts.fragment);
  return url;
}

Result<Url> ResolveUrl(const Url& base, std::string_view reference) {
  if (HasForbiddenChar(reference)) {
    return Error::InvalidArgument("URL reference contains spaces or control characters");
  }
  const Parts ref = Split(reference);
  if (ref.scheme || ref.authority) {
    // An absolute URL, or a network-path one that takes the base's scheme.
    Result<Url> target =
        ParseUrl(ref.scheme ? reference : base.scheme + ":" + std::string(reference));
    if (!target.ok()) return target.error();
    target->path = RemoveDotSegments(target->path);
    return target;
  }
  Url target = base;
  target.fragment = Copy(ref.fragment);
  if (ref.path.empty()) {
    if (ref.query) target.query = Copy(ref.query);
    return target;
  }
  target.path = RemoveDotSegments(ref.path.front() == '/' ? ref.path : Merge(base.path, ref.path));
  target.query = Copy(ref.query);
  return target;
}

bool IsSameOriginReference(std::string_view reference) {
  const Parts parts = Split(reference);
  return !parts.scheme && !parts.authority;
}

Result<Url> ParseHttpUrl(std::string_view url) {
  Result<Url> parsed = ParseUrl(url);
  if (!parsed.ok()) return parsed.error();
  if (parsed->scheme != "http") {
    return Error::InvalidArgument(
        "https:// URLs are not supported: this client speaks plain HTTP; "
        "give an http:// address");
  }
  return parsed;
}

Result<Url> ResolveReference(const Url& base, std::string_view reference) {
  Result<Url> resolved = ResolveUrl(base, reference);
  if (!resolved.ok()) return Error::InvalidArgument("playlist URI: " + resolved.error().message());
  if (!resolved->SameOrigin(base)) {
    return Error::InvalidArgument("playlist URI points to another origin, which is not supported");
  }
  return resolved;
}

std::string_view PathForLog(std::string_view target) { return target.substr(0, target.find('?')); }

}  // namespace headcount
