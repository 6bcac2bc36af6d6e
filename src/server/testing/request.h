// Test support: an HttpRequest as HttpServer hands it to a handler, built from
// a request target, for handler tests that need no socket. Header-only.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <utility>

#include "server/http.h"

namespace headcount::http_testing {

// `method target` from 127.0.0.1 with `headers` (lower-case names); the path
// and query are parsed from `target` as the server parses them (a target the
// server would refuse fails the calling test).
inline HttpRequest MakeRequest(const std::string& target, const std::string& method = "GET",
                               std::map<std::string, std::string> headers = {}) {
  auto parsed = ParseTarget(target);
  EXPECT_TRUE(parsed.ok()) << target;
  HttpRequest req;
  req.method = method;
  req.target = target;
  if (parsed.ok()) {
    req.path = parsed->path;
    req.query = parsed->query;
  }
  req.headers = std::move(headers);
  req.client_address = "127.0.0.1";
  return req;
}

}  // namespace headcount::http_testing
