// Test support: the answer an asynchronous handler gives, caught for a test
// that waits for it from another thread. Header-only.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "server/http.h"

namespace headcount::http_testing {

// An answer that may come later, from another thread: the response, and the
// thread that gave it.
struct Answer {
  std::promise<HttpResponse> promise;
  std::future<HttpResponse> future = promise.get_future();
  std::atomic<bool> arrived{false};
  std::thread::id thread;

  bool Ready(std::chrono::milliseconds wait = std::chrono::milliseconds(0)) {
    return future.wait_for(wait) == std::future_status::ready;
  }
};

// A responder that fills `answer` (once, as every responder answers).
inline HttpResponder RespondTo(const std::shared_ptr<Answer>& answer) {
  return HttpResponder::FromFunction([answer](HttpResponse r) {
    answer->thread = std::this_thread::get_id();
    answer->arrived = true;
    answer->promise.set_value(std::move(r));
  });
}

// Whether `r` carries the header `name: value` exactly.
inline bool HasHeader(const HttpResponse& r, const std::string& name, const std::string& value) {
  return std::find(r.headers.begin(), r.headers.end(), std::pair(name, value)) != r.headers.end();
}

}  // namespace headcount::http_testing
