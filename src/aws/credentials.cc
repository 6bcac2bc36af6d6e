// The default credentials chain: the environment source, and the cache with
// its single-flight refresh (see credentials.h). Nothing here logs or
// returns a secret in a message.
#include "aws/credentials.h"

#include <spdlog/spdlog.h>

#include <exception>
#include <utility>

namespace headcount::aws {

Result<std::optional<Credentials>> CredentialsFromEnvironment(const Environment& env) {
  std::optional<std::string> key = env("AWS_ACCESS_KEY_ID");
  std::optional<std::string> secret = env("AWS_SECRET_ACCESS_KEY");
  if (!key && !secret) return std::optional<Credentials>();
  if (!key || !secret) {
    return Error::InvalidArgument(
        std::string("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together; only ") +
        (key ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY") + " is set");
  }
  return std::optional<Credentials>(
      Credentials(std::move(*key), std::move(*secret), env("AWS_SESSION_TOKEN").value_or("")));
}

DefaultCredentialsChain::DefaultCredentialsChain(Environment env, HttpTransport& transport)
    : env_(std::move(env)), transport_(transport) {}

Result<DefaultCredentialsChain::Resolved> DefaultCredentialsChain::Resolve() const {
  Result<std::optional<Credentials>> from_env = CredentialsFromEnvironment(env_);
  if (!from_env.ok()) return from_env.error();
  if (*from_env) return Resolved{**from_env, "environment"};
  Result<std::optional<Credentials>> from_file = CredentialsFromSharedFile(env_);
  if (!from_file.ok()) return from_file.error();
  if (*from_file) return Resolved{**from_file, "shared-file"};
  Result<std::optional<ContainerEndpoint>> endpoint = ContainerEndpointFromEnvironment(env_);
  if (!endpoint.ok()) return endpoint.error();
  if (*endpoint) {
    Result<Credentials> fetched = FetchContainerCredentials(**endpoint, transport_);
    if (!fetched.ok()) return fetched.error();
    return Resolved{*fetched, "container"};
  }
  return Error::NotFound(
      "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, add a profile to "
      "~/.aws/credentials (AWS_PROFILE), or run where the container credentials endpoint is "
      "configured");
}

std::optional<Credentials> DefaultCredentialsChain::Usable(WallTime now) const {
  if (cached_ && !cached_->ExpiredAt(now)) return cached_;
  return std::nullopt;
}

Result<Credentials> DefaultCredentialsChain::Get(WallTime now) {
  std::unique_lock lock(mu_);
  while (refreshing_) {
    // Another caller is refreshing: the current credentials serve until
    // they expire...
    if (std::optional<Credentials> usable = Usable(now)) return *usable;
    // ...and without them, its outcome is this caller's too.
    const std::uint64_t awaited = refreshes_done_ + 1;
    refreshed_.wait(lock, [&] { return refreshes_done_ >= awaited; });
    if (std::optional<Credentials> usable = Usable(now)) return *usable;
    if (last_failure_) return *last_failure_;
    // Refreshed, then invalidated before this caller woke: look again.
  }
  if (cached_ && !cached_->NeedsRefresh(now)) return *cached_;
  return Refresh(lock, now);
}

Result<Credentials> DefaultCredentialsChain::Refresh(std::unique_lock<std::mutex>& lock,
                                                     WallTime now) {
  refreshing_ = true;
  lock.unlock();
  // Resolve reports failures as values; an exception (bad_alloc from a
  // std::function or a string) must still end the refresh below, or every
  // later caller would wait for it forever.
  Result<Resolved> fresh = Error::Internal("credentials chain: the refresh did not finish");
  try {
    fresh = Resolve();
  } catch (const std::exception& e) {
    fresh = Error::Internal(std::string("credentials chain: ") + e.what());
  }
  lock.lock();
  refreshing_ = false;
  ++refreshes_done_;
  if (fresh.ok()) {
    cached_ = fresh->credentials;
    source_ = fresh->source;
    last_failure_.reset();
  } else {
    last_failure_ = fresh.error();
  }
  refreshed_.notify_all();
  if (fresh.ok()) return fresh->credentials;
  if (std::optional<Credentials> usable = Usable(now)) {
    spdlog::warn("aws: refreshing credentials failed, using the current ones until they expire: {}",
                 fresh.error().ToString());
    return *usable;
  }
  return fresh.error();
}

bool DefaultCredentialsChain::Invalidate(const Credentials& rejected) {
  std::lock_guard lock(mu_);
  if (!cached_) return true;
  if (!cached_->SameKeys(rejected)) return true;  // already refreshed by another call
  if (source_ == "environment") return false;
  spdlog::warn("aws: the service says the {} credentials have expired; fetching them again",
               source_);
  cached_.reset();
  return true;
}

std::string DefaultCredentialsChain::source() const {
  std::lock_guard lock(mu_);
  return cached_ ? source_ : std::string();
}

}  // namespace headcount::aws
