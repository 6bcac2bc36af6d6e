#include "server/cors.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace headcount {
namespace {

CorsPolicy CorsFrom(std::string_view text) {
  auto parsed = CorsPolicy::Parse(text);
  EXPECT_TRUE(parsed.ok()) << (parsed.ok() ? "" : parsed.error().message());
  return parsed.ok() ? *parsed : CorsPolicy{};
}

HttpRequest CorsRequest(std::string method, std::string origin, std::string wanted = "") {
  HttpRequest r;
  r.method = std::move(method);
  if (!origin.empty()) r.headers["origin"] = std::move(origin);
  if (!wanted.empty()) r.headers["access-control-request-method"] = std::move(wanted);
  return r;
}

std::optional<std::string> CorsHeaderOf(const HttpResponse& r, std::string_view name) {
  const auto it = std::find_if(r.headers.begin(), r.headers.end(),
                               [&](const auto& h) { return h.first == name; });
  if (it == r.headers.end()) return std::nullopt;
  return it->second;
}

TEST(CorsPolicyTest, ParsesOriginsAndStar) {
  EXPECT_EQ(CorsFrom(" https://A.example, http://b.example:8080 ,").ToString(),
            "https://a.example,http://b.example:8080");
  EXPECT_TRUE(CorsFrom("*").allows_any());
  EXPECT_TRUE(CorsFrom("").empty());
  for (const char* bad :
       {"https://a.example/", "https://a.example/path", "a.example", "ftp://a.example",
        "https://a.example?x=1", "*,https://a.example", "https://a.example:443"}) {
    EXPECT_FALSE(CorsPolicy::Parse(bad).ok()) << bad;
  }
}

TEST(CorsPolicyTest, DefaultIsSameOriginOnly) {
  const CorsPolicy none;
  HttpResponse r;
  none.Apply(CorsRequest("POST", "https://a.example"), r);
  EXPECT_TRUE(r.headers.empty());
  EXPECT_EQ(none.Preflight(CorsRequest("OPTIONS", "https://a.example", "POST"), "POST").status,
            403);
}

TEST(CorsPolicyTest, AllowsOnlyTheListedOriginsAndVariesByOrigin) {
  const CorsPolicy cors = CorsFrom("https://a.example");
  HttpResponse allowed;
  cors.Apply(CorsRequest("POST", "https://A.example"), allowed);
  EXPECT_EQ(CorsHeaderOf(allowed, "Access-Control-Allow-Origin"), "https://A.example");
  EXPECT_EQ(CorsHeaderOf(allowed, "Vary"), "Origin");
  HttpResponse other;
  cors.Apply(CorsRequest("POST", "https://evil.example"), other);
  EXPECT_FALSE(CorsHeaderOf(other, "Access-Control-Allow-Origin"));
  EXPECT_EQ(CorsHeaderOf(other, "Vary"), "Origin");

  const HttpResponse pre =
      cors.Preflight(CorsRequest("OPTIONS", "https://a.example", "POST"), "POST");
  EXPECT_EQ(pre.status, 204);
  EXPECT_EQ(CorsHeaderOf(pre, "Access-Control-Allow-Origin"), "https://a.example");
  EXPECT_EQ(CorsHeaderOf(pre, "Access-Control-Allow-Methods"), "POST");
  EXPECT_EQ(CorsHeaderOf(pre, "Access-Control-Allow-Headers"), "Content-Type");
  EXPECT_EQ(cors.Preflight(CorsRequest("OPTIONS", "https://evil.example", "POST"), "POST").status,
            403);
  EXPECT_EQ(cors.Preflight(CorsRequest("OPTIONS", "https://a.example", "DELETE"), "POST").status,
            403);
  EXPECT_EQ(cors.Preflight(CorsRequest("OPTIONS", "https://a.example", "HEAD"), "GET, HEAD").status,
            204);
  // Media routes let a player send request-mode CMCD in headers.
  const HttpResponse media = cors.Preflight(CorsRequest("OPTIONS", "https://a.example", "GET"),
                                            "GET, HEAD", kCorsMediaHeaders);
  EXPECT_EQ(media.status, 204);
  EXPECT_EQ(CorsHeaderOf(media, "Access-Control-Allow-Headers"),
            "CMCD-Request, CMCD-Object, CMCD-Status, CMCD-Session, Range");
}

TEST(CorsPolicyTest, StarAllowsAnyOriginButNotOpaqueOnes) {
  const CorsPolicy cors = CorsFrom("*");
  HttpResponse r;
  cors.Apply(CorsRequest("GET", "https://anything.example"), r);
  EXPECT_EQ(CorsHeaderOf(r, "Access-Control-Allow-Origin"), "*");
  EXPECT_FALSE(CorsHeaderOf(r, "Vary")) << "one answer for every origin: a CDN keeps one copy";
  EXPECT_FALSE(cors.Allows("null"));
}

}  // namespace
}  // namespace headcount
