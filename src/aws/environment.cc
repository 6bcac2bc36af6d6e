// Environment implementations. Thread-safe (read-only after construction).
#include "aws/environment.h"

#include <cstdlib>
#include <memory>
#include <utility>

namespace headcount::aws {

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

}  // namespace headcount::aws
