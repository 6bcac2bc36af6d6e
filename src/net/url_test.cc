// Url: the one convention (lower-cased scheme and host, IPv6 without
// brackets, port always set, "/" for an empty path), RFC 3986 §5.4's
// resolution examples, and errors that never quote a query or user info.
#include "net/url.h"

#include <gtest/gtest.h>

#include <utility>

namespace headcount {
namespace {

Url Parsed(std::string_view text) {
  Result<Url> url = ParseUrl(text);
  EXPECT_TRUE(url.ok()) << text << ": " << url.error().ToString();
  return url.ok() ? *url : Url{};
}

TEST(Url, ParsesEveryPart) {
  const Url u = Parsed("http://Example.COM:8080/hls/Demo/master.m3u8?token=X#frag");
  EXPECT_EQ(u.scheme, "http");
  EXPECT_EQ(u.host, "example.com");
  EXPECT_EQ(u.port, 8080);
  EXPECT_EQ(u.path, "/hls/Demo/master.m3u8");  // the path keeps its case
  EXPECT_EQ(u.query, "token=X");
  EXPECT_EQ(u.fragment, "frag");
  EXPECT_EQ(u.HostHeader(), "example.com:8080");
  EXPECT_EQ(u.Origin(), "http://example.com:8080");
  EXPECT_EQ(u.Target(), "/hls/Demo/master.m3u8?token=X");
  EXPECT_EQ(u.ToString(), "http://example.com:8080/hls/Demo/master.m3u8?token=X#frag");
}

TEST(Url, PortDefaultsToTheSchemesAndIsLeftOutOfTheTextWhenItIsTheDefault) {
  Url u = Parsed("http://origin");
  EXPECT_EQ(u.port, kHttpPort);
  EXPECT_EQ(u.path, "/");
  EXPECT_FALSE(u.query.has_value());
  EXPECT_EQ(u.HostHeader(), "origin");
  EXPECT_EQ(u.ToString(), "http://origin/");

  u = Parsed("HTTPS://dynamodb.us-west-2.amazonaws.com:443");
  EXPECT_EQ(u.scheme, "https");
  EXPECT_EQ(u.port, kHttpsPort);
  EXPECT_EQ(u.Origin(), "https://dynamodb.us-west-2.amazonaws.com");

  EXPECT_EQ(Parsed("https://h:80/").HostHeader(), "h:80");
  EXPECT_EQ(Parsed("http://h:/a").port, kHttpPort);  // RFC 3986: an empty port is the default
  EXPECT_EQ(Parsed("http://h:0080/a").port, 80);
}

TEST(Url, Ipv6HostsAreStoredWithoutBracketsAndWrittenWithThem) {
  const Url u = Parsed("http://[FD00:EC2::23]:9000/v1/credentials");
  EXPECT_EQ(u.host, "fd00:ec2::23");
  EXPECT_EQ(u.port, 9000);
  EXPECT_EQ(u.HostHeader(), "[fd00:ec2::23]:9000");
  EXPECT_EQ(u.ToString(), "http://[fd00:ec2::23]:9000/v1/credentials");
  EXPECT_EQ(Parsed("http://[::ffff:127.0.0.1]/").host, "::ffff:127.0.0.1");
  EXPECT_EQ(Parsed("http://[::1]").HostHeader(), "[::1]");
}

TEST(Url, AnEmptyQueryIsKeptAndDiffersFromNone) {
  const Url with = Parsed("http://h/a?");
  ASSERT_TRUE(with.query.has_value());
  EXPECT_EQ(*with.query, "");
  EXPECT_EQ(with.Target(), "/a?");
  EXPECT_NE(with, Parsed("http://h/a"));
}

TEST(Url, TextRoundTrips) {
  for (const char* text : {"http://h/", "https://h:8443/a/b?c=d&e#f", "http://[::1]:1/x?",
                           "http://127.0.0.1:8000/", "https://a.b/%7Euser/x%20y?q=%26"}) {
    const Url u = Parsed(text);
    EXPECT_EQ(u.ToString(), text);
    EXPECT_EQ(Parsed(u.ToString()), u);
  }
}

TEST(Url, RejectsWhatIsNotAnAbsoluteHttpUrl) {
  for (const char* bad : {"",
                          "example.com/a.m3u8",
                          "/a/b",
                          "ftp://h/a",
                          "data:text/plain,hi",
                          "http:/h/a",
                          "http:h",
                          "http://",
                          "http://:80/a",
                          "http://h:0/a",
                          "http://h:65536/a",
                          "http://h:x/a",
                          "http://h:+1/a",
                          "http://h:1:2/a",
                          "http://user:pw@h/a",
                          "http://h/a b.m3u8",
                          "http://h/a\tb",
                          "http://h/\x7f",
                          "http://[::1/a",
                          "http://[::1]x/a",
                          "http://[]/",
                          "http://[fe80::1%25eth0]/",
                          "http://[g::1]/",
                          "http://ho^st/",
                          "http://h%2/"}) {
    Result<Url> u = ParseUrl(bad);
    EXPECT_FALSE(u.ok()) << "accepted: " << bad;
    if (!u.ok()) {
      EXPECT_EQ(u.error().code(), ErrorCode::kInvalidArgument);
    }
  }
  EXPECT_EQ(Parsed("http://a%2Db.example/").host, "a%2db.example");  // pct-encoded is allowed
}

TEST(Url, ErrorsNameThePartAndNeverQuoteTheQueryOrUserInfo) {
  const std::pair<const char*, const char*> cases[] = {
      {"http://h:99999/a?token=SECRET", "port"}, {"http://h/a b?token=SECRET", "spaces"},
      {"ftp://h/a?token=SECRET", "scheme"},      {"http://user:SECRET@h/a", "user info"},
      {"http://[zz]/a?token=SECRET", "IPv6"},    {"http://h^/a?token=SECRET", "host"},
      {"h/a?token=SECRET", "absolute"},
  };
  for (const auto& [text, part] : cases) {
    Result<Url> u = ParseUrl(text);
    ASSERT_FALSE(u.ok()) << text;
    const std::string& message = u.error().message();
    EXPECT_EQ(message.find("SECRET"), std::string::npos) << message;
    EXPECT_NE(message.find(part), std::string::npos) << text << " -> " << message;
  }
  const Url base = Parsed("http://h/a");
  Result<Url> r = ResolveUrl(base, "seg 1.ts?token=SECRET");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message().find("SECRET"), std::string::npos) << r.error().message();
}

// RFC 3986 §5.4.1 and §5.4.2, every example with an http target. ("//g" is
// "http://g/" here: an empty path is "/".)
TEST(Url, ResolvesTheRfc3986Examples) {
  const Url base = Parsed("http://a/b/c/d;p?q");
  const std::pair<const char*, const char*> examples[] = {
      // Normal.
      {"g", "http://a/b/c/g"},
      {"./g", "http://a/b/c/g"},
      {"g/", "http://a/b/c/g/"},
      {"/g", "http://a/g"},
      {"//g", "http://g/"},
      {"?y", "http://a/b/c/d;p?y"},
      {"g?y", "http://a/b/c/g?y"},
      {"#s", "http://a/b/c/d;p?q#s"},
      {"g#s", "http://a/b/c/g#s"},
      {"g?y#s", "http://a/b/c/g?y#s"},
      {";x", "http://a/b/c/;x"},
      {"g;x", "http://a/b/c/g;x"},
      {"g;x?y#s", "http://a/b/c/g;x?y#s"},
      {"", "http://a/b/c/d;p?q"},
      {".", "http://a/b/c/"},
      {"./", "http://a/b/c/"},
      {"..", "http://a/b/"},
      {"../", "http://a/b/"},
      {"../g", "http://a/b/g"},
      {"../..", "http://a/"},
      {"../../", "http://a/"},
      {"../../g", "http://a/g"},
      // Abnormal.
      {"../../../g", "http://a/g"},
      {"../../../../g", "http://a/g"},
      {"/./g", "http://a/g"},
      {"/../g", "http://a/g"},
      {"g.", "http://a/b/c/g."},
      {".g", "http://a/b/c/.g"},
      {"g..", "http://a/b/c/g.."},
      {"..g", "http://a/b/c/..g"},
      {"./../g", "http://a/b/g"},
      {"./g/.", "http://a/b/c/g/"},
      {"g/./h", "http://a/b/c/g/h"},
      {"g/../h", "http://a/b/c/h"},
      {"g;x=1/./y", "http://a/b/c/g;x=1/y"},
      {"g;x=1/../y", "http://a/b/c/y"},
      {"g?y/./x", "http://a/b/c/g?y/./x"},
      {"g?y/../x", "http://a/b/c/g?y/../x"},
      {"g#s/./x", "http://a/b/c/g#s/./x"},
      {"g#s/../x", "http://a/b/c/g#s/../x"},
      // Absolute ones, dot segments removed too.
      {"HTTPS://Other:8443/x/../y?z", "https://other:8443/y?z"},
      {"http://a/b/./c", "http://a/b/c"},
  };
  for (const auto& [reference, expected] : examples) {
    Result<Url> r = ResolveUrl(base, reference);
    ASSERT_TRUE(r.ok()) << reference << ": " << r.error().ToString();
    EXPECT_EQ(r->ToString(), expected) << "reference: \"" << reference << "\"";
  }
}

TEST(Url, ResolveRefusesOtherSchemesAndBadReferences) {
  const Url base = Parsed("https://a/b/c");
  for (const char* bad : {"g:h", "data:text/plain,hi", "ftp://a/x", "seg 1.ts", "//", "//h:x/"}) {
    EXPECT_FALSE(ResolveUrl(base, bad).ok()) << "accepted: " << bad;
  }
  Result<Url> r = ResolveUrl(base, "//cdn.example/x");  // the base's scheme
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->ToString(), "https://cdn.example/x");
}

TEST(Url, SameOriginReferences) {
  for (const char* same : {"seg.ts", "/a/b.ts", "?hcs=1", "#f", "", "./a:b", "seg.ts?x=a:b"}) {
    EXPECT_TRUE(IsSameOriginReference(same)) << same;
  }
  for (const char* other : {"http://x/a", "HTTPS://x", "//x/a", "data:x", "a:b", "skd://key"}) {
    EXPECT_FALSE(IsSameOriginReference(other)) << other;
  }
  EXPECT_TRUE(Parsed("http://h/a").SameOrigin(Parsed("http://H:80/b?c")));
  EXPECT_FALSE(Parsed("http://h/a").SameOrigin(Parsed("https://h/a")));
  EXPECT_FALSE(Parsed("http://h/a").SameOrigin(Parsed("http://h:81/a")));
}

TEST(HttpUrl, ParsesHttpUrls) {
  Result<Url> u = ParseHttpUrl("http://Example.COM:8080/hls/demo/master.m3u8?token=x#frag");
  ASSERT_TRUE(u.ok()) << u.error().ToString();
  EXPECT_EQ(u->host, "example.com");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->Target(), "/hls/demo/master.m3u8?token=x");
  EXPECT_EQ(u->HostHeader(), "example.com:8080");

  u = ParseHttpUrl("http://origin");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->port, 80);
  EXPECT_EQ(u->Target(), "/");
  EXPECT_EQ(u->HostHeader(), "origin");

  u = ParseHttpUrl("http://[::1]:9000/a.m3u8");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->HostHeader(), "[::1]:9000");
}

TEST(HttpUrl, RejectsHttpsWithAClearMessage) {
  Result<Url> u = ParseHttpUrl("https://example.com/a.m3u8");
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(u.error().message().find("https"), std::string::npos);
}

TEST(HttpUrl, RejectsBadUrls) {
  for (const char* bad : {"", "example.com/a.m3u8", "ftp://h/a", "http:/h/a", "http://",
                          "http://:80/a", "http://h:0/a", "http://h:65536/a", "http://h:x/a",
                          "http://user:pw@h/a", "http://h/a b.m3u8", "http://[::1/a"}) {
    EXPECT_FALSE(ParseHttpUrl(bad).ok()) << "accepted: " << bad;
  }
}

Url PlaylistUrl(std::string_view text) {
  Result<Url> url = ParseHttpUrl(text);
  EXPECT_TRUE(url.ok()) << text;
  return url.ok() ? *url : Url{};
}

TEST(ResolveReference, ResolvesAgainstThePlaylistUrlAndKeepsQueries) {
  const Url base = PlaylistUrl("http://origin:8080/hls/demo/master.m3u8?hcs=old");
  const auto target = [&](std::string_view ref) {
    Result<Url> r = ResolveReference(base, ref);
    return r.ok() ? r->Target() : "error: " + r.error().message();
  };
  EXPECT_EQ(target("low/index.m3u8?hcs=s1"), "/hls/demo/low/index.m3u8?hcs=s1");
  EXPECT_EQ(target("index.m3u8?v=2&hcs=s1"), "/hls/demo/index.m3u8?v=2&hcs=s1");
  EXPECT_EQ(target("./a/./b.ts"), "/hls/demo/a/b.ts");
  EXPECT_EQ(target("../other/x.ts?hcs=s1"), "/hls/other/x.ts?hcs=s1");
  EXPECT_EQ(target("../../../../x.ts"), "/x.ts");
  EXPECT_EQ(target("/abs/seg.ts?hcs=s1"), "/abs/seg.ts?hcs=s1");
  EXPECT_EQ(target("?hcs=s2"), "/hls/demo/master.m3u8?hcs=s2");
  EXPECT_EQ(target("seg.ts#t=3"), "/hls/demo/seg.ts");
  EXPECT_EQ(target("http://ORIGIN:8080/live/x.ts?hcs=s1"), "/live/x.ts?hcs=s1");
  EXPECT_EQ(target("//origin:8080/live/y.ts"), "/live/y.ts");
}

TEST(ResolveReference, RefusesOtherOriginsAndSchemesWithoutQuotingTheQuery) {
  const Url base = PlaylistUrl("http://origin:8080/hls/demo/index.m3u8");
  for (const char* bad :
       {"http://cdn.example/seg.ts?token=SECRET", "http://origin/seg.ts?token=SECRET",
        "http://origin:9090/seg.ts", "https://origin:8080/seg.ts", "data:text/plain,hi",
        "//cdn.example/seg.ts", "seg 1.ts?token=SECRET"}) {
    Result<Url> r = ResolveReference(base, bad);
    ASSERT_FALSE(r.ok()) << "accepted: " << bad;
    EXPECT_EQ(r.error().message().find("SECRET"), std::string::npos) << r.error().message();
  }
}

TEST(PathForLog, DropsTheQuery) {
  EXPECT_EQ(PathForLog("/hls/a.ts?hcs=secret"), "/hls/a.ts");
  EXPECT_EQ(PathForLog("/hls/a.ts"), "/hls/a.ts");
}

TEST(HostPortTest, WritesThePortAlwaysAndBracketsIpv6) {
  EXPECT_EQ(HostPort("127.0.0.1", 8080), "127.0.0.1:8080");
  EXPECT_EQ(HostPort("::1", 8080), "[::1]:8080");
  EXPECT_EQ(HostPort("example.com", 443), "example.com:443");
  EXPECT_EQ(Parsed("http://[::1]/").HostHeader(), "[::1]");
  EXPECT_EQ(Parsed("http://[::1]:81/").HostHeader(), "[::1]:81");
}

}  // namespace
}  // namespace headcount
