// The PostgreSQL connection URI of store.postgres_url: checking its shape,
// hiding its password for logs and errors, and adding the client's timeouts.
// Needs no libpq (the settings check it in every build). Pure functions;
// thread-safe.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "core/result.h"

namespace headcount {

// What a redacted password reads as.
inline constexpr std::string_view kRedactedPassword = "***";

// Checks that `url` is a libpq connection URI,
// postgresql://[user[:password]@][host][:port][/dbname][?param=value&...]
// (or postgres://...). kInvalidArgument otherwise, with a message that
// never contains the password. libpq parses the rest when it connects.
Status CheckPostgresUrl(std::string_view url);

// `url` with the password of its user info and any `password=` parameter
// replaced by kRedactedPassword; the rest unchanged.
// Example: postgresql://app:s3cret@db:5432/hc -> postgresql://app:***@db:5432/hc
std::string RedactPostgresUrl(std::string_view url);

// `url` with `name=value` appended to its query, unless it names `name`
// already (a value the user gave wins).
std::string WithPostgresParam(std::string_view url, std::string_view name, std::string_view value);

// The password in `url` (user info or `password=` parameter,
// percent-decoded), or "" when it has none: what to scrub from error
// messages before they are logged.
std::string PostgresUrlPassword(std::string_view url);

// `text` with every occurrence of `secret` replaced by kRedactedPassword
// (`text` unchanged when `secret` is empty).
std::string ScrubSecret(std::string text, std::string_view secret);

}  // namespace headcount
