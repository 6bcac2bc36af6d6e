// The AWS shared credentials file (~/.aws/credentials): its INI dialect and
// the profile the chain reads from it. Pure functions of the environment and
// the file; thread-safe.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "aws/credentials_provider.h"
#include "aws/environment.h"
#include "core/result.h"

namespace headcount::aws {

inline constexpr std::size_t kMaxSharedFileBytes = std::size_t{1024} * 1024;

// Profiles of an AWS shared credentials/config file: section name -> key ->
// value. Keys are lower-cased; '#' and ';' start comment lines; indented
// lines continue the previous value (sub-properties), which this keeps as
// raw text. Malformed lines are kInvalidArgument naming the line number.
using IniProfiles = std::map<std::string, std::map<std::string, std::string>, std::less<>>;
Result<IniProfiles> ParseIni(std::string_view text);

// The shared credentials file: AWS_SHARED_CREDENTIALS_FILE, else
// $HOME/.aws/credentials; the profile AWS_PROFILE, else "default". A
// missing file, or a missing "default" profile, is "not configured"
// (nullopt); a missing profile named by AWS_PROFILE is kNotFound; a profile
// without both keys is kInvalidArgument; an unreadable file, or one over
// kMaxSharedFileBytes, kIo. A file others may read gets a warning (the keys
// are still used, as the AWS SDKs do).
Result<std::optional<Credentials>> CredentialsFromSharedFile(const Environment& env);

}  // namespace headcount::aws
