// Test support: a request as the server hands it to an Origin, and the
// Origin's answer to it as a future (it may answer later, from another
// thread). For tests only.
#pragma once

#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <string>
#include <utility>

#include "origin/origin.h"
#include "server/http.h"

namespace headcount::testing {

// GET `target` (path and query) from `client`.
inline HttpRequest GetRequest(const std::string& target, const std::string& client) {
  HttpRequest r;
  r.method = "GET";
  r.target = target;
  Result<ParsedTarget> parsed = ParseTarget(target);
  EXPECT_TRUE(parsed.ok()) << target;
  if (parsed.ok()) {
    r.path = parsed->path;
    r.query = parsed->query;
  }
  r.client_address = client;
  return r;
}

// Starts `request` on `origin`; the future holds the answer.
inline std::future<HttpResponse> Start(Origin& origin, const HttpRequest& request) {
  auto promise = std::make_shared<std::promise<HttpResponse>>();
  std::future<HttpResponse> answer = promise->get_future();
  origin.Handle(request, HttpResponder::FromFunction(
                             [promise](HttpResponse r) { promise->set_value(std::move(r)); }));
  return answer;
}

}  // namespace headcount::testing
