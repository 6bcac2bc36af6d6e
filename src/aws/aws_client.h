// A client for one AWS JSON API (REST-JSON like IVS, JSON 1.0 like
// DynamoDB): endpoint resolution, SigV4 on every request, retries with
// backoff inside the caller's deadline, and AWS errors as typed values.
// Thread-safe: Call may run on many threads at once (the transport pools
// its connections; the retry policy is thread-safe).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "aws/credentials.h"
#include "aws/environment.h"
#include "aws/http_transport.h"
#include "core/clock.h"
#include "core/result.h"
#include "core/retry.h"

namespace headcount::aws {

// Retry defaults (core/retry.h): the n-th retry waits a uniformly random
// time in [0, min(cap, base * 2^(n-1))] ("full jitter"), never past the
// deadline; max_attempts counts every attempt of one operation.
inline constexpr std::chrono::milliseconds kDefaultBackoffBase{50};
inline constexpr std::chrono::milliseconds kDefaultBackoffCap{5000};
inline constexpr int kDefaultMaxAttempts = 10;
inline constexpr std::chrono::milliseconds kDefaultAttemptTimeout{10000};
inline constexpr std::string_view kUserAgent = "headcount/0.1";

enum class Protocol {
  kRestJson,  // POST <endpoint path>/<Operation>, Content-Type: application/json
  kJson10,    // POST /, X-Amz-Target: <prefix>.<Operation>, application/x-amz-json-1.0
};

// What the client needs to know about a service.
struct ServiceInfo {
  std::string_view signing_name;     // SigV4 service name
  std::string_view endpoint_prefix;  // default host: <prefix>.<region>.amazonaws.com
  std::string_view env_suffix;       // AWS_ENDPOINT_URL_<env_suffix>
  Protocol protocol;
  std::string_view target_prefix;  // kJson10 only
};

inline constexpr ServiceInfo kIvsService{"ivs", "ivs", "IVS", Protocol::kRestJson, ""};
inline constexpr ServiceInfo kDynamoDbService{"dynamodb", "dynamodb", "DYNAMODB", Protocol::kJson10,
                                              "DynamoDB_20120810"};

// The endpoint URL for `service` in `region`: AWS_ENDPOINT_URL_<SUFFIX>,
// else AWS_ENDPOINT_URL, else https://<prefix>.<region>.amazonaws.com
// (.amazonaws.com.cn for cn-* regions). kInvalidArgument for an override
// that is not an http(s) URL (the message names the variable).
Result<std::string> ResolveEndpoint(const ServiceInfo& service, std::string_view region,
                                    const Environment& env);

// An error answer from an AWS service.
struct AwsError {
  int http_status = 0;
  // "ThrottlingException": from x-amzn-ErrorType, else the body's "__type"
  // or "code", namespace ("com.amazonaws...#") and ":..." suffix stripped.
  // Empty when the server named none.
  std::string code;
  std::string message;     // "message", "Message" or "exceptionMessage"
  std::string request_id;  // x-amzn-RequestId
  bool retryable = false;  // throttling, transient or 5xx

  // "ThrottlingException (HTTP 429): Rate exceeded".
  std::string ToString() const;
};

// Parses an error response (any non-2xx). Never fails: what cannot be read
// is left empty.
AwsError ParseAwsError(int http_status, const HttpHeaders& headers, std::string_view body);

// Whether an answer with this status and code is worth retrying: HTTP 429
// and 5xx, and the throttling and transient codes the AWS SDKs retry.
bool IsRetryableAwsError(int http_status, std::string_view code);

// Whether `code` says the credentials that signed the request have expired
// (ExpiredTokenException, ExpiredToken).
bool IsExpiredCredentialsError(std::string_view code);

struct AwsClientOptions {
  std::string region;    // required
  std::string endpoint;  // required: see ResolveEndpoint
  std::chrono::milliseconds connect_timeout = kDefaultConnectTimeout;
  std::chrono::milliseconds attempt_timeout = kDefaultAttemptTimeout;
  std::size_t max_response_bytes = kDefaultMaxResponseBytes;
  std::chrono::milliseconds backoff_base = kDefaultBackoffBase;
  std::chrono::milliseconds backoff_cap = kDefaultBackoffCap;
  int max_attempts = kDefaultMaxAttempts;
  // Seeds the jitter; 0 seeds from std::random_device.
  std::uint64_t jitter_seed = 0;
};

// Region (RegionFromEnvironment) and endpoint (ResolveEndpoint) for
// `service`, the rest defaulted.
Result<AwsClientOptions> ClientOptionsFromEnvironment(const ServiceInfo& service,
                                                      const Environment& env);

class AwsClient {
 public:
  // Checks `options` (kInvalidArgument for an empty region, a bad endpoint
  // or non-positive limits). The referenced objects must outlive the client.
  static Result<std::unique_ptr<AwsClient>> Create(const ServiceInfo& service,
                                                   AwsClientOptions options,
                                                   CredentialsProvider& credentials,
                                                   HttpTransport& transport, const Clock& clock,
                                                   SleepFunction sleep = RealSleep());

  // Calls `operation` with `input` and returns the response JSON (an empty
  // 2xx body reads as {}). Each attempt is signed anew and limited to
  // min(attempt_timeout, time left). Network failures and retryable AWS
  // errors are retried with backoff while attempts remain and the wait ends
  // before `deadline`: the attempts of one Call are a RetryBudget of their
  // own. Fails with:
  //  - kRejected: the service answered with a non-retryable error (or the
  //    last retryable one after max_attempts), or an unreadable or too
  //    large response;
  //  - kUnavailable: the service could not be reached, max_attempts times;
  //  - kDeadlineExceeded: the deadline passed or the next wait would cross it;
  //  - the credentials provider's error (retried like a network failure
  //    when it is kUnavailable, returned at once otherwise).
  // An answer saying the credentials expired (IsExpiredCredentialsError) is
  // retried once, at once, when the provider's Invalidate says fresh ones
  // may come; otherwise, or when it comes again, it is kRejected.
  // *aws_error (if given) holds the AWS error answer of the last attempt
  // that got one, whatever the returned code, also when a later attempt
  // succeeded (a caller can tell it was throttled on the way: the IVS
  // publisher backs off on it); with no error answer it is left untouched.
  // Logs retries at debug level; never logs headers, credentials or bodies.
  Result<nlohmann::json> Call(std::string_view operation, const nlohmann::json& input,
                              WallTime deadline, AwsError* aws_error = nullptr);
  // Call, drawing its attempts from `budget` (see StartBudget), which
  // several calls of one operation share, so that resending what a call
  // left undone (UnprocessedItems) never multiplies the attempts: they all
  // count against one max_attempts and one deadline. With the budget used
  // up before an attempt, fails with kUnavailable and sends nothing.
  Result<nlohmann::json> Call(std::string_view operation, const nlohmann::json& input,
                              RetryBudget& budget, AwsError* aws_error = nullptr);
  // A budget of options().max_attempts attempts under this client's retry
  // policy, ending at `deadline`. The client must outlive it.
  RetryBudget StartBudget(WallTime deadline) const { return RetryBudget(retry_, deadline); }

  const ServiceInfo& service() const { return service_; }
  const AwsClientOptions& options() const { return options_; }

 private:
  AwsClient(const ServiceInfo& service, AwsClientOptions options, Url endpoint,
            CredentialsProvider& credentials, HttpTransport& transport, const Clock& clock,
            RetryPolicy retry);
  // One signed attempt; *signed_with gets the credentials it signed with.
  Result<HttpResponse> Attempt(std::string_view operation, const std::string& body,
                               std::chrono::milliseconds time_left,
                               std::optional<Credentials>* signed_with);

  const ServiceInfo service_;
  const AwsClientOptions options_;
  const Url endpoint_;
  CredentialsProvider& credentials_;
  HttpTransport& transport_;
  const Clock& clock_;
  const RetryPolicy retry_;
};

}  // namespace headcount::aws
