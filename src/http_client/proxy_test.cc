// NO_PROXY matching, proxy URLs and the choice of proxy per request: pure
// functions, table tests.
#include "http_client/proxy.h"

#include <gtest/gtest.h>

#include <map>

#include "http_client/testing/fixtures.h"

namespace headcount::http_client {
namespace {

TEST(NoProxyMatches, Table) {
  struct Case {
    const char* no_proxy;
    const char* host;
    bool matches;
  };
  const Case cases[] = {
      {"", "example.com", false},
      {"*", "example.com", true},
      {"*", "10.0.0.1", true},
      {"example.com", "example.com", true},
      {"example.com", "api.example.com", true},
      {"example.com", "a.b.example.com", true},
      {"example.com", "badexample.com", false},
      {"example.com", "example.com.evil.net", false},
      {".example.com", "example.com", true},
      {".example.com", "api.example.com", true},
      {".example.com", "badexample.com", false},
      {"EXAMPLE.com", "api.example.com", true},
      {"example.com.", "api.example.com", true},
      {"example.com", "api.example.com.", true},
      {"other.org, example.com", "example.com", true},
      {"other.org,example.com", "example.com", true},
      {"other.org example.com", "example.com", true},
      {" other.org , ", "example.com", false},
      {"localhost,127.0.0.1", "127.0.0.1", true},
      {"127.0.0.1", "127.0.0.10", false},
      {"10.0.0.1", "110.0.0.1", false},
      {"::1", "::1", true},
      {"[::1]", "::1", true},
      {"::1", "::2", false},
      {"169.254.169.254", "169.254.169.254", true},
      {"amazonaws.com", "ivs.us-west-2.amazonaws.com", true},
      {"us-west-2.amazonaws.com", "dynamodb.eu-west-1.amazonaws.com", false},
      {"*.example.com", "api.example.com", false},  // curl takes no wildcard but a lone "*"
      {".", "example.com", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(NoProxyMatches(c.no_proxy, c.host), c.matches)
        << "NO_PROXY=\"" << c.no_proxy << "\" host " << c.host;
  }
}

TEST(ParseProxyUrl, Forms) {
  Result<ProxyEndpoint> p = ParseProxyUrl("http://proxy.corp:3128");
  ASSERT_TRUE(p.ok()) << p.error().ToString();
  EXPECT_EQ(*p, (ProxyEndpoint{"proxy.corp", 3128, ""}));

  p = ParseProxyUrl("http://proxy.corp:3128/");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->port, 3128);

  p = ParseProxyUrl("proxy.corp:8080");  // no scheme: http, as curl takes it
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, (ProxyEndpoint{"proxy.corp", 8080, ""}));

  p = ParseProxyUrl("HTTP://Proxy.Corp");  // no port: curl's 1080
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, (ProxyEndpoint{"proxy.corp", 1080, ""}));

  p = ParseProxyUrl("http://[::1]:3128");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, (ProxyEndpoint{"::1", 3128, ""}));

  // User info becomes Basic credentials, percent-decoded: "Aladdin:open sesame".
  p = ParseProxyUrl("http://Aladdin:open%20sesame@proxy:3128");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->authorization, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
  EXPECT_EQ(p->host, "proxy");
}

TEST(ParseProxyUrl, RefusedWithoutQuotingTheSecret) {
  for (const char* bad : {"https://user:hunter2@proxy:443", "socks5://user:hunter2@proxy:1080",
                          "http://user:hunter2@proxy:3128/path", "http://user:hunter2@proxy:99999",
                          "http://user:hunter2%zz@proxy:3128", "http://user:hunter2@:3128"}) {
    Result<ProxyEndpoint> p = ParseProxyUrl(bad);
    ASSERT_FALSE(p.ok()) << bad;
    EXPECT_EQ(p.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(p.error().message().find("hunter2"), std::string::npos) << p.error().message();
  }
}

using testing::MapLookup;
Url MustParse(const char* text) {
  Result<Url> url = ParseUrl(text);
  EXPECT_TRUE(url.ok());
  return *url;
}

TEST(ProxyFor, PicksBySchemeAndHonoursNoProxy) {
  const ProxySettings settings = ProxySettings::FromEnvironment(
      MapLookup({{"HTTPS_PROXY", "http://tls-proxy:3128"},
                 {"http_proxy", "http://plain-proxy:8080"},
                 {"HTTP_PROXY", "http://ignored-when-lowercase-set:1"},
                 {"NO_PROXY", "localhost,.internal"}}));
  Result<std::optional<ProxyEndpoint>> p =
      ProxyFor(settings, MustParse("https://ivs.amazonaws.com/"));
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(p->has_value());
  EXPECT_EQ((*p)->host, "tls-proxy");

  p = ProxyFor(settings, MustParse("http://example.com/"));
  ASSERT_TRUE(p.ok() && p->has_value());
  EXPECT_EQ((*p)->host, "plain-proxy");

  for (const char* direct :
       {"https://localhost:8443/", "http://db.internal/", "https://internal/"}) {
    p = ProxyFor(settings, MustParse(direct));
    ASSERT_TRUE(p.ok());
    EXPECT_FALSE(p->has_value()) << direct;
  }
}

TEST(ProxyFor, NoVariablesNoProxyAndABadVariableIsAnErrorPerRequest) {
  const ProxySettings none = ProxySettings::FromEnvironment(MapLookup({}));
  Result<std::optional<ProxyEndpoint>> p = ProxyFor(none, MustParse("https://example.com/"));
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->has_value());

  const ProxySettings bad = ProxySettings::FromEnvironment(
      MapLookup({{"https_proxy", "socks5://u:secret@proxy"}, {"no_proxy", "example.com"}}));
  p = ProxyFor(bad, MustParse("https://other.org/"));
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message().find("https_proxy"), std::string::npos);
  EXPECT_EQ(p.error().message().find("secret"), std::string::npos);
  // NO_PROXY still exempts its hosts from the unusable proxy.
  p = ProxyFor(bad, MustParse("https://example.com/"));
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->has_value());
  // http targets are unaffected by an https proxy.
  p = ProxyFor(bad, MustParse("http://other.org/"));
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->has_value());
}

}  // namespace
}  // namespace headcount::http_client
