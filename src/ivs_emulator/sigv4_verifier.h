// Verifies the AWS Signature Version 4 of an incoming request (Authorization
// header form) against one configured key pair, the way AWS front ends answer
// a bad signature. Pure function of its arguments: thread-safe.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "core/clock.h"
#include "server/http.h"

namespace headcount::ivs_emulator {

// How far X-Amz-Date may be from the verifier's clock, either way (AWS: 15 min).
inline constexpr std::chrono::minutes kMaxRequestTimeSkew{15};

struct VerifierConfig {
  std::string access_key_id;
  std::string secret_access_key;
  std::string region;   // "us-west-2": the credential scope must name it
  std::string service;  // "ivs"
};

// Why a request was refused: the AWS error type (sent in x-amzn-ErrorType)
// and the message AWS sends with it. Every rejection is HTTP 403.
struct AuthFailure {
  std::string error_type;  // e.g. "InvalidSignatureException"
  std::string message;
};

// nullopt when the request carries a valid signature by `config`'s key for
// `config`'s region and service, made within kMaxRequestTimeSkew of `now`.
// Otherwise the failure, using the types AWS returns:
//   MissingAuthenticationTokenException  no Authorization header;
//   IncompleteSignatureException         malformed Authorization, no X-Amz-Date,
//                                        Host not signed;
//   UnrecognizedClientException          an access key id other than the configured one;
//   InvalidSignatureException            wrong scope (date, region, service),
//                                        X-Amz-Date too far from `now`, or a
//                                        signature that does not match.
// The signature is recomputed from the headers the client lists in
// SignedHeaders, the path and query as sent, and the SHA-256 of the body.
std::optional<AuthFailure> VerifySigV4(const HttpRequest& request, const VerifierConfig& config,
                                       WallTime now);

}  // namespace headcount::ivs_emulator
