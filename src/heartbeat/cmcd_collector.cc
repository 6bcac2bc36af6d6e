#include "heartbeat/cmcd_collector.h"

#include <optional>
#include <string>

#include "core/strings.h"
#include "heartbeat/cmcd_report.h"

namespace headcount {
namespace {

// application/cmcd (CTA-5004-B's registered type, what players send),
// text/plain (what navigator.sendBeacon sends for a string), or no type.
bool IsCmcdBodyType(const HttpRequest& request) {
  const std::optional<std::string> type = request.Header("content-type");
  if (!type) return true;
  const std::string media = AsciiLower(Trim(std::string_view(*type).substr(0, type->find(';'))));
  return media == "application/cmcd" || media == "text/plain";
}

}  // namespace

HttpResponse CmcdCollector::Collect(const HttpRequest& request, std::string_view channel,
                                    WallTime now) {
  if (request.body.size() > kMaxCmcdBodyBytes) {
    return HttpResponse::Error(
        413, "a CMCD body is at most " + std::to_string(kMaxCmcdBodyBytes) + " bytes");
  }
  if (!IsCmcdBodyType(request)) {
    return HttpResponse::Error(415, "send application/cmcd or text/plain");
  }
  const CmcdBody body = ParseCmcdBody(request.body);
  std::size_t bad = body.bad_lines;
  std::size_t taken = 0;
  std::optional<HttpResponse> refused;
  for (const CmcdReport& report : body.reports) {
    const std::optional<std::string_view> sid = report.String("sid");
    if (!sid || sid->empty() || sid->size() > kMaxCmcdSidChars) {
      ++bad;
      continue;
    }
    ++taken;
    if (refused) continue;  // counted as received, not as a viewer
    if (!limit_.TryTake(request.client_address, now)) {
      refused =
          HttpResponse::TooManyRequests("too many reports from this address", limit_.RetryAfter());
      continue;
    }
    const CmcdPlayState state = CmcdPlayStateOf(report.TokenOrString("sta"));
    switch (viewers_.Report(channel, *sid, request.client_address, now, state)) {
      case ReportResult::kAccepted:
      case ReportResult::kInvalidSid:  // checked above
        break;
      case ReportResult::kClientAtCap:
        refused = HttpResponse::Error(429, "this address holds the most viewers it may");
        break;
      case ReportResult::kTableFull:
        refused = HttpResponse::Unavailable("too many viewers", viewers_.cmcd_timeout());
        break;
    }
  }
  reports_.fetch_add(taken, std::memory_order_relaxed);
  bad_lines_.fetch_add(bad, std::memory_order_relaxed);
  if (taken == 0) {
    return HttpResponse::Error(400, "no CMCD report with a sid (one report per line, key=value)");
  }
  if (refused) return std::move(*refused);
  return HttpResponse::Text(204, "");
}

}  // namespace headcount
