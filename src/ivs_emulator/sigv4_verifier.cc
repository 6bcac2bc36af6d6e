// SigV4 verification for the IVS emulator, built on aws/sigv4's pieces.
// Pure functions: thread-safe.
#include "ivs_emulator/sigv4_verifier.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <string_view>
#include <variant>
#include <vector>

#include "aws/sigv4.h"
#include "core/strings.h"
#include "crypto/hmac_sha256.h"
#include "ivs_emulator/wire.h"

namespace headcount::ivs_emulator {
namespace {

constexpr std::string_view kTerminator = "aws4_request";
constexpr std::size_t kAmzDateLength = 16;  // "20150830T123600Z"
constexpr std::size_t kSignatureHexLength = 64;

constexpr std::string_view kSignatureMismatch =
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details.";

AuthFailure Incomplete(std::string message) {
  return {"IncompleteSignatureException", std::move(message)};
}
AuthFailure Invalid(std::string message) {
  return {"InvalidSignatureException", std::move(message)};
}

// "20150830T123600Z" -> time; nullopt when malformed.
std::optional<WallTime> ParseAmzDate(std::string_view text) {
  if (text.size() != kAmzDateLength || text[8] != 'T' || text[15] != 'Z') return std::nullopt;
  if (!IsAllDigits(text.substr(0, 8)) || !IsAllDigits(text.substr(9, 6))) return std::nullopt;
  auto num = [&](std::size_t pos, std::size_t len) {
    int v = 0;
    for (std::size_t i = pos; i < pos + len; ++i) v = v * 10 + (text[i] - '0');
    return v;
  };
  const std::chrono::year_month_day ymd{std::chrono::year{num(0, 4)},
                                        std::chrono::month{static_cast<unsigned>(num(4, 2))},
                                        std::chrono::day{static_cast<unsigned>(num(6, 2))}};
  if (!ymd.ok() || num(9, 2) > 23 || num(11, 2) > 59 || num(13, 2) > 60) return std::nullopt;
  return std::chrono::sys_days{ymd} + std::chrono::hours{num(9, 2)} +
         std::chrono::minutes{num(11, 2)} + std::chrono::seconds{num(13, 2)};
}

std::string ToHex(const std::array<std::uint8_t, 32>& bytes) {
  static constexpr std::string_view kHex = "0123456789abcdef";
  std::string out;
  for (const std::uint8_t b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 0xF];
  }
  return out;
}

// Compares in time independent of where the strings first differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return diff == 0;
}

struct ParsedAuthorization {
  std::string_view access_key_id;
  std::string_view date;  // YYYYMMDD
  std::string_view region;
  std::string_view service;
  std::string_view terminator;
  std::string_view signed_headers;  // "host;x-amz-date"
  std::string_view signature;
};

// Parses "AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request,
// SignedHeaders=a;b, Signature=hex".
std::variant<ParsedAuthorization, AuthFailure> ParseAuthorization(std::string_view header) {
  header = Trim(header);
  const std::size_t space = header.find(' ');
  const std::string_view algorithm = header.substr(0, space);
  if (algorithm != aws::kSigV4Algorithm) {
    return Incomplete("Authorization header requires 'AWS4-HMAC-SHA256' as its algorithm.");
  }
  ParsedAuthorization out;
  std::string_view credential;
  bool has_credential = false;
  bool has_signed_headers = false;
  bool has_signature = false;
  const std::string_view rest = space == std::string_view::npos ? "" : header.substr(space + 1);
  for (std::string_view part : Split(rest, ',')) {
    part = Trim(part);
    const std::size_t eq = part.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view key = part.substr(0, eq);
    const std::string_view value = part.substr(eq + 1);
    if (key == "Credential") {
      credential = value;
      has_credential = true;
    } else if (key == "SignedHeaders") {
      out.signed_headers = value;
      has_signed_headers = true;
    } else if (key == "Signature") {
      out.signature = value;
      has_signature = true;
    }
  }
  if (!has_credential || !has_signed_headers || !has_signature) {
    return Incomplete(
        "Authorization header requires 'Credential' parameter. Authorization header requires "
        "'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. "
        "Authorization=" +
        std::string(algorithm));
  }
  const auto scope = Split(credential, '/');
  if (scope.size() != 5) {
    return Incomplete("Credential should have 5 parts (access key id, date, region, service, " +
                      std::string(kTerminator) + ") separated by '/'.");
  }
  out.access_key_id = scope[0];
  out.date = scope[1];
  out.region = scope[2];
  out.service = scope[3];
  out.terminator = scope[4];
  return out;
}

// The credential scope (date, region, service, terminator) against the
// request's X-Amz-Date and the emulator's configuration, and the request time
// against `now`, within AWS's 15 minutes of skew.
std::optional<AuthFailure> CheckScopeAndTime(const ParsedAuthorization& auth,
                                             const std::string& amz_date, WallTime request_time,
                                             const VerifierConfig& config, WallTime now) {
  if (auth.date != std::string_view(amz_date).substr(0, 8)) {
    return Invalid(
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
        "from HTTP: '" +
        std::string(auth.date) + "' != '" + amz_date.substr(0, 8) + "', from '" + amz_date + "'.");
  }
  if (auth.region != config.region) {
    return Invalid("Credential should be scoped to a valid region, not '" +
                   std::string(auth.region) + "'. ");
  }
  if (auth.service != config.service) {
    return Invalid("Credential should be scoped to correct service: '" + config.service + "'. ");
  }
  if (auth.terminator != kTerminator) {
    return Invalid("Credential should be scoped with a valid terminator: 'aws4_request', not '" +
                   std::string(auth.terminator) + "'. ");
  }
  if (request_time < now - kMaxRequestTimeSkew) {
    return Invalid("Signature expired: " + amz_date + " is now earlier than " +
                   aws::FormatAmzDate(now - kMaxRequestTimeSkew) + " (" + aws::FormatAmzDate(now) +
                   " - 15 min.)");
  }
  if (request_time > now + kMaxRequestTimeSkew) {
    return Invalid("Signature not yet current: " + amz_date + " is still later than " +
                   aws::FormatAmzDate(now + kMaxRequestTimeSkew) + " (" + aws::FormatAmzDate(now) +
                   " + 15 min.)");
  }
  return std::nullopt;
}

// Recomputes the signature over the request as received and compares it with
// the one the client sent, in constant time.
std::optional<AuthFailure> CheckSignature(const HttpRequest& request,
                                          const ParsedAuthorization& auth,
                                          const std::string& amz_date,
                                          const VerifierConfig& config) {
  // The canonical headers, in the order the client listed them (it must be
  // sorted for the signatures to match; a client that did not sort gets a
  // mismatch, as from AWS).
  std::string canonical_headers;
  bool host_signed = false;
  for (const std::string_view name : Split(auth.signed_headers, ';')) {
    if (name == "host") host_signed = true;
    const auto value = request.Header(name);
    canonical_headers += name;
    canonical_headers += ':';
    if (value) canonical_headers += aws::CanonicalHeaderValue(*value);
    canonical_headers += '\n';
  }
  if (!host_signed) {
    return Incomplete("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  }

  const std::string_view target = request.target;
  const std::size_t question = target.find('?');
  const std::string_view wire_path = target.substr(0, question);
  const std::string_view wire_query =
      question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
  const std::string canonical_request =
      request.method + '\n' +
      aws::CanonicalPath(wire_path, /*normalize=*/true, /*double_encode=*/true) + '\n' +
      aws::CanonicalQuery(wire_query) + '\n' + canonical_headers + '\n' +
      std::string(auth.signed_headers) + '\n' + aws::Sha256Hex(request.body);
  const std::string scope = std::string(auth.date) + '/' + config.region + '/' + config.service +
                            '/' + std::string(kTerminator);
  const std::string string_to_sign = std::string(aws::kSigV4Algorithm) + '\n' + amz_date + '\n' +
                                     scope + '\n' + aws::Sha256Hex(canonical_request);
  const auto key =
      aws::DeriveSigningKey(config.secret_access_key, auth.date, config.region, config.service);
  const std::string expected = ToHex(crypto::HmacSha256::Of(crypto::AsBytes(key), string_to_sign));
  if (auth.signature.size() != kSignatureHexLength ||
      !ConstantTimeEquals(expected, auth.signature)) {
    // Like AWS, show the texts the signature was computed over: they tell a
    // client author what their signer did differently (they hold no secret).
    return Invalid(std::string(kSignatureMismatch) +
                   "\n\nThe Canonical String for this request should have been\n'" +
                   canonical_request + "'\n\nThe String-to-Sign should have been\n'" +
                   string_to_sign + "'\n");
  }
  return std::nullopt;
}

}  // namespace

std::optional<AuthFailure> VerifySigV4(const HttpRequest& request, const VerifierConfig& config,
                                       WallTime now) {
  const auto authorization = request.Header("authorization");
  if (!authorization) {
    return AuthFailure{"MissingAuthenticationTokenException", "Missing Authentication Token"};
  }
  auto parsed_or = ParseAuthorization(*authorization);
  if (auto* failure = std::get_if<AuthFailure>(&parsed_or)) return *failure;
  const auto& auth = std::get<ParsedAuthorization>(parsed_or);

  if (auth.access_key_id != config.access_key_id) {
    return AuthFailure{"UnrecognizedClientException",
                       "The security token included in the request is invalid."};
  }
  const auto amz_date = request.Header("x-amz-date");
  if (!amz_date) {
    return Incomplete("Authorization header requires existence of a 'X-Amz-Date' header.");
  }
  const auto request_time = ParseAmzDate(*amz_date);
  if (!request_time) {
    return Incomplete("X-Amz-Date must be in the ISO8601 basic format, e.g. 20150830T123600Z.");
  }
  if (auto failure = CheckScopeAndTime(auth, *amz_date, *request_time, config, now)) {
    return failure;
  }
  return CheckSignature(request, auth, *amz_date, config);
}

}  // namespace headcount::ivs_emulator
