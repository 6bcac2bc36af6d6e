// What the HTTP client's tests share: a GET request for a URL, and an
// environment read from a map instead of the process's. Header-only.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "http_client/message.h"
#include "http_client/proxy.h"

namespace headcount::http_client::testing {

// A GET of `url` with the client's default timeouts and limits.
inline HttpRequest Get(std::string url) {
  HttpRequest request;
  request.url = std::move(url);
  return request;
}

// An environment holding exactly `vars` (names compared as given).
inline EnvironmentLookup MapLookup(std::map<std::string, std::string, std::less<>> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

}  // namespace headcount::http_client::testing
