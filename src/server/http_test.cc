// Tests of the Beast-free HTTP value types: target parsing and percent-coding.
#include "server/http.h"

#include <gtest/gtest.h>

namespace headcount {
namespace {

TEST(ParseTargetTest, SplitsPathAndDecodesQuery) {
  auto t = ParseTarget("/hls/demo/stream.m3u8?hcs=a%2Bb&since=1h&x&flag=&since=2h");
  ASSERT_TRUE(t.ok()) << t.error().ToString();
  EXPECT_EQ(t->path, "/hls/demo/stream.m3u8");
  EXPECT_EQ(t->query.count("since"), 2u);
  EXPECT_EQ(t->query.find("since")->second, "1h");  // first one first
  EXPECT_EQ(t->query.find("hcs")->second, "a+b");
  EXPECT_EQ(t->query.find("x")->second, "");
  EXPECT_EQ(t->query.find("flag")->second, "");
}

TEST(ParseTargetTest, PlusStaysPlusAndEmptyPairsAreSkipped) {
  auto t = ParseTarget("/a?q=a+b&&=v");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->query.find("q")->second, "a+b");
  EXPECT_EQ(t->query.find("")->second, "v");
  EXPECT_EQ(t->query.size(), 2u);
}

TEST(ParseTargetTest, DecodesPath) {
  auto t = ParseTarget("/api/channels/my%20channel/history");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->path, "/api/channels/my channel/history");
  EXPECT_EQ(ParseTarget("/")->path, "/");
  EXPECT_EQ(ParseTarget("/a?")->path, "/a");
}

TEST(ParseTargetTest, RefusesRawDotSegments) {
  for (const char* target :
       {"/..", "/../etc/passwd", "/hls/../secret", "/hls/./x", "/hls/..", "/a/.", "/./"}) {
    EXPECT_FALSE(ParseTarget(target).ok()) << target;
  }
}

TEST(ParseTargetTest, RefusesEncodedDotSegments) {
  for (const char* target :
       {"/%2e%2e/etc/passwd", "/hls/%2E%2E/x", "/hls/.%2e/x", "/hls/%2e/x", "/%2e%2e"}) {
    EXPECT_FALSE(ParseTarget(target).ok()) << target;
  }
}

TEST(ParseTargetTest, AcceptsDotsInsideNames) {
  EXPECT_TRUE(ParseTarget("/hls/demo/seg.00001.ts").ok());
  EXPECT_TRUE(ParseTarget("/hls/...").ok());
  EXPECT_TRUE(ParseTarget("/hls/..x/a").ok());
  EXPECT_TRUE(ParseTarget("/a?path=../x").ok());  // a query value is not a path
}

TEST(ParseTargetTest, RefusesNulAndBadEscapes) {
  for (const char* target :
       {"/a%00b", "/a?x=%00", "/a%", "/a%4", "/a%zz", "/a%g1", "/a?%=1", "/a?x=%2"}) {
    EXPECT_FALSE(ParseTarget(target).ok()) << target;
  }
}

TEST(ParseTargetTest, RefusesNonOriginForm) {
  EXPECT_FALSE(ParseTarget("").ok());
  EXPECT_FALSE(ParseTarget("*").ok());
  EXPECT_FALSE(ParseTarget("http://example.com/").ok());
  EXPECT_FALSE(ParseTarget("a/b").ok());
  EXPECT_EQ(ParseTarget("x").error().code(), ErrorCode::kInvalidArgument);
}

TEST(PercentDecodeTest, DecodesAndRefuses) {
  EXPECT_EQ(*PercentDecode("a%41%62c"), "aAbc");
  EXPECT_EQ(*PercentDecode("%e2%82%ac"), "\xe2\x82\xac");
  EXPECT_EQ(*PercentDecode(""), "");
  EXPECT_EQ(*PercentDecode("100%25"), "100%");
  EXPECT_FALSE(PercentDecode("%").ok());
  EXPECT_FALSE(PercentDecode("%0").ok());
  EXPECT_FALSE(PercentDecode("%00").ok());
  EXPECT_FALSE(PercentDecode(std::string_view("a\0b", 3)).ok());
}

TEST(PercentEncodeTest, RoundTrips) {
  const std::string raw = "a b/c?d=e&f+g~h.i_j-k\xe2\x82\xac%";
  const std::string encoded = PercentEncode(raw);
  EXPECT_EQ(encoded.find_first_of(" /?=&+\xe2"), std::string::npos);
  EXPECT_EQ(*PercentDecode(encoded), raw);
  EXPECT_EQ(PercentEncode("a b"), "a%20b");
}

TEST(HttpResponseTest, ErrorIsJson) {
  const HttpResponse r = HttpResponse::Error(404, "no \"such\" thing");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, R"({"error":"no \"such\" thing"})");
}

TEST(HttpRequestTest, QueryAndHeaderLookups) {
  HttpRequest req;
  req.query = {{"a", "1"}, {"a", "2"}};
  req.headers = {{"accept", "text/csv"}};
  EXPECT_EQ(req.Query("a"), "1");
  EXPECT_EQ(req.Query("b"), std::nullopt);
  EXPECT_EQ(req.Header("accept"), "text/csv");
  EXPECT_EQ(req.Header("host"), std::nullopt);
}

}  // namespace
}  // namespace headcount

namespace headcount {
namespace {

TEST(IsLoopbackAddressTest, OnlyThisMachine) {
  for (const char* a : {"127.0.0.1", "127.3.2.1", "::1", "::ffff:127.0.0.1"}) {
    EXPECT_TRUE(IsLoopbackAddress(a)) << a;
  }
  for (const char* a : {"", "10.0.0.1", "128.0.0.1", "::2", "::ffff:10.0.0.1", "1127.0.0.1"}) {
    EXPECT_FALSE(IsLoopbackAddress(a)) << a;
  }
}

}  // namespace
}  // namespace headcount
