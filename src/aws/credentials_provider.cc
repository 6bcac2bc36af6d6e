// Credentials: construction, expiry and the redacted text form.
#include "aws/credentials_provider.h"

#include <utility>

#include "core/time_text.h"

namespace headcount::aws {
namespace {

constexpr std::size_t kShownKeyIdChars = 4;

}  // namespace

Credentials::Credentials(std::string access_key_id, std::string secret_access_key,
                         std::string session_token, std::optional<WallTime> expiration)
    : access_key_id_(std::move(access_key_id)),
      secret_access_key_(std::move(secret_access_key)),
      session_token_(std::move(session_token)),
      expiration_(expiration) {}

bool Credentials::NeedsRefresh(WallTime now, std::chrono::seconds margin) const {
  return expiration_.has_value() && now >= *expiration_ - margin;
}

bool Credentials::SameKeys(const Credentials& other) const {
  return access_key_id_ == other.access_key_id_ && secret_access_key_ == other.secret_access_key_ &&
         session_token_ == other.session_token_;
}

std::string Credentials::ToString() const {
  std::string key = access_key_id_.size() > 2 * kShownKeyIdChars
                        ? access_key_id_.substr(0, kShownKeyIdChars) + "****"
                        : std::string("****");
  std::string out = "Credentials{key=" + key + ", secret=<redacted>, token=";
  out += session_token_.empty() ? "<none>" : "<redacted>";
  out += ", expires=";
  out += expiration_ ? FormatRfc3339(std::chrono::floor<std::chrono::seconds>(*expiration_))
                     : std::string("never");
  out += '}';
  return out;
}

}  // namespace headcount::aws
