// FindHeader and the small pure helpers of message.h.
#include "http_client/message.h"

#include <algorithm>
#include <array>

#include "core/strings.h"
#include "net/url.h"

namespace headcount::http_client {

const std::string* FindHeader(const HttpHeaders& headers, std::string_view name) {
  for (const HttpHeader& h : headers) {
    if (EqualsIgnoreCase(h.name, name)) return &h.value;
  }
  return nullptr;
}

bool IsIdempotentMethod(std::string_view method) {
  static constexpr std::array<std::string_view, 6> kIdempotent = {"GET",    "HEAD",    "PUT",
                                                                  "DELETE", "OPTIONS", "TRACE"};
  return std::find(kIdempotent.begin(), kIdempotent.end(), method) != kIdempotent.end();
}

std::string UrlForLog(std::string_view url) {
  Result<Url> parsed = ParseUrl(url);
  if (!parsed.ok()) return "(invalid URL)";
  return parsed->Origin() + parsed->path;
}

bool IsTimeout(const Error& error) {
  return error.code() == ErrorCode::kUnavailable &&
         error.message().find(kTimedOutText) != std::string::npos;
}

}  // namespace headcount::http_client
