// Tests of the web handler as a pure function: routes, methods, content
// types, caching and security headers, and that the embedded bytes are the
// files of the source tree.
#include "web/web.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "server/testing/request.h"
#include "web/embedded_files.h"

namespace headcount {
namespace {

using http_testing::MakeRequest;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::optional<std::string> HeaderOf(const HttpResponse& r, std::string_view name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return std::nullopt;
}

std::string ReadSourceFile(const std::string& relative) {
  std::ifstream in(std::string(HEADCOUNT_SOURCE_DIR) + "/" + relative, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

TEST(WebTest, DashboardAtTheRoot) {
  const HttpResponse r = HandleWeb(MakeRequest("/"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(r.body, ReadSourceFile("web/index.html"));
  EXPECT_EQ(HeaderOf(r, "Cache-Control"), "no-cache");
}

TEST(WebTest, PlayerForAValidChannel) {
  const HttpResponse r = HandleWeb(MakeRequest("/watch/demo-1_B?playlist=low.m3u8"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(r.body, ReadSourceFile("web/watch.html"));
  EXPECT_EQ(HeaderOf(r, "Cache-Control"), "no-cache");
}

TEST(WebTest, PlayerRefusesABadChannelId) {
  EXPECT_EQ(HandleWeb(MakeRequest("/watch/")).status, 404);
  EXPECT_EQ(HandleWeb(MakeRequest("/watch/demo/extra")).status, 404);
  EXPECT_EQ(HandleWeb(MakeRequest("/watch/de%20mo")).status, 404);
  EXPECT_EQ(HandleWeb(MakeRequest("/watch/" + std::string(65, 'a'))).status, 404);
  EXPECT_EQ(HandleWeb(MakeRequest("/watch/" + std::string(64, 'a'))).status, 200);
  const HttpResponse r = HandleWeb(MakeRequest("/watch/a.b"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_THAT(r.body, HasSubstr("\"error\""));
}

TEST(WebTest, StaticFilesWithTheirContentTypes) {
  struct Case {
    const char* name;
    const char* type;
  };
  for (const Case& c :
       {Case{"watch.js", "text/javascript; charset=utf-8"},
        Case{"watch-hls.js", "text/javascript; charset=utf-8"},
        Case{"watch-ivs.js", "text/javascript; charset=utf-8"},
        Case{"playback.js", "text/javascript; charset=utf-8"},
        Case{"overlay.js", "text/javascript; charset=utf-8"},
        Case{"source.js", "text/javascript; charset=utf-8"},
        Case{"cues.js", "text/javascript; charset=utf-8"},
        Case{"headcount.js", "text/javascript; charset=utf-8"},
        Case{"dashboard.js", "text/javascript; charset=utf-8"},
        Case{"payload.js", "text/javascript; charset=utf-8"},
        Case{"headcount.css", "text/css; charset=utf-8"}, Case{"favicon.svg", "image/svg+xml"}}) {
    const HttpResponse r = HandleWeb(MakeRequest(std::string("/static/") + c.name));
    EXPECT_EQ(r.status, 200) << c.name;
    EXPECT_EQ(r.content_type, c.type) << c.name;
    EXPECT_EQ(r.body, ReadSourceFile(std::string("web/") + c.name)) << c.name;
    EXPECT_EQ(HeaderOf(r, "Cache-Control"), "public, max-age=300") << c.name;
  }
}

TEST(WebTest, VendoredHlsJs) {
  const HttpResponse r = HandleWeb(MakeRequest("/static/hls.min.js"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(r.body, ReadSourceFile("node_modules/hls.js/dist/hls.min.js"));
  EXPECT_GT(r.body.size(), 100000u);
}

TEST(WebTest, IvsPlayerPageAndItsFiles) {
  const HttpResponse page = HandleWeb(MakeRequest("/watch?src=https%3A%2F%2Fexample.com%2Fa.m3u8"));
  EXPECT_EQ(page.status, 200);
  // One page for both players: its script picks the IVS player by the path.
  EXPECT_EQ(page.body, ReadSourceFile("web/watch.html"));
  const auto csp = HeaderOf(page, "Content-Security-Policy");
  ASSERT_TRUE(csp);
  EXPECT_THAT(*csp, HasSubstr("script-src 'self' 'wasm-unsafe-eval';"));
  EXPECT_THAT(*csp, HasSubstr("connect-src 'self' https: http:;"));
  EXPECT_THAT(*csp, ::testing::Not(HasSubstr("'unsafe-eval'")));
  EXPECT_THAT(*csp, ::testing::Not(HasSubstr("unsafe-inline")));

  const HttpResponse bundle = HandleWeb(MakeRequest("/static/amazon-ivs-player.min.js"));
  EXPECT_EQ(bundle.status, 200);
  EXPECT_EQ(bundle.content_type, "text/javascript; charset=utf-8");
  EXPECT_THAT(bundle.body, HasSubstr("IVSPlayer"));
  EXPECT_THAT(*HeaderOf(bundle, "Content-Security-Policy"), HasSubstr("script-src 'self';"));
  const HttpResponse worker = HandleWeb(MakeRequest("/static/amazon-ivs-wasmworker.min.js"));
  EXPECT_EQ(worker.status, 200);
  EXPECT_EQ(
      worker.body,
      ReadSourceFile("node_modules/amazon-ivs-player/dist/assets/amazon-ivs-wasmworker.min.js"));
  // A worker runs under its own script's CSP: it fetches the stream and compiles the wasm.
  EXPECT_THAT(*HeaderOf(worker, "Content-Security-Policy"), HasSubstr("'wasm-unsafe-eval'"));
  const HttpResponse wasm = HandleWeb(MakeRequest("/static/amazon-ivs-wasmworker.min.wasm"));
  EXPECT_EQ(wasm.status, 200);
  EXPECT_EQ(wasm.content_type, "application/wasm");
  EXPECT_EQ(wasm.body.substr(0, 4), std::string("\0asm", 4));
}

TEST(WebTest, TestsAndUnknownFilesAreNotServed) {
  EXPECT_EQ(HandleWeb(MakeRequest("/static/payload.test.mjs")).status, 404);
  EXPECT_EQ(HandleWeb(MakeRequest("/static/nope.js")).status, 404);
  EXPECT_EQ(HandleWeb(MakeRequest("/static/")).status, 404);
  EXPECT_EQ(HandleWeb(MakeRequest("/static/sub/watch.js")).status, 404);
  // Pages have their own URLs.
  EXPECT_EQ(HandleWeb(MakeRequest("/static/index.html")).status, 404);
  EXPECT_EQ(HandleWeb(MakeRequest("/index.html")).status, 404);
  for (const EmbeddedFile& f : EmbeddedFiles()) {
    EXPECT_FALSE(f.name.ends_with(".test.mjs")) << f.name;
  }
}

TEST(WebTest, OnlyGetAndHead) {
  EXPECT_EQ(HandleWeb(MakeRequest("/", "HEAD")).status, 200);
  EXPECT_EQ(HandleWeb(MakeRequest("/static/watch.js", "HEAD")).status, 200);
  for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS"}) {
    for (const char* target : {"/", "/watch/demo", "/static/watch.js"}) {
      const HttpResponse r = HandleWeb(MakeRequest(target, method));
      EXPECT_EQ(r.status, 405) << method << " " << target;
      EXPECT_EQ(HeaderOf(r, "Allow"), "GET, HEAD");
    }
  }
}

TEST(WebTest, SecurityHeadersOnEveryAnswer) {
  for (const char* target :
       {"/", "/watch/demo", "/static/watch.js", "/static/nope", "/watch/a.b"}) {
    const HttpResponse r = HandleWeb(MakeRequest(target));
    const auto csp = HeaderOf(r, "Content-Security-Policy");
    ASSERT_TRUE(csp) << target;
    EXPECT_THAT(*csp, StartsWith("default-src 'none';"));
    EXPECT_THAT(*csp, HasSubstr("script-src 'self';"));
    EXPECT_THAT(*csp, HasSubstr("media-src 'self' blob: data:;"));
    EXPECT_THAT(*csp, HasSubstr("worker-src 'self' blob:;"));
    EXPECT_THAT(*csp, HasSubstr("connect-src 'self';"));
    EXPECT_THAT(*csp, ::testing::Not(HasSubstr("unsafe")));
    // The server adds X-Content-Type-Options to every response; not twice.
    EXPECT_EQ(HeaderOf(r, "X-Content-Type-Options"), std::nullopt) << target;
    EXPECT_EQ(HeaderOf(r, "Referrer-Policy"), "no-referrer") << target;
  }
}

TEST(WebTest, ServesOnlyItsOwnPaths) {
  EXPECT_TRUE(ServesWeb("/"));
  EXPECT_TRUE(ServesWeb("/watch/demo"));
  EXPECT_TRUE(ServesWeb("/static/watch.js"));
  EXPECT_FALSE(ServesWeb("/api/channels"));
  EXPECT_FALSE(ServesWeb("/hls/demo/stream.m3u8"));
  EXPECT_TRUE(ServesWeb("/watch"));
  EXPECT_FALSE(ServesWeb("/watchx"));
  EXPECT_EQ(HandleWeb(MakeRequest("/api/channels")).status, 404);
}

}  // namespace
}  // namespace headcount
