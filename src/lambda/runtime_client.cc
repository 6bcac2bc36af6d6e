#include "lambda/runtime_client.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <nlohmann/json.hpp>

namespace headcount::lambda {
namespace {

constexpr std::string_view kRequestIdHeader = "Lambda-Runtime-Aws-Request-Id";
constexpr std::string_view kDeadlineHeader = "Lambda-Runtime-Deadline-Ms";
constexpr std::string_view kFunctionArnHeader = "Lambda-Runtime-Invoked-Function-Arn";
constexpr std::string_view kErrorTypeHeader = "Lambda-Runtime-Function-Error-Type";
// A request id is a UUID in practice; anything longer or with other
// characters is refused, since it goes into a URL path and our logs.
constexpr std::size_t kMaxRequestIdBytes = 128;

// No timeout on the long poll, as awslabs/aws-lambda-cpp does: between
// invocations Lambda freezes the whole sandbox, so a timer would fire (or a
// connection be dropped) on thaw for no reason, and an idle function may
// legitimately wait here for hours. HttpRequest has no "never", so a year
// stands for it.
constexpr std::chrono::milliseconds kNextTimeout = std::chrono::hours{24 * 365};

bool IsPlainToken(std::string_view s) {
  if (s.empty() || s.size() > kMaxRequestIdBytes) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

std::string StatusText(const aws::HttpResponse& r) {
  return "HTTP " + std::to_string(r.status) + ": " + r.body.substr(0, 256);
}

}  // namespace

RuntimeClient::RuntimeClient(std::string endpoint, aws::HttpTransport& transport,
                             const Clock& clock)
    : base_("http://" + std::move(endpoint) + "/2018-06-01/runtime"),
      transport_(transport),
      clock_(clock) {}

Result<Invocation> RuntimeClient::Next() {
  aws::HttpRequest request;
  request.method = "GET";
  request.url = base_ + "/invocation/next";
  request.timeout = kNextTimeout;
  request.max_response_bytes = kMaxPayloadBytes;
  auto response = transport_.Send(request);
  if (!response.ok()) return response.error();
  if (response->status != 200) {
    return Error::Rejected("runtime API /invocation/next: " + StatusText(*response));
  }
  const std::string* id = aws::FindHeader(response->headers, kRequestIdHeader);
  if (id == nullptr || !IsPlainToken(*id)) {
    return Error::InvalidArgument("runtime API /invocation/next: no valid " +
                                  std::string(kRequestIdHeader) + " header");
  }
  Invocation inv;
  inv.request_id = *id;
  inv.event = std::move(response->body);
  if (const std::string* arn = aws::FindHeader(response->headers, kFunctionArnHeader)) {
    inv.function_arn = *arn;
  }
  const WallTime now = clock_.Now();
  const WallTime latest = now + kMaxInvocationTime;
  inv.deadline = latest;
  inv.deadline_clamped = true;
  if (const std::string* ms = aws::FindHeader(response->headers, kDeadlineHeader)) {
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(ms->data(), ms->data() + ms->size(), value);
    if (ec == std::errc{} && end == ms->data() + ms->size()) {
      const WallTime at{std::chrono::duration_cast<WallTime::duration>(
          std::chrono::milliseconds{std::clamp<std::int64_t>(value, 0, INT64_MAX / 1000000)})};
      inv.deadline = std::clamp(at, now, latest);
      inv.deadline_clamped = inv.deadline != at;
    }
  }
  return inv;
}

Status RuntimeClient::Post(const std::string& path, const std::string& body,
                           std::string_view error_type) {
  if (body.size() > kMaxPayloadBytes) {
    return Error::InvalidArgument("runtime API " + path + ": body of " +
                                  std::to_string(body.size()) + " bytes is too large");
  }
  aws::HttpRequest request;
  request.method = "POST";
  request.url = base_ + path;
  request.headers.push_back({"Content-Type", "application/json"});
  if (!error_type.empty()) {
    request.headers.push_back({std::string(kErrorTypeHeader), std::string(error_type)});
  }
  request.body = body;
  request.timeout = kPostTimeout;
  // Sent again, once, if it met a kept-alive connection the Runtime API had
  // closed (nothing of it was answered), as curl did: one result per request id.
  request.resend_when_stale = true;
  auto response = transport_.Send(request);
  if (!response.ok()) return response.error();
  if (response->status != 202) {
    return Error::Rejected("runtime API " + path + ": " + StatusText(*response));
  }
  return {};
}

Status RuntimeClient::PostResponse(const std::string& request_id, const std::string& body) {
  if (!IsPlainToken(request_id)) return Error::InvalidArgument("bad request id");
  return Post("/invocation/" + request_id + "/response", body, {});
}

Status RuntimeClient::PostError(const std::string& request_id, std::string_view error_type,
                                std::string_view message) {
  if (!IsPlainToken(request_id)) return Error::InvalidArgument("bad request id");
  return Post("/invocation/" + request_id + "/error", ErrorBody(error_type, message), error_type);
}

Status RuntimeClient::PostInitError(std::string_view error_type, std::string_view message) {
  return Post("/init/error", ErrorBody(error_type, message), error_type);
}

std::string ErrorBody(std::string_view error_type, std::string_view message) {
  const nlohmann::json j = {{"errorMessage", std::string(message)},
                            {"errorType", std::string(error_type)}};
  // Replace, not throw, on invalid UTF-8 in a message.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace headcount::lambda
