// The container credentials endpoint (ECS, EKS Pod Identity, Lambda): where
// it is, per the environment, and one fetch from it. Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "aws/credentials_provider.h"
#include "aws/environment.h"
#include "aws/http_transport.h"
#include "core/result.h"

namespace headcount::aws {

// One attempt at the container credentials endpoint (it is local: fast or down).
inline constexpr std::chrono::milliseconds kContainerConnectTimeout{1000};
inline constexpr std::chrono::milliseconds kContainerRequestTimeout{2000};
inline constexpr std::size_t kMaxContainerResponseBytes = std::size_t{64} * 1024;
inline constexpr std::size_t kMaxContainerTokenFileBytes = std::size_t{64} * 1024;
// Where AWS_CONTAINER_CREDENTIALS_RELATIVE_URI points (the ECS agent).
inline constexpr std::string_view kContainerRelativeHost = "http://169.254.170.2";

// Where the container credentials endpoint is and how to authorize with it.
struct ContainerEndpoint {
  std::string url = {};
  // The Authorization header value; authorization_token_file wins and is
  // read at every fetch (the agent rotates it).
  std::optional<std::string> authorization_token = std::nullopt;
  std::optional<std::string> authorization_token_file = std::nullopt;
};

// AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (on kContainerRelativeHost) wins
// over AWS_CONTAINER_CREDENTIALS_FULL_URI; the token from
// AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE or AWS_CONTAINER_AUTHORIZATION_TOKEN.
// A FULL_URI over plain http must name a loopback address (127.0.0.0/8,
// ::1, localhost) or the ECS/EKS agent (169.254.170.2, 169.254.170.23,
// fd00:ec2::23): kInvalidArgument otherwise. nullopt when neither variable
// is set.
Result<std::optional<ContainerEndpoint>> ContainerEndpointFromEnvironment(const Environment& env);

// Parses the endpoint's answer: {"AccessKeyId", "SecretAccessKey", "Token",
// "Expiration" (RFC 3339)}. kRejected when a field is missing or malformed.
Result<Credentials> ParseContainerCredentials(std::string_view json);

// GETs the endpoint once (kContainer*Timeout). kUnavailable when it cannot
// be reached, kRejected for a non-200 answer or a bad body, kIo when the
// token file cannot be read. Messages name the endpoint without its query.
Result<Credentials> FetchContainerCredentials(const ContainerEndpoint& endpoint,
                                              HttpTransport& transport);

}  // namespace headcount::aws
