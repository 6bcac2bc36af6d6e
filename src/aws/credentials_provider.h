// AWS credentials as a value, and the interface that gives them to the
// signer. Credentials never print their secrets. Credentials is a value
// type; providers are thread-safe.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "core/clock.h"
#include "core/result.h"

namespace headcount::aws {

// Credentials that expire are refreshed this long before they do.
inline constexpr std::chrono::minutes kCredentialsRefreshMargin{5};

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
  // Whether a service refuses these at `now`: they carry an expiry, and it
  // has passed. Never, for credentials without an expiry.
  bool ExpiredAt(WallTime now) const { return NeedsRefresh(now, std::chrono::seconds(0)); }
  // The same key, secret and token (whatever their expiry).
  bool SameKeys(const Credentials& other) const;

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

}  // namespace headcount::aws
