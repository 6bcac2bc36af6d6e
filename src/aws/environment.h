// Environment variables as a seam: code that reads AWS_* settings takes an
// Environment, so tests pass a map. Both implementations are thread-safe.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace headcount::aws {

// Returns the value of one variable, or nullopt when it is unset or empty (the
// AWS SDKs treat an empty AWS_* variable as unset).
using Environment = std::function<std::optional<std::string>(std::string_view name)>;

// The process environment (getenv). The process must not change its
// environment while this is in use.
Environment ProcessEnvironment();

// A fixed set of variables, for tests.
Environment MapEnvironment(std::map<std::string, std::string, std::less<>> vars);

}  // namespace headcount::aws
