// AWS Signature Version 4 (header signing). Pure functions: thread-safe.
#include "aws/sigv4.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/strings.h"

namespace headcount::aws {
namespace {

constexpr std::string_view kHexDigits = "0123456789abcdef";
constexpr std::string_view kUpperHexDigits = "0123456789ABCDEF";
constexpr std::string_view kTerminator = "aws4_request";

std::string ToHex(const std::uint8_t* data, std::size_t size) {
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out += kHexDigits[data[i] >> 4];
    out += kHexDigits[data[i] & 0xF];
  }
  return out;
}

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes %XY sequences; a '%' not followed by two hex digits stays as is.
std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// Trims both ends and folds every run of whitespace (including the line
// breaks of an obsolete folded header) into one space.
// Header names the signer never signs: hop-by-hop or rewritten by proxies.
bool IsUnsignedHeader(std::string_view lower_name) {
  return lower_name == "user-agent" || lower_name == "x-amzn-trace-id" || lower_name == "expect" ||
         lower_name == "connection" || lower_name == "transfer-encoding";
}

bool IsSignerHeader(std::string_view lower_name) {
  return lower_name == "authorization" || lower_name == "x-amz-date" ||
         lower_name == "x-amz-security-token";
}

}  // namespace

std::string FormatAmzDate(WallTime time) {
  const auto secs = std::chrono::floor<std::chrono::seconds>(time);
  const auto day = std::chrono::floor<std::chrono::days>(secs);
  const std::chrono::year_month_day ymd{day};
  const std::chrono::hh_mm_ss hms{secs - day};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d%02u%02uT%02d%02d%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

std::string UriEncode(std::string_view text, bool keep_slash) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (IsUnreserved(c) || (keep_slash && c == '/')) {
      out += ch;
    } else {
      out += '%';
      out += kUpperHexDigits[c >> 4];
      out += kUpperHexDigits[c & 0xF];
    }
  }
  return out;
}

std::string CanonicalPath(std::string_view path, bool normalize, bool double_encode) {
  std::string result;
  if (normalize) {
    // RFC 3986 dot-segment removal, plus merging empty segments ("//").
    std::vector<std::string_view> segments;
    std::size_t start = 0;
    while (start <= path.size()) {
      std::size_t end = path.find('/', start);
      if (end == std::string_view::npos) end = path.size();
      const std::string_view segment = path.substr(start, end - start);
      if (segment == "..") {
        if (!segments.empty()) segments.pop_back();
      } else if (!segment.empty() && segment != ".") {
        segments.push_back(segment);
      }
      start = end + 1;
    }
    result = "/";
    for (std::size_t i = 0; i < segments.size(); ++i) {
      if (i > 0) result += '/';
      result += segments[i];
    }
    const bool trailing_slash = !path.empty() && path.back() == '/';
    if (trailing_slash && !segments.empty()) result += '/';
  } else {
    result = path.empty() ? std::string("/") : std::string(path);
  }
  return double_encode ? UriEncode(result, /*keep_slash=*/true) : result;
}

std::string CanonicalQuery(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> params;
  std::size_t start = 0;
  while (start <= query.size() && !query.empty()) {
    std::size_t end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    const std::string_view pair = query.substr(start, end - start);
    if (!pair.empty()) {
      const std::size_t eq = pair.find('=');
      const std::string_view name = pair.substr(0, eq);
      const std::string_view value =
          eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
      params.emplace_back(UriEncode(PercentDecode(name), false),
                          UriEncode(PercentDecode(value), false));
    }
    start = end + 1;
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out += '&';
    out += name;
    out += '=';
    out += value;
  }
  return out;
}

std::string Sha256Hex(std::string_view data) {
  const crypto::Sha256Digest digest = crypto::Sha256({data});
  return ToHex(digest.data(), digest.size());
}

namespace {

// The signing key of the last (secret, date, region, service) a thread
// signed for, and its HMAC key blocks. The key changes once a day per
// (secret, region, service), and a client signs every request with it: one
// HMAC key set-up a day instead of four HMACs per request.
struct SigningKeyCache {
  std::string secret, date, region, service;
  crypto::Sha256Digest key{};
  std::optional<crypto::HmacSha256> mac;  // under `key`; empty until first use
};

const SigningKeyCache& CachedSigningKey(std::string_view secret, std::string_view date,
                                        std::string_view region, std::string_view service) {
  thread_local SigningKeyCache last;
  if (last.mac && last.date == date && last.secret == secret && last.region == region &&
      last.service == service) {
    return last;
  }
  using crypto::AsBytes;
  using crypto::HmacSha256;
  const auto k_date = HmacSha256::Of("AWS4" + std::string(secret), date);
  const auto k_region = HmacSha256::Of(AsBytes(k_date), region);
  const auto k_service = HmacSha256::Of(AsBytes(k_region), service);
  last.secret = secret;
  last.date = date;
  last.region = region;
  last.service = service;
  last.key = HmacSha256::Of(AsBytes(k_service), kTerminator);
  last.mac.emplace(AsBytes(last.key));
  return last;
}

// The signed headers of a request, canonicalised (SigV4 task 1).
struct CanonicalHeaders {
  std::string text;   // "name:value\n" per signed name, sorted by name
  std::string names;  // the signed names joined by ';', e.g. "host;x-amz-date"
};

// `headers` less the ones SigV4 leaves unsigned, plus the signer's own
// `added` ones (lower-case names), with names lower-cased, values trimmed and
// repeated headers joined with ','. Fails (kInvalidArgument) when `headers`
// already has a header the signer adds, or no Host header.
Result<CanonicalHeaders> CanonicalizeHeaders(
    const HttpHeaders& headers, std::vector<std::pair<std::string, std::string>> added) {
  // (lower-case name, value) of every signed header, in input order; stable
  // sort by name keeps the order of repeated headers' values.
  std::vector<std::pair<std::string, std::string>> signed_headers;
  bool has_host = false;
  for (const HttpHeader& h : headers) {
    std::string name = AsciiLower(h.name);
    if (IsSignerHeader(name)) {
      return Error::InvalidArgument("sigv4: request already has a " + h.name + " header");
    }
    if (IsUnsignedHeader(name)) continue;
    if (name == "host") has_host = true;
    signed_headers.emplace_back(std::move(name), CanonicalHeaderValue(h.value));
  }
  if (!has_host) return Error::InvalidArgument("sigv4: request has no Host header");
  for (auto& header : added) signed_headers.push_back(std::move(header));
  std::stable_sort(signed_headers.begin(), signed_headers.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });

  CanonicalHeaders out;
  for (std::size_t i = 0; i < signed_headers.size(); ++i) {
    const auto& [name, value] = signed_headers[i];
    if (i > 0 && signed_headers[i - 1].first == name) {
      out.text.pop_back();  // the '\n': repeated headers join with ','
      out.text += ',';
    } else {
      out.text += name;
      out.text += ':';
      if (!out.names.empty()) out.names += ';';
      out.names += name;
    }
    out.text += value;
    out.text += '\n';
  }
  return out;
}

}  // namespace

crypto::Sha256Digest DeriveSigningKey(std::string_view secret, std::string_view date,
                                      std::string_view region, std::string_view service) {
  return CachedSigningKey(secret, date, region, service).key;
}

Result<SigningResult> SignRequest(const SigningRequest& request, const Credentials& credentials,
                                  const SigningParams& params) {
  if (params.service.empty() || params.region.empty()) {
    return Error::InvalidArgument("sigv4: service and region must be set");
  }
  if (credentials.access_key_id().empty() || credentials.secret_access_key().empty()) {
    return Error::InvalidArgument("sigv4: credentials are empty");
  }
  if (request.method.empty()) return Error::InvalidArgument("sigv4: method is empty");

  const std::string amz_date = FormatAmzDate(params.time);
  const std::string date = amz_date.substr(0, 8);
  const std::string payload_hash = Sha256Hex(request.body);
  const bool has_token = !credentials.session_token().empty();
  const bool sign_token = has_token && !params.omit_session_token;

  std::vector<std::pair<std::string, std::string>> added = {{"x-amz-date", amz_date}};
  if (sign_token) added.emplace_back("x-amz-security-token", credentials.session_token());
  if (params.add_content_sha256_header) added.emplace_back("x-amz-content-sha256", payload_hash);
  auto canonical = CanonicalizeHeaders(request.headers, std::move(added));
  if (!canonical.ok()) return canonical.error();
  const std::string& canonical_headers = canonical->text;
  const std::string& signed_names = canonical->names;

  SigningResult result;
  result.canonical_request =
      request.method + '\n' +
      CanonicalPath(request.path, params.normalize_path, params.double_encode_path) + '\n' +
      CanonicalQuery(request.query) + '\n' + canonical_headers + '\n' + signed_names + '\n' +
      payload_hash;

  const std::string scope =
      date + '/' + params.region + '/' + params.service + '/' + std::string(kTerminator);
  result.string_to_sign = std::string(kSigV4Algorithm) + '\n' + amz_date + '\n' + scope + '\n' +
                          Sha256Hex(result.canonical_request);

  const crypto::Sha256Digest signature =
      CachedSigningKey(credentials.secret_access_key(), date, params.region, params.service)
          .mac->Sign({result.string_to_sign});
  result.signature = ToHex(signature.data(), signature.size());

  if (has_token) {
    result.headers_to_add.push_back({"X-Amz-Security-Token", credentials.session_token()});
  }
  result.headers_to_add.push_back({"X-Amz-Date", amz_date});
  if (params.add_content_sha256_header) {
    result.headers_to_add.push_back({"x-amz-content-sha256", payload_hash});
  }
  result.headers_to_add.push_back(
      {"Authorization", std::string(kSigV4Algorithm) +
                            " Credential=" + credentials.access_key_id() + '/' + scope +
                            ", SignedHeaders=" + signed_names + ", Signature=" + result.signature});
  return result;
}

std::string CanonicalHeaderValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  bool pending_space = false;
  for (char c : value) {
    if (IsSpace(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += c;
  }
  return out;
}

}  // namespace headcount::aws
