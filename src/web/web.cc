#include "web/web.h"

#include <optional>
#include <string>

#include "core/samples.h"
#include "web/embedded_files.h"

namespace headcount {
namespace {

constexpr std::string_view kWatchPrefix = "/watch/";
constexpr std::string_view kStaticPrefix = "/static/";
constexpr std::string_view kAllowedMethods = "GET, HEAD";

// Pages are revalidated every time, so a new build shows at once.
constexpr std::string_view kPageCacheControl = "no-cache";
// Scripts and styles have no version in their names: cache them briefly.
constexpr std::string_view kStaticCacheControl = "public, max-age=300";

// Scripts only from this origin (no inline script, no eval); media, workers
// and fetches from this origin, plus blob: for hls.js (MediaSource and its
// worker) and data: media for the empty "data:,WEBVTT" <track> hls.js adds
// for its metadata cues. Nothing may frame the pages.
constexpr std::string_view kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' blob: data:; worker-src 'self' blob:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

struct ContentType {
  std::string_view extension;
  std::string_view type;
};
constexpr ContentType kContentTypes[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".json", "application/json"},
};

std::string_view ContentTypeOf(std::string_view name) {
  for (const ContentType& c : kContentTypes) {
    if (name.size() > c.extension.size() && name.ends_with(c.extension)) return c.type;
  }
  return "application/octet-stream";
}

std::optional<EmbeddedFile> FindFile(std::string_view name) {
  for (const EmbeddedFile& f : EmbeddedFiles()) {
    if (f.name == name) return f;
  }
  return std::nullopt;
}

// X-Content-Type-Options: nosniff is not here: the HTTP server sets it on
// every response (http_server.cc), and a second copy would be a duplicate.
void AddSecurityHeaders(HttpResponse& r) {
  r.headers.emplace_back("Content-Security-Policy", std::string(kContentSecurityPolicy));
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
}

HttpResponse ErrorPage(int status, std::string_view message) {
  HttpResponse r = HttpResponse::Error(status, message);
  r.headers.emplace_back("Cache-Control", "no-store");
  AddSecurityHeaders(r);
  return r;
}

HttpResponse Serve(const EmbeddedFile& file, std::string_view cache_control) {
  HttpResponse r;
  r.status = 200;
  r.content_type = std::string(ContentTypeOf(file.name));
  r.body.assign(reinterpret_cast<const char*>(file.bytes.data()), file.bytes.size());
  r.headers.emplace_back("Cache-Control", std::string(cache_control));
  AddSecurityHeaders(r);
  return r;
}

// A page or file that must have been embedded; a build without it is broken.
HttpResponse ServePage(std::string_view name) {
  const auto file = FindFile(name);
  if (!file) return ErrorPage(500, "page missing from this build");
  return Serve(*file, kPageCacheControl);
}

}  // namespace

bool ServesWeb(std::string_view path) {
  return path == "/" || path.starts_with(kWatchPrefix) || path.starts_with(kStaticPrefix);
}

HttpResponse HandleWeb(const HttpRequest& request) {
  const std::string_view path = request.path;
  if (!ServesWeb(path)) return ErrorPage(404, "not found");
  if (request.method != "GET" && request.method != "HEAD") {
    HttpResponse r = ErrorPage(405, "use GET or HEAD");
    r.headers.emplace_back("Allow", std::string(kAllowedMethods));
    return r;
  }
  if (path == "/") return ServePage("index.html");
  if (path.starts_with(kWatchPrefix)) {
    if (!IsValidChannelId(path.substr(kWatchPrefix.size()))) {
      return ErrorPage(404, "no such channel: a channel id is 1 to 64 of A-Z a-z 0-9 _ -");
    }
    return ServePage("watch.html");
  }
  // /static/<file>: a bare name (no folders); pages have their own URLs.
  const std::string_view name = path.substr(kStaticPrefix.size());
  if (name.empty() || name.find('/') != std::string_view::npos || name.ends_with(".html")) {
    return ErrorPage(404, "not found");
  }
  const auto file = FindFile(name);
  if (!file) return ErrorPage(404, "not found");
  return Serve(*file, kStaticCacheControl);
}

}  // namespace headcount
