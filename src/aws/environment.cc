// Environment implementations, and the region read from one. Thread-safe
// (read-only after construction).
#include "aws/environment.h"

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <utility>

#include "core/strings.h"

namespace headcount::aws {
namespace {

constexpr std::size_t kMaxRegionLength = 64;

}  // namespace

Environment ProcessEnvironment() {
  return [](std::string_view name) -> std::optional<std::string> {
    const std::string key(name);
    const char* value = std::getenv(key.c_str());  // NOLINT(concurrency-mt-unsafe): read-only
    if (value == nullptr || *value == '\0') return std::nullopt;
    return std::string(value);
  };
}

Environment MapEnvironment(std::map<std::string, std::string, std::less<>> vars) {
  auto shared =
      std::make_shared<const std::map<std::string, std::string, std::less<>>>(std::move(vars));
  return [shared](std::string_view name) -> std::optional<std::string> {
    auto it = shared->find(name);
    if (it == shared->end() || it->second.empty()) return std::nullopt;
    return it->second;
  };
}

Result<std::string> RegionFromEnvironment(const Environment& env) {
  std::optional<std::string> region = env("AWS_REGION");
  const char* variable = "AWS_REGION";
  if (!region) {
    region = env("AWS_DEFAULT_REGION");
    variable = "AWS_DEFAULT_REGION";
  }
  if (!region) {
    return Error::InvalidArgument(
        "no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION), e.g. AWS_REGION=us-east-1");
  }
  const bool valid =
      region->size() <= kMaxRegionLength && std::all_of(region->begin(), region->end(), [](char c) {
        return (c >= 'a' && c <= 'z') || IsDigit(c) || c == '-';
      });
  if (!valid) {
    return Error::InvalidArgument(std::string(variable) + " is not a region name: \"" + *region +
                                  "\"");
  }
  return *region;
}

}  // namespace headcount::aws
