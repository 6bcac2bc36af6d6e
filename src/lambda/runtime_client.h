// A client of the AWS Lambda Runtime API (the custom-runtime protocol at
// AWS_LAMBDA_RUNTIME_API): fetch the next invocation, answer it, report
// errors. Thread-safe as far as its HttpTransport is (BeastTransport is).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "aws/http_transport.h"
#include "core/clock.h"
#include "core/result.h"

namespace headcount::lambda {

// Lambda's longest function timeout: a deadline further away than this from
// now is absurd and is clamped to it.
inline constexpr std::chrono::minutes kMaxInvocationTime{15};
// Bounds one response or error we post, and one event we accept (Lambda's
// synchronous payload limit is 6 MB).
inline constexpr std::size_t kMaxPayloadBytes = std::size_t{6} * 1024 * 1024;
// How long posting a response or an error may take; the Runtime API is local.
inline constexpr std::chrono::seconds kPostTimeout{10};

// One invocation, as GET /runtime/invocation/next returned it.
struct Invocation {
  std::string request_id;         // Lambda-Runtime-Aws-Request-Id, never empty
  WallTime deadline;              // Lambda-Runtime-Deadline-Ms, clamped to [now, now + 15 min]
  bool deadline_clamped = false;  // true when the header was missing or absurd
  std::string function_arn;       // Lambda-Runtime-Invoked-Function-Arn, may be empty
  std::string event;              // the body
};

class RuntimeClient {
 public:
  // `endpoint` is AWS_LAMBDA_RUNTIME_API ("host:port"). `transport` and
  // `clock` must outlive the client.
  RuntimeClient(std::string endpoint, aws::HttpTransport& transport, const Clock& clock);

  // Long-polls for the next invocation; blocks until there is one. Fails
  // with kUnavailable when the Runtime API could not be reached, kRejected
  // when it answered other than 200, kInvalidArgument when its answer lacks
  // a request id (a request id that is not a plain token counts as missing).
  [[nodiscard]] Result<Invocation> Next();

  // POSTs `body` (JSON) as the invocation's result. Fails when the Runtime
  // API could not be reached or did not answer 202 (e.g. 410 after the
  // deadline, 413 when too large).
  [[nodiscard]] Status PostResponse(const std::string& request_id, const std::string& body);

  // POSTs {"errorMessage","errorType"} as the invocation's failure, with the
  // Lambda-Runtime-Function-Error-Type header.
  [[nodiscard]] Status PostError(const std::string& request_id, std::string_view error_type,
                                 std::string_view message);

  // POSTs an initialization failure (bad configuration); after it the
  // process should exit.
  [[nodiscard]] Status PostInitError(std::string_view error_type, std::string_view message);

 private:
  Status Post(const std::string& path, const std::string& body, std::string_view error_type);

  const std::string base_;  // "http://host:port/2018-06-01/runtime"
  aws::HttpTransport& transport_;
  const Clock& clock_;
};

// The JSON body of an error post: {"errorMessage": ..., "errorType": ...}.
std::string ErrorBody(std::string_view error_type, std::string_view message);

}  // namespace headcount::lambda
