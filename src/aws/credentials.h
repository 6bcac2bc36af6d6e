// AWS credentials and where they come from: the environment, the shared
// credentials file, the container endpoint (ECS, Lambda), and the default
// chain over the three with expiry-aware caching. Credentials never print
// their secrets. Credentials is a value type; the providers are thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "aws/environment.h"
#include "aws/http_transport.h"
#include "core/clock.h"
#include "core/result.h"

namespace headcount::aws {

// Credentials that expire are refreshed this long before they do.
inline constexpr std::chrono::minutes kCredentialsRefreshMargin{5};
// One attempt at the container credentials endpoint (it is local: fast or down).
inline constexpr std::chrono::milliseconds kContainerConnectTimeout{1000};
inline constexpr std::chrono::milliseconds kContainerRequestTimeout{2000};
inline constexpr std::size_t kMaxContainerResponseBytes = std::size_t{64} * 1024;
inline constexpr std::size_t kMaxContainerTokenFileBytes = std::size_t{64} * 1024;
inline constexpr std::size_t kMaxSharedFileBytes = std::size_t{1024} * 1024;
// Where AWS_CONTAINER_CREDENTIALS_RELATIVE_URI points (the ECS agent).
inline constexpr std::string_view kContainerRelativeHost = "http://169.254.170.2";

// An access key, its secret, and for temporary credentials a session token
// and an expiry. Has no operator<<: ToString() is the only text form, and it
// redacts the secret and the token.
class Credentials {
 public:
  Credentials(std::string access_key_id, std::string secret_access_key,
              std::string session_token = {}, std::optional<WallTime> expiration = std::nullopt);

  const std::string& access_key_id() const { return access_key_id_; }
  const std::string& secret_access_key() const { return secret_access_key_; }
  // Empty for long-term credentials.
  const std::string& session_token() const { return session_token_; }
  const std::optional<WallTime>& expiration() const { return expiration_; }

  // Whether these must be replaced at `now` (margin before expiry). Never,
  // for credentials without an expiry.
  bool NeedsRefresh(WallTime now, std::chrono::seconds margin = kCredentialsRefreshMargin) const;

  // "Credentials{key=AKID****, secret=<redacted>, token=<redacted>, expires=...}":
  // the first 4 characters of the key id only, never the secret or token.
  std::string ToString() const;

 private:
  std::string access_key_id_;
  std::string secret_access_key_;
  std::string session_token_;
  std::optional<WallTime> expiration_;
};

// Gives the credentials to sign with.
class CredentialsProvider {
 public:
  virtual ~CredentialsProvider() = default;
  CredentialsProvider() = default;
  CredentialsProvider(const CredentialsProvider&) = delete;
  CredentialsProvider& operator=(const CredentialsProvider&) = delete;

  // Credentials usable at `now`, or why there are none. Error messages never
  // contain a secret. Implementations must be thread-safe.
  virtual Result<Credentials> Get(WallTime now) = 0;

  // Called when a service refused `rejected` as expired (ExpiredTokenException)
  // before the expiry they carry: revoked, rotated early, or a skewed clock.
  // Returns true when the next Get may give other credentials (the provider
  // forgot them, or already has newer ones), false when it has nothing else
  // to offer, so asking again is useless. The default: false.
  virtual bool Invalidate(const Credentials& rejected) {
    (void)rejected;
    return false;
  }
};

// Always the same credentials.
class StaticCredentialsProvider final : public CredentialsProvider {
 public:
  explicit StaticCredentialsProvider(Credentials credentials)
      : credentials_(std::move(credentials)) {}
  Result<Credentials> Get(WallTime /*now*/) override { return credentials_; }

 private:
  const Credentials credentials_;
};

// Each source below returns nullopt when it is not configured (the chain
// moves on), the credentials, or an error when it is configured but broken
// (the chain stops: it never silently falls through to another identity).

// AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN). Only one
// of the two set is kInvalidArgument.
Result<std::optional<Credentials>> CredentialsFromEnvironment(const Environment& env);

// Profiles of an AWS shared credentials/config file: section name -> key ->
// value. Keys are lower-cased; '#' and ';' start comment lines; indented
// lines continue the previous value (sub-properties), which this keeps as
// raw text. Malformed lines are kInvalidArgument naming the line number.
using IniProfiles = std::map<std::string, std::map<std::string, std::string>, std::less<>>;
Result<IniProfiles> ParseIni(std::string_view text);

// The shared credentials file: AWS_SHARED_CREDENTIALS_FILE, else
// $HOME/.aws/credentials; the profile AWS_PROFILE, else "default". A
// missing file, or a missing "default" profile, is "not configured"; a
// missing profile named by AWS_PROFILE is kNotFound; a profile without both
// keys is kInvalidArgument; an unreadable file, or one over
// kMaxSharedFileBytes, kIo.
Result<std::optional<Credentials>> CredentialsFromSharedFile(const Environment& env);

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

// The default chain: environment, then the shared credentials file, then
// the container endpoint. Caches what it found; credentials with an expiry
// are fetched again kCredentialsRefreshMargin before it, and if that fetch
// fails while the old ones are still valid, the old ones are used (and a
// warning logged). Thread-safe: Get holds mu_, so one refresh at a time.
class DefaultCredentialsChain final : public CredentialsProvider {
 public:
  // `transport` is used for the container endpoint and must outlive this.
  DefaultCredentialsChain(Environment env, HttpTransport& transport);

  Result<Credentials> Get(WallTime now) override;

  // Forgets the cached credentials when they are `rejected`, so the next Get
  // resolves the chain again (and does not fall back on them if that
  // fails). True unless they came from the environment, which cannot
  // change while the process runs; true without forgetting anything when
  // the cache already holds other credentials (another thread refreshed).
  bool Invalidate(const Credentials& rejected) override;

  // Which source gave the cached credentials ("environment",
  // "shared-file", "container"), or "" before the first success.
  std::string source() const;

 private:
  // One pass over the chain. Requires mu_ held.
  Result<Credentials> Resolve();

  const Environment env_;
  HttpTransport& transport_;

  mutable std::mutex mu_;
  // Guarded by mu_.
  std::optional<Credentials> cached_;
  std::string source_;
};

// The region: AWS_REGION, then AWS_DEFAULT_REGION. kInvalidArgument saying
// to set one when neither is set, or when the value is not a region name.
Result<std::string> RegionFromEnvironment(const Environment& env);

}  // namespace headcount::aws
