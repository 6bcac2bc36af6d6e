#include "web/web.h"

#include <algorithm>
#include <iterator>
#include <optional>
#include <string>

#include "core/samples.h"
#include "web/embedded_files.h"

namespace headcount {
namespace {

constexpr std::string_view kWatchPrefix = "/watch/";
constexpr std::string_view kIvsWatchPath = "/watch";  // ?src=<IVS playback URL>
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

// The IVS player page (/watch?src=...) and the IVS player's wasm worker: as
// above, plus WebAssembly ('wasm-unsafe-eval', no JS eval) and fetches from
// any http(s) origin, since the playback URL is the viewer's choice (IVS's
// CDN allows any origin). The page itself accepts only http(s) .m3u8 URLs.
constexpr std::string_view kIvsPlayerContentSecurityPolicy =
    "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "
    "img-src 'self' data:; media-src 'self' blob: data:; worker-src 'self' blob:; "
    "connect-src 'self' https: http:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
// Files served with kIvsPlayerContentSecurityPolicy (a worker takes the CSP of its script).
constexpr std::string_view kIvsPlayerFiles[] = {"amazon-ivs-wasmworker.min.js",
                                                "amazon-ivs-wasmworker.min.wasm"};

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
    {".wasm", "application/wasm"},
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
void AddSecurityHeaders(HttpResponse& r, std::string_view csp = kContentSecurityPolicy) {
  r.headers.emplace_back("Content-Security-Policy", std::string(csp));
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
}

HttpResponse ErrorPage(int status, std::string_view message) {
  HttpResponse r = HttpResponse::Error(status, message);
  r.headers.emplace_back("Cache-Control", "no-store");
  AddSecurityHeaders(r);
  return r;
}

HttpResponse Serve(const EmbeddedFile& file, std::string_view cache_control,
                   std::string_view csp = kContentSecurityPolicy) {
  HttpResponse r;
  r.status = 200;
  r.content_type = std::string(ContentTypeOf(file.name));
  r.body.assign(reinterpret_cast<const char*>(file.bytes.data()), file.bytes.size());
  r.headers.emplace_back("Cache-Control", std::string(cache_control));
  AddSecurityHeaders(r, csp);
  return r;
}

// A page or file that must have been embedded; a build without it is broken.
HttpResponse ServePage(std::string_view name, std::string_view csp = kContentSecurityPolicy) {
  const auto file = FindFile(name);
  if (!file) return ErrorPage(500, "page missing from this build");
  return Serve(*file, kPageCacheControl, csp);
}

}  // namespace

bool ServesWeb(std::string_view path) {
  return path == "/" || path == kIvsWatchPath || path.starts_with(kWatchPrefix) ||
         path.starts_with(kStaticPrefix);
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
  // The same page as /watch/{channel}: its script picks the player by the path
  // and checks ?src= itself (and says what is wrong with it).
  if (path == kIvsWatchPath) return ServePage("watch.html", kIvsPlayerContentSecurityPolicy);
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
  const bool ivs_player = std::find(std::begin(kIvsPlayerFiles), std::end(kIvsPlayerFiles), name) !=
                          std::end(kIvsPlayerFiles);
  return Serve(*file, kStaticCacheControl,
               ivs_player ? kIvsPlayerContentSecurityPolicy : kContentSecurityPolicy);
}

}  // namespace headcount
