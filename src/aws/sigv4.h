// AWS Signature Version 4 for requests signed in the Authorization header
// (no presigned URLs, no SigV4a). Pure functions of their arguments:
// thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "aws/credentials.h"
#include "aws/http_transport.h"
#include "core/clock.h"
#include "core/result.h"
#include "crypto/hmac_sha256.h"

namespace headcount::aws {

inline constexpr std::string_view kSigV4Algorithm = "AWS4-HMAC-SHA256";

// A request as it will go on the wire.
struct SigningRequest {
  std::string method;  // "GET", "POST"
  // The path as sent (already URI-encoded where needed), without the query.
  std::string path = "/";
  // The query as sent, without '?': "a=1&b=2" (may be empty).
  std::string query;
  // Every header to sign; must contain Host. Must not contain Authorization,
  // X-Amz-Date or X-Amz-Security-Token (the signer adds those).
  HttpHeaders headers;
  std::string_view body;
};

struct SigningParams {
  std::string service;  // signing name: "ivs", "dynamodb"
  std::string region;   // "us-east-1"
  WallTime time;        // the request time (X-Amz-Date), whole seconds used
  // Every service but S3 normalizes the path (drops "." and "..", merges
  // "//") and URI-encodes the wire path once more ("double encoding").
  bool normalize_path = true;
  bool double_encode_path = true;
  // Adds and signs x-amz-content-sha256 (S3 wants it; JSON APIs do not).
  bool add_content_sha256_header = false;
  // Adds X-Amz-Security-Token after signing instead of signing it (a few
  // services, e.g. IoT, want that). Ignored without a session token.
  bool omit_session_token = false;
};

// The intermediate texts (for tests and debugging) and the headers to add.
struct SigningResult {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;  // lower-case hex
  // Append these to the request, in this order: X-Amz-Security-Token (when
  // there is a token), X-Amz-Date, x-amz-content-sha256 (when asked), and
  // Authorization. The Authorization value is secret-free but must still not
  // be logged (it lets anyone replay the request for 5 minutes).
  HttpHeaders headers_to_add;
};

// Signs `request`. kInvalidArgument when Host is missing, a signer header is
// already present, or service/region/credentials are empty.
Result<SigningResult> SignRequest(const SigningRequest& request, const Credentials& credentials,
                                  const SigningParams& params);

// Building blocks, exposed for tests and for servers that verify signatures.

// "20150830T123600Z".
std::string FormatAmzDate(WallTime time);
// Percent-encodes every byte but A-Z a-z 0-9 - . _ ~ (and '/' when
// `keep_slash`), with upper-case hex digits.
std::string UriEncode(std::string_view text, bool keep_slash);
// The canonical URI of a wire path under `params`' path rules.
std::string CanonicalPath(std::string_view path, bool normalize, bool double_encode);
// The canonical query: each name and value decoded then re-encoded, pairs
// sorted by name then value, "name=value" joined by '&'.
std::string CanonicalQuery(std::string_view query);
// Lower-case hex of the SHA-256 of `data` (SigV4's payload and request hashes).
std::string Sha256Hex(std::string_view data);
// HMAC-SHA256 chain "AWS4"+secret -> date -> region -> service ->
// "aws4_request". The last key is kept per thread.
crypto::Sha256Digest DeriveSigningKey(std::string_view secret, std::string_view date,
                                      std::string_view region, std::string_view service);

// A header value as SigV4 signs it: leading and trailing whitespace dropped,
// inner runs of whitespace folded to one space.
std::string CanonicalHeaderValue(std::string_view value);

}  // namespace headcount::aws
