// The proxy's own upstream session: credentials, cookies, learned
// parameters taken off playlists, redirects and wrappers.
#include "origin/upstream_session.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace headcount {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

Url U(std::string_view text) { return *ParseUrl(text); }

std::string HeaderValue(const http_client::HttpHeaders& headers, std::string_view name) {
  const std::string* value = http_client::FindHeader(headers, name);
  return value == nullptr ? "" : *value;
}

TEST(UpstreamHeaderTest, ParsesNameAndValueAndNeverQuotesTheValue) {
  Result<http_client::HttpHeader> h = ParseUpstreamHeader("Authorization:  Bearer s3cret ");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->name, "Authorization");
  EXPECT_EQ(h->value, "Bearer s3cret");
  for (const std::string_view bad :
       {"Authorization Bearer s3cret", "Bad Name: s3cret", "Host: s3cret",
        "X-Token: s3\x01"
        "cret"}) {
    Result<http_client::HttpHeader> r = ParseUpstreamHeader(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_THAT(r.error().message(), Not(HasSubstr("s3cret")));
  }
}

TEST(UpstreamHeaderTest, ParsesQueryParametersAndNeverQuotesTheValue) {
  auto q = ParseUpstreamQuery("jwt=abc.def%26");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->first, "jwt");
  EXPECT_EQ(q->second, "abc.def%26");
  for (const std::string_view bad : {"jwt", "=s3cret", "jwt=s3cret&x=1", "jwt=s3 cret"}) {
    auto r = ParseUpstreamQuery(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_THAT(r.error().message(), Not(HasSubstr("s3cret")));
  }
}

TEST(UpstreamSessionsTest, ConfiguredCredentialsGoWithEveryRequest) {
  UpstreamCredentials credentials;
  credentials.headers.push_back({"Authorization", "Bearer s3cret"});
  credentials.query.emplace_back("token", "t0k");
  UpstreamSessions sessions(credentials);
  const UpstreamRequestParts parts =
      sessions.Prepare(U("http://up:8888/cam/index.m3u8?_HLS_msn=4&token=viewer"), "cam");
  EXPECT_EQ(parts.url, "http://up:8888/cam/index.m3u8?_HLS_msn=4&token=t0k");
  EXPECT_EQ(HeaderValue(parts.headers, "Authorization"), "Bearer s3cret");
}

// Any name the upstream puts, with one value, on the URIs it hands out is
// its session: taken off the playlist, sent with every request.
TEST(UpstreamSessionsTest, LearnsAParameterNobodyNamedAndTakesItOffThePlaylist) {
  UpstreamSessions sessions({});
  const Url url = U("http://up:8888/cam/index.m3u8");
  const std::string out =
      sessions.Learn(url, "cam",
                     "#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",NAME=\"a\",URI=\"audio.m3u8?"
                     "zq7=ab12&lang=en\"\n"
                     "#EXT-X-STREAM-INF:BANDWIDTH=1,AUDIO=\"a\"\nvideo.m3u8?zq7=ab12&q=hi\n"
                     "#EXT-X-STREAM-INF:BANDWIDTH=2,AUDIO=\"a\"\nvideo.m3u8?zq7=ab12&q=lo\n"
                     "#EXT-X-STREAM-INF:BANDWIDTH=3\nhttp://other.example/x.m3u8?zq7=keep\n");
  EXPECT_THAT(out, Not(HasSubstr("ab12")));
  // lang is on one URI only, q differs between URIs: they belong to the URIs.
  EXPECT_THAT(out, HasSubstr("URI=\"audio.m3u8?lang=en\""));
  EXPECT_THAT(out, HasSubstr("\nvideo.m3u8?q=hi\n"));
  EXPECT_THAT(out, HasSubstr("\nvideo.m3u8?q=lo\n"));
  // Another host's URI is left alone (it is not the upstream's session).
  EXPECT_THAT(out, HasSubstr("http://other.example/x.m3u8?zq7=keep"));
  EXPECT_EQ(sessions.Prepare(U("http://up:8888/cam/seg1.ts"), "cam").url,
            "http://up:8888/cam/seg1.ts?zq7=ab12");
  // Another channel has a session of its own.
  EXPECT_EQ(sessions.Prepare(U("http://up:8888/two/seg1.ts"), "two").url,
            "http://up:8888/two/seg1.ts");
}

TEST(UpstreamSessionsTest, LlHlsDirectivesAndConfiguredParametersAreNeverLearned) {
  UpstreamCredentials credentials;
  credentials.query.emplace_back("jwt", "s3cret");
  UpstreamSessions sessions(credentials);
  // SRS repeats the request's query on its wrapper's URI.
  const std::string out = sessions.Learn(U("http://up/live/cam.m3u8?jwt=s3cret"), "cam",
                                         "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n"
                                         "/live/cam.m3u8?hls_ctx=k9&jwt=s3cret&_HLS_msn=3\n");
  EXPECT_THAT(out, Not(HasSubstr("s3cret")));
  EXPECT_THAT(out, HasSubstr("/live/cam.m3u8?_HLS_msn=3\n"));
  EXPECT_EQ(sessions.Prepare(U("http://up/live/cam.m3u8"), "cam").url,
            "http://up/live/cam.m3u8?hls_ctx=k9&jwt=s3cret");
}

TEST(UpstreamSessionsTest, CookiesGoBackByPathAndForgetDropsThem) {
  UpstreamSessions sessions({});
  const Url index = U("http://up:8888/cam/index.m3u8");
  sessions.KeepCookies(index, {{"Set-Cookie", "cookieCheck=1; Secure; HttpOnly; Partitioned"},
                               {"set-cookie", "hlsSession=u-1; SameSite=None"},
                               {"Set-Cookie", "site=1; Path=/"}});
  EXPECT_EQ(HeaderValue(sessions.Prepare(U("http://up:8888/cam/seg.mp4"), "cam").headers, "Cookie"),
            "cookieCheck=1; hlsSession=u-1; site=1");
  // Default path /cam: not sent to /camera/ or another channel.
  EXPECT_EQ(HeaderValue(sessions.Prepare(U("http://up:8888/camera/a.ts"), "x").headers, "Cookie"),
            "site=1");
  EXPECT_EQ(HeaderValue(sessions.Prepare(U("http://other:8888/cam/a.ts"), "cam").headers, "Cookie"),
            "");
  sessions.KeepCookies(index, {{"Set-Cookie", "hlsSession=u-2"}});
  sessions.KeepCookies(index, {{"Set-Cookie", "cookieCheck=; Max-Age=0"}});
  EXPECT_EQ(HeaderValue(sessions.Prepare(U("http://up:8888/cam/seg.mp4"), "cam").headers, "Cookie"),
            "site=1; hlsSession=u-2");

  const std::uint64_t before = sessions.Generation("cam");
  sessions.Forget("cam", index);
  const std::uint64_t forgotten = sessions.Generation("cam");
  EXPECT_NE(forgotten, before);
  sessions.Renewed("cam");
  EXPECT_NE(sessions.Generation("cam"), forgotten);
  EXPECT_EQ(HeaderValue(sessions.Prepare(U("http://up:8888/cam/seg.mp4"), "cam").headers, "Cookie"),
            "");
}

TEST(UpstreamSessionsTest, ForgetDropsLearnedParametersAndEntryPrefersTheMultivariant) {
  UpstreamSessions sessions({});
  const Url index = U("http://up:3333/app/cam/llhls.m3u8");
  EXPECT_FALSE(sessions.Entry("cam"));
  sessions.NotePlaylist("cam", U("http://up:3333/app/cam/chunklist.m3u8?_HLS_msn=7"), false);
  EXPECT_EQ(sessions.Entry("cam")->ToString(), "http://up:3333/app/cam/chunklist.m3u8");
  sessions.NotePlaylist("cam", index, true);
  (void)sessions.Learn(index, "cam",
                       "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nchunklist.m3u8?session=7_k\n");
  EXPECT_EQ(sessions.Entry("cam")->ToString(), index.ToString());
  EXPECT_THAT(sessions.Prepare(U("http://up:3333/app/cam/s.m4s"), "cam").url,
              HasSubstr("session=7_k"));
  sessions.Forget("cam", index);
  EXPECT_EQ(sessions.Prepare(U("http://up:3333/app/cam/s.m4s"), "cam").url,
            "http://up:3333/app/cam/s.m4s");
}

TEST(UpstreamRedirectTest, FollowsSameOriginOnly) {
  const Url from = U("http://up:8888/cam/index.m3u8");
  const auto same = SameOriginRedirect(from, 302, {{"Location", "index.m3u8?cookieCheck=1"}});
  ASSERT_TRUE(same);
  EXPECT_EQ(same->ToString(), "http://up:8888/cam/index.m3u8?cookieCheck=1");
  EXPECT_FALSE(SameOriginRedirect(from, 302, {{"Location", "http://evil.example/x.m3u8"}}));
  EXPECT_FALSE(SameOriginRedirect(from, 200, {{"Location", "index.m3u8"}}));
  EXPECT_FALSE(SameOriginRedirect(from, 302, {}));
}

TEST(UpstreamRedirectTest, RecognizesSrsSelfReferencingWrapper) {
  const Url url = U("http://up:8080/live/cam.m3u8");
  EXPECT_TRUE(IsSelfReferencingWrapper(
      url,
      "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,AVERAGE-BANDWIDTH=1\n/live/cam.m3u8?hls_ctx=k9\n"));
  // Another path, no query, two variants, a media playlist: not a wrapper.
  EXPECT_FALSE(IsSelfReferencingWrapper(
      url, "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n/live/cam_hd.m3u8?hls_ctx=k9\n"));
  EXPECT_FALSE(IsSelfReferencingWrapper(url, "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\ncam.m3u8\n"));
  EXPECT_FALSE(IsSelfReferencingWrapper(url,
                                        "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\ncam.m3u8?a=1\n#"
                                        "EXT-X-STREAM-INF:BANDWIDTH=2\ncam.m3u8?a=2\n"));
  EXPECT_FALSE(IsSelfReferencingWrapper(
      url, "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\ncam.m3u8?a=1\n"));
}

}  // namespace
}  // namespace headcount
