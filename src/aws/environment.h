// Environment variables as a seam: code that reads AWS_* settings takes an
// Environment, so tests pass a map; and the region read from one. Both
// implementations are thread-safe.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace headcount::aws {

// Returns the value of one variable, or nullopt when it is unset or empty (the
// AWS SDKs treat an empty AWS_* variable as unset).
using Environment = std::function<std::optional<std::string>(std::string_view name)>;

// The process environment (getenv). The process must not change its
// environment while this is in use.
Environment ProcessEnvironment();

// A fixed set of variables, for tests.
Environment MapEnvironment(std::map<std::string, std::string, std::less<>> vars);

// The region: AWS_REGION, then AWS_DEFAULT_REGION. kInvalidArgument saying
// to set one when neither is set, or when the value is not a region name.
Result<std::string> RegionFromEnvironment(const Environment& env);

}  // namespace headcount::aws
