// The default AWS credentials chain: the environment, the shared credentials
// file, then the container endpoint (ECS, Lambda), with expiry-aware caching.
// Includes the sources' headers, so this is the one header to include for
// AWS credentials. Thread-safe.
#pragma once

#include <mutex>
#include <optional>
#include <string>

#include "aws/container_credentials.h"
#include "aws/credentials_provider.h"
#include "aws/environment.h"
#include "aws/http_transport.h"
#include "aws/shared_credentials_file.h"
#include "core/clock.h"
#include "core/result.h"

namespace headcount::aws {

// Each source returns nullopt when it is not configured (the chain moves
// on), the credentials, or an error when it is configured but broken (the
// chain stops: it never silently falls through to another identity). The
// other two sources: CredentialsFromSharedFile, and
// ContainerEndpointFromEnvironment + FetchContainerCredentials.

// AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN). Only one
// of the two set is kInvalidArgument.
Result<std::optional<Credentials>> CredentialsFromEnvironment(const Environment& env);

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
  struct Resolved {
    Credentials credentials;
    std::string source;
  };
  // One pass over the chain. Reads only const members.
  Result<Resolved> Resolve() const;
  // The cached credentials when they can still be used at `now`. Requires mu_.
  std::optional<Credentials> Usable(WallTime now) const;

  const Environment env_;
  HttpTransport& transport_;

  mutable std::mutex mu_;
  // Guarded by mu_.
  std::optional<Credentials> cached_;
  std::string source_;
};

}  // namespace headcount::aws
