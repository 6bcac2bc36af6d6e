// A scripted HttpTransport for unit tests: answers from a queue, records
// every request, and can advance a FakeClock per request. Thread-safe.
#pragma once

#include <deque>
#include <mutex>
#include <utility>
#include <vector>

#include "aws/http_transport.h"
#include "core/clock.h"

namespace headcount::aws::testing {

class FakeTransport final : public HttpTransport {
 public:
  // Queues one answer (a response or a transport error).
  void Push(Result<HttpResponse> answer) {
    std::lock_guard lock(mu_);
    answers_.push_back(std::move(answer));
  }
  void PushResponse(int status, std::string body, HttpHeaders headers = {}) {
    Push(HttpResponse{status, std::move(headers), std::move(body)});
  }

  // Each Send advances `clock` by `latency` (simulated network time).
  void SetLatency(FakeClock* clock, std::chrono::milliseconds latency) {
    std::lock_guard lock(mu_);
    clock_ = clock;
    latency_ = latency;
  }

  Result<HttpResponse> Send(const HttpRequest& request) override {
    std::lock_guard lock(mu_);
    requests_.push_back(request);
    if (clock_ != nullptr) clock_->Advance(latency_);
    if (answers_.empty()) return Error::Unavailable("fake transport: no answer queued");
    Result<HttpResponse> answer = std::move(answers_.front());
    answers_.pop_front();
    return answer;
  }

  std::vector<HttpRequest> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  mutable std::mutex mu_;
  // Guarded by mu_.
  std::deque<Result<HttpResponse>> answers_;
  std::vector<HttpRequest> requests_;
  FakeClock* clock_ = nullptr;
  std::chrono::milliseconds latency_{0};
};

}  // namespace headcount::aws::testing
