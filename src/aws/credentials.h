// The default AWS credentials chain: the environment, the shared credentials
// file, then the container endpoint (ECS, Lambda), with expiry-aware caching
// and one refresh at a time that never holds up callers while the cached
// credentials are valid. Includes the sources' headers, so this is the one
// header to include for AWS credentials. Thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
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
// are fetched again kCredentialsRefreshMargin before it.
//
// One refresh at a time (single flight), run by the caller that found the
// cache stale, outside the lock: while it waits for the endpoint, other
// callers get the cached credentials at once as long as they have not
// expired, and callers with nothing valid to use wait for that refresh and
// share its outcome instead of starting their own. If the refresh fails
// while the old credentials are still valid, the old ones are used (and a
// warning logged).
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
  // One pass over the chain. Reads only const members: runs without mu_.
  Result<Resolved> Resolve() const;
  // Runs Resolve as the one refresh in flight, then publishes its outcome
  // to the cache and the waiters. Requires `lock` held on mu_; releases it
  // while resolving.
  Result<Credentials> Refresh(std::unique_lock<std::mutex>& lock, WallTime now);
  // The cached credentials when they can still be used at `now`. Requires mu_.
  std::optional<Credentials> Usable(WallTime now) const;

  const Environment env_;
  HttpTransport& transport_;

  mutable std::mutex mu_;
  // Notified by the refresher when its refresh ends.
  std::condition_variable refreshed_;
  // Guarded by mu_.
  std::optional<Credentials> cached_;
  std::string source_;
  bool refreshing_ = false;            // a caller is in Resolve
  std::uint64_t refreshes_done_ = 0;   // how many refreshes have ended
  std::optional<Error> last_failure_;  // the last refresh's error, if it failed
};

}  // namespace headcount::aws
