// AwsClient: sign, send, classify, back off. Thread-safe (see the header).
#include "aws/aws_client.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>
#include <utility>

#include "aws/sigv4.h"
#include "core/strings.h"

namespace headcount::aws {
namespace {

// The codes the AWS SDKs treat as throttling or transient (see
// @smithy/service-error-classification).
constexpr std::string_view kRetryableCodes[] = {
    "BandwidthLimitExceeded",
    "EC2ThrottledException",
    "LimitExceededException",
    "PriorRequestNotComplete",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "SlowDown",
    "ThrottledException",
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "TransactionInProgressException",
    "RequestTimeout",
    "RequestTimeoutException",
    "InternalServerError",
};

// "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException" and
// "ValidationException:http://internal.amazon.com/..." -> the bare name.
std::string BareErrorCode(std::string_view code) {
  if (const std::size_t colon = code.find(':'); colon != std::string_view::npos) {
    code = code.substr(0, colon);
  }
  if (const std::size_t hash = code.rfind('#'); hash != std::string_view::npos) {
    code = code.substr(hash + 1);
  }
  return std::string(Trim(code));
}

std::string OperationName(const ServiceInfo& service, std::string_view operation) {
  return std::string(service.signing_name) + " " + std::string(operation);
}

}  // namespace

Result<std::string> ResolveEndpoint(const ServiceInfo& service, std::string_view region,
                                    const Environment& env) {
  const std::string specific = "AWS_ENDPOINT_URL_" + std::string(service.env_suffix);
  for (const std::string& variable : {specific, std::string("AWS_ENDPOINT_URL")}) {
    if (std::optional<std::string> url = env(variable)) {
      Result<Url> parsed = ParseEndpointUrl(*url);
      if (!parsed.ok()) return Error::InvalidArgument(variable + ": " + parsed.error().message());
      return *url;
    }
  }
  if (region.empty()) return Error::InvalidArgument("no region to build the endpoint from");
  const std::string_view domain = region.starts_with("cn-") ? "amazonaws.com.cn" : "amazonaws.com";
  return "https://" + std::string(service.endpoint_prefix) + "." + std::string(region) + "." +
         std::string(domain);
}

std::string AwsError::ToString() const {
  std::string out = code.empty() ? std::string("error") : code;
  out += " (HTTP " + std::to_string(http_status) + ")";
  if (!message.empty()) out += ": " + message;
  return out;
}

bool IsRetryableAwsError(int http_status, std::string_view code) {
  if (http_status == 429 || http_status >= 500) return true;
  return std::find(std::begin(kRetryableCodes), std::end(kRetryableCodes), code) !=
         std::end(kRetryableCodes);
}

bool IsExpiredCredentialsError(std::string_view code) {
  return code == "ExpiredTokenException" || code == "ExpiredToken";
}

AwsError ParseAwsError(int http_status, const HttpHeaders& headers, std::string_view body) {
  AwsError error;
  error.http_status = http_status;
  if (const std::string* id = FindHeader(headers, "x-amzn-RequestId")) error.request_id = *id;
  const nlohmann::json doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  auto field = [&doc](std::initializer_list<const char*> names) -> std::string {
    if (!doc.is_object()) return {};
    for (const char* name : names) {
      auto it = doc.find(name);
      if (it != doc.end() && it->is_string()) return it->get<std::string>();
    }
    return {};
  };
  if (const std::string* type = FindHeader(headers, "x-amzn-ErrorType")) {
    error.code = BareErrorCode(*type);
  }
  if (error.code.empty()) error.code = BareErrorCode(field({"__type", "code", "Code"}));
  error.message = field({"message", "Message", "exceptionMessage", "errorMessage"});
  error.retryable = IsRetryableAwsError(http_status, error.code);
  return error;
}

Result<AwsClientOptions> ClientOptionsFromEnvironment(const ServiceInfo& service,
                                                      const Environment& env) {
  Result<std::string> region = RegionFromEnvironment(env);
  if (!region.ok()) return region.error();
  Result<std::string> endpoint = ResolveEndpoint(service, *region, env);
  if (!endpoint.ok()) return endpoint.error();
  AwsClientOptions options;
  options.region = std::move(*region);
  options.endpoint = std::move(*endpoint);
  return options;
}

Result<std::unique_ptr<AwsClient>> AwsClient::Create(const ServiceInfo& service,
                                                     AwsClientOptions options,
                                                     CredentialsProvider& credentials,
                                                     HttpTransport& transport, const Clock& clock,
                                                     SleepFunction sleep) {
  if (options.region.empty()) return Error::InvalidArgument("aws client: region is empty");
  Result<Url> endpoint = ParseEndpointUrl(options.endpoint);
  if (!endpoint.ok()) return Error::InvalidArgument("aws client: " + endpoint.error().message());
  if (options.connect_timeout.count() <= 0 || options.attempt_timeout.count() <= 0 ||
      options.max_response_bytes == 0) {
    return Error::InvalidArgument("aws client: timeouts, limits and backoff must be positive");
  }
  Result<RetryPolicy> retry =
      RetryPolicy::Create({.max_attempts = options.max_attempts,
                           .base = options.backoff_base,
                           .cap = options.backoff_cap},
                          clock, std::move(sleep), SeededJitter(options.jitter_seed));
  if (!retry.ok()) return Error::InvalidArgument("aws client: " + retry.error().message());
  return std::unique_ptr<AwsClient>(new AwsClient(service, std::move(options), std::move(*endpoint),
                                                  credentials, transport, clock,
                                                  std::move(retry).value()));
}

AwsClient::AwsClient(const ServiceInfo& service, AwsClientOptions options, Url endpoint,
                     CredentialsProvider& credentials, HttpTransport& transport, const Clock& clock,
                     RetryPolicy retry)
    : service_(service),
      options_(std::move(options)),
      endpoint_(std::move(endpoint)),
      credentials_(credentials),
      transport_(transport),
      clock_(clock),
      retry_(std::move(retry)) {}

Result<HttpResponse> AwsClient::Attempt(std::string_view operation, const std::string& body,
                                        std::chrono::milliseconds time_left,
                                        std::optional<Credentials>* signed_with) {
  const WallTime now = clock_.Now();
  Result<Credentials> credentials = credentials_.Get(now);
  if (!credentials.ok()) return credentials.error();
  *signed_with = *credentials;

  std::string path = endpoint_.path;
  while (!path.empty() && path.back() == '/') path.pop_back();
  SigningRequest signing;
  signing.method = "POST";
  signing.body = body;
  signing.headers.push_back({"Host", endpoint_.HostHeader()});
  if (service_.protocol == Protocol::kRestJson) {
    signing.path = path + "/" + std::string(operation);
    signing.headers.push_back({"Content-Type", "application/json"});
  } else {
    signing.path = path + "/";
    signing.headers.push_back({"Content-Type", "application/x-amz-json-1.0"});
    signing.headers.push_back(
        {"X-Amz-Target", std::string(service_.target_prefix) + "." + std::string(operation)});
  }
  SigningParams params;
  params.service = std::string(service_.signing_name);
  params.region = options_.region;
  params.time = now;
  Result<SigningResult> signed_request = SignRequest(signing, *credentials, params);
  if (!signed_request.ok()) return signed_request.error();

  HttpRequest request;
  request.method = "POST";
  request.url = endpoint_.Origin() + signing.path;
  request.headers = std::move(signing.headers);
  for (HttpHeader& h : signed_request->headers_to_add) request.headers.push_back(std::move(h));
  request.headers.push_back({"User-Agent", std::string(kUserAgent)});
  request.body = body;
  request.timeout = std::min(options_.attempt_timeout, time_left);
  request.connect_timeout = std::min(options_.connect_timeout, request.timeout);
  request.max_response_bytes = options_.max_response_bytes;
  // A request that met a kept-alive connection the service had closed is
  // sent again at once, as the AWS SDKs (and curl before) do: AWS APIs take a
  // repeated call, and the retry policy would resend it anyway.
  request.resend_when_stale = true;
  return transport_.Send(request);
}

Result<nlohmann::json> AwsClient::Call(std::string_view operation, const nlohmann::json& input,
                                       WallTime deadline, AwsError* aws_error) {
  RetryBudget budget = StartBudget(deadline);
  return Call(operation, input, budget, aws_error);
}

Result<nlohmann::json> AwsClient::Call(std::string_view operation, const nlohmann::json& input,
                                       RetryBudget& budget, AwsError* aws_error) {
  const std::string name = OperationName(service_, operation);
  const std::string body = input.dump();
  std::optional<Error> last_error;
  bool refreshed_credentials = false;
  for (;;) {
    switch (budget.StartAttempt()) {
      case RetryVerdict::kGo:
        break;
      case RetryVerdict::kPastDeadline:
        return Error::DeadlineExceeded(name + ": deadline passed" +
                                       (last_error
                                            ? " after " + std::to_string(budget.attempts()) +
                                                  " attempts; last: " + last_error->ToString()
                                            : std::string()));
      case RetryVerdict::kAttemptsUsedUp:
        if (last_error) return *last_error;
        return Error::Unavailable(name + ": no attempt left of the operation's " +
                                  std::to_string(budget.attempts()));
    }
    const int attempt = budget.attempts();
    std::optional<Credentials> signed_with;
    // At least 1 ms: the deadline was ahead when the attempt started, and a
    // zero timeout must never reach the transport.
    const std::chrono::milliseconds time_left =
        std::max(budget.TimeLeft(), std::chrono::milliseconds{1});
    Result<HttpResponse> response = Attempt(operation, body, time_left, &signed_with);

    if (response.ok() && response->status >= 200 && response->status < 300) {
      if (response->body.empty()) return nlohmann::json::object();
      nlohmann::json doc =
          nlohmann::json::parse(response->body, nullptr, /*allow_exceptions=*/false);
      if (doc.is_discarded()) {
        return Error::Rejected(name + ": HTTP " + std::to_string(response->status) +
                               " with a body that is not JSON");
      }
      return doc;
    }
    if (response.ok()) {
      AwsError error = ParseAwsError(response->status, response->headers, response->body);
      last_error = Error::Rejected(name + ": " + error.ToString());
      const bool retryable = error.retryable;
      // Expired credentials: one more try, at once, if the provider may
      // have fresh ones (a container endpoint rotates them).
      const bool refresh = IsExpiredCredentialsError(error.code) && !refreshed_credentials &&
                           signed_with && budget.attempts_left() > 0 &&
                           credentials_.Invalidate(*signed_with);
      if (aws_error != nullptr) *aws_error = std::move(error);
      if (refresh) {
        refreshed_credentials = true;
        spdlog::debug("aws: {} attempt {}: credentials expired, retrying with fresh ones", name,
                      attempt);
        continue;
      }
      if (!retryable) return *last_error;
    } else if (response.error().code() == ErrorCode::kUnavailable) {
      last_error = Error::Unavailable(name + ": " + response.error().message());
    } else {
      return Error(response.error().code(), name + ": " + response.error().message());
    }

    const auto log_retry = [&](std::chrono::nanoseconds wait) {
      spdlog::debug("aws: {} attempt {} failed ({}), retrying in {} ms", name, attempt,
                    last_error->ToString(),
                    std::chrono::duration_cast<std::chrono::milliseconds>(wait).count());
    };
    switch (budget.WaitToRetry(log_retry)) {
      case RetryVerdict::kGo:
        break;
      case RetryVerdict::kAttemptsUsedUp:
        return *last_error;
      case RetryVerdict::kPastDeadline:
        return Error::DeadlineExceeded(
            name + ": gave up after " + std::to_string(attempt) +
            " attempts, the next would start past the deadline; last: " + last_error->ToString());
    }
  }
}

}  // namespace headcount::aws
