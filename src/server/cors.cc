// CorsPolicy: parsing the allowed origins and the CORS response headers.
#include "server/cors.h"

#include "core/strings.h"
#include "net/url.h"

namespace headcount {
namespace {

// True when the comma-separated `list` holds `item` (trimmed, exact).
bool ListHas(std::string_view list, std::string_view item) {
  std::size_t start = 0;
  while (start <= list.size()) {
    const std::size_t comma = std::min(list.find(',', start), list.size());
    if (Trim(list.substr(start, comma - start)) == item) return true;
    start = comma + 1;
  }
  return false;
}

}  // namespace

Result<CorsPolicy> CorsPolicy::Parse(std::string_view text) {
  CorsPolicy out;
  std::size_t start = 0;
  std::size_t entries = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string entry(Trim(text.substr(start, comma - start)));
    start = comma + 1;
    if (entry.empty()) continue;
    ++entries;
    if (entry == "*") {
      out.any_ = true;
      continue;
    }
    const std::string shown = "\"" + entry.substr(0, 128) + "\"";
    if (out.origins_.size() == kMaxCorsOrigins) {
      return Error::InvalidArgument("more than " + std::to_string(kMaxCorsOrigins) + " origins");
    }
    const Result<Url> url = ParseUrl(entry);
    const std::string lower = AsciiLower(entry);
    if (!url.ok() || url->Origin() != lower) {
      return Error::InvalidArgument(
          shown + " is not a page origin like https://www.example.com or http://localhost:3000 " +
          "(scheme, host and port only: no path, not even a trailing /)");
    }
    out.origins_.push_back(lower);
  }
  if (out.any_ && entries > 1) {
    return Error::InvalidArgument("\"*\" allows every origin and cannot be listed with others");
  }
  return out;
}

bool CorsPolicy::Allows(std::string_view origin) const {
  if (origin.empty() || origin == "null") return false;
  if (any_) return true;
  const std::string lower = AsciiLower(origin);
  for (const std::string& o : origins_) {
    if (o == lower) return true;
  }
  return false;
}

void CorsPolicy::Apply(const HttpRequest& request, HttpResponse& response) const {
  ApplyForOrigin(request.Header("origin"), response);
}

void CorsPolicy::ApplyForOrigin(const std::optional<std::string>& origin,
                                HttpResponse& response) const {
  if (empty()) return;  // same origin only: nothing to say
  if (any_) {           // the same answer for every origin: it does not vary
    response.headers.emplace_back("Access-Control-Allow-Origin", "*");
    return;
  }
  response.headers.emplace_back("Vary", "Origin");
  if (origin && Allows(*origin)) {
    response.headers.emplace_back("Access-Control-Allow-Origin", *origin);
  }
}

HttpResponse CorsPolicy::Preflight(const HttpRequest& request, std::string_view methods,
                                   std::string_view headers) const {
  const std::optional<std::string> origin = request.Header("origin");
  const std::optional<std::string> method = request.Header("access-control-request-method");
  if (!origin || !method) {
    HttpResponse r = HttpResponse::Text(204, "");
    r.headers.emplace_back("Allow", std::string(methods) + ", OPTIONS");
    return r;
  }
  if (!Allows(*origin) || !ListHas(methods, *method)) {
    HttpResponse r = HttpResponse::Error(403, "cross-origin request not allowed");
    r.headers.emplace_back("Vary", "Origin");
    return r;
  }
  HttpResponse r = HttpResponse::Text(204, "");
  Apply(request, r);
  r.headers.emplace_back("Access-Control-Allow-Methods", std::string(methods));
  r.headers.emplace_back("Access-Control-Allow-Headers", std::string(headers));
  r.headers.emplace_back("Access-Control-Max-Age", std::to_string(kCorsPreflightMaxAge.count()));
  return r;
}

std::string CorsPolicy::ToString() const {
  if (any_) return "*";
  std::string out;
  for (const std::string& o : origins_) out += (out.empty() ? "" : ",") + o;
  return out;
}

}  // namespace headcount
