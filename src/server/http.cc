#include "server/http.h"

#include <atomic>
#include <nlohmann/json.hpp>

namespace headcount {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// HttpResponder::FromFunction's sink: calls the function once.
class FunctionSink final : public HttpResponder::Sink {
 public:
  explicit FunctionSink(std::function<void(HttpResponse)> fn) : fn_(std::move(fn)) {}
  void Complete(std::uint64_t /*ticket*/, HttpResponse response) override {
    if (!called_.exchange(true) && fn_) fn_(std::move(response));
  }

 private:
  const std::function<void(HttpResponse)> fn_;
  std::atomic<bool> called_{false};
};

bool IsDotSegment(std::string_view seg) { return seg == "." || seg == ".."; }

// True if any '/'-separated segment of `path` is "." or "..".
bool HasDotSegment(std::string_view path) {
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t end = std::min(path.find('/', start), path.size());
    if (IsDotSegment(path.substr(start, end - start))) return true;
    start = end + 1;
  }
  return false;
}

}  // namespace

std::optional<std::string> HttpRequest::Query(std::string_view name) const {
  const auto it = query.find(std::string(name));
  if (it == query.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> HttpRequest::Header(std::string_view lower_case_name) const {
  const auto it = headers.find(std::string(lower_case_name));
  if (it == headers.end()) return std::nullopt;
  return it->second;
}

HttpResponse HttpResponse::Json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

HttpResponse HttpResponse::Text(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse HttpResponse::Error(int status, std::string_view message) {
  return Json(status, nlohmann::json{{"error", message}}.dump());
}

HttpResponse HttpResponse::Unavailable(std::string_view message, std::chrono::seconds retry_after) {
  HttpResponse r = Error(503, message);
  r.headers.emplace_back("Retry-After", std::to_string(retry_after.count()));
  return r;
}

HttpResponse HttpResponse::TooManyRequests(std::string_view message,
                                           std::chrono::seconds retry_after) {
  HttpResponse r = Error(429, message);
  r.headers.emplace_back("Retry-After", std::to_string(retry_after.count()));
  return r;
}

HttpResponder::~HttpResponder() {
  if (!sink_) return;
  try {
    Respond(HttpResponse::Error(500, "internal error"));
  } catch (...) {  // NOLINT(bugprone-empty-catch): a destructor must not throw (out of memory)
  }
}

HttpResponder& HttpResponder::operator=(HttpResponder&& other) noexcept {
  if (this != &other) {
    if (sink_) Respond(HttpResponse::Error(500, "internal error"));
    sink_ = std::move(other.sink_);
    ticket_ = other.ticket_;
  }
  return *this;
}

void HttpResponder::Respond(HttpResponse response) {
  // Released before Complete: a sink that frees itself there is not touched again.
  const std::shared_ptr<Sink> sink = std::move(sink_);
  if (sink) sink->Complete(ticket_, std::move(response));
}

HttpResponder HttpResponder::FromFunction(std::function<void(HttpResponse)> fn) {
  return HttpResponder(std::make_shared<FunctionSink>(std::move(fn)), 0);
}

bool IsLoopbackAddress(std::string_view address) {
  if (address == "::1") return true;
  if (address.starts_with("::ffff:")) address.remove_prefix(7);
  return address.starts_with("127.");
}

Result<std::string> PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) {
        return Error::InvalidArgument("truncated percent-escape");
      }
      const int hi = HexValue(s[i + 1]);
      const int lo = HexValue(s[i + 2]);
      if (hi < 0 || lo < 0) return Error::InvalidArgument("bad percent-escape");
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    if (c == '\0') return Error::InvalidArgument("NUL byte in URL");
    out += c;
  }
  return out;
}

std::string PercentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (const unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Result<ParsedTarget> ParseTarget(std::string_view target) {
  if (target.empty() || target.front() != '/') {
    return Error::InvalidArgument("request target must start with /");
  }
  const std::size_t q = target.find('?');
  const std::string_view raw_path = target.substr(0, q);
  if (HasDotSegment(raw_path)) return Error::InvalidArgument("dot segment in path");
  auto path = PercentDecode(raw_path);
  if (!path.ok()) return path.error();
  if (HasDotSegment(*path)) return Error::InvalidArgument("dot segment in path");
  ParsedTarget out;
  out.path = std::move(*path);
  if (q == std::string_view::npos) return out;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const std::size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const std::size_t eq = pair.find('=');
    auto key = PercentDecode(pair.substr(0, eq));
    auto value = PercentDecode(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    if (!key.ok()) return key.error();
    if (!value.ok()) return value.error();
    out.query.emplace(std::move(*key), std::move(*value));
  }
  return out;
}

}  // namespace headcount
