#include "origin/upstream_template.h"

#include <gtest/gtest.h>

namespace headcount {
namespace upstream_template_test {

UpstreamTemplate MustParse(std::string_view text) {
  Result<UpstreamTemplate> t = UpstreamTemplate::Parse(text);
  EXPECT_TRUE(t.ok()) << text;
  return std::move(*t);
}

TEST(UpstreamTemplateTest, AcceptsHttpAndHttpsWithChannelInThePath) {
  EXPECT_TRUE(UpstreamTemplate::Parse("http://127.0.0.1:8888/{channel}/").ok());
  EXPECT_TRUE(UpstreamTemplate::Parse("https://media.example/live/{channel}.m3u8").ok());
  EXPECT_TRUE(UpstreamTemplate::Parse("http://127.0.0.1:8080/hls/").ok());  // one channel dir
}

TEST(UpstreamTemplateTest, RefusesWhatItCannotFetchFrom) {
  for (const char* bad :
       {"", "ftp://h/{channel}/", "127.0.0.1:8888/{channel}/", "http://{channel}.example/",
        "http://h:{channel}/x", "http://h/{channel}/?token=x", "http://h/{channel}/#f",
        "http://h/{chan}/", "http://h/{channel}}/", "http://u:p@h/{channel}/"}) {
    EXPECT_FALSE(UpstreamTemplate::Parse(bad).ok()) << bad;
  }
}

TEST(UpstreamTemplateTest, FileUrlResolvesThePathAgainstTheChannelUrl) {
  const UpstreamTemplate mediamtx = MustParse("http://127.0.0.1:8888/{channel}/");
  EXPECT_EQ(mediamtx.FileUrl("cam", "index.m3u8", "").ToString(),
            "http://127.0.0.1:8888/cam/index.m3u8");
  EXPECT_EQ(mediamtx.FileUrl("cam", "v1/seg3.mp4", "_HLS_msn=4").ToString(),
            "http://127.0.0.1:8888/cam/v1/seg3.mp4?_HLS_msn=4");
  const UpstreamTemplate srs = MustParse("http://127.0.0.1:8080/live/{channel}.m3u8");
  EXPECT_EQ(srs.FileUrl("cam", "cam.m3u8", "").ToString(), "http://127.0.0.1:8080/live/cam.m3u8");
  EXPECT_EQ(srs.FileUrl("cam", "cam-12.ts", "").ToString(), "http://127.0.0.1:8080/live/cam-12.ts");
}

TEST(UpstreamTemplateTest, MapUriSendsUpstreamUrisThroughTheProxyAndLeavesOthersAlone) {
  const UpstreamTemplate t = MustParse("http://up.example:8888/live/{channel}/");
  const Url playlist = t.FileUrl("cam", "index.m3u8", "");
  const auto map = [&](std::string_view uri) { return t.MapUri(playlist, "cam", "/hls", uri); };
  EXPECT_EQ(map("s1.ts"), "s1.ts");  // relative: the player resolves it the same way
  EXPECT_EQ(map("v1/s1.ts?x=1"), "v1/s1.ts?x=1");
  EXPECT_EQ(map("http://up.example:8888/live/cam/s2.ts"), "/hls/cam/s2.ts");
  EXPECT_EQ(map("//up.example:8888/live/cam/s3.ts?k=v"), "/hls/cam/s3.ts?k=v");
  EXPECT_EQ(map("/live/cam/v2/s4.ts"), "/hls/cam/v2/s4.ts");
  EXPECT_EQ(map("../cam/s5.ts"), "/hls/cam/s5.ts");  // ".." is resolved, not mirrored
  // The upstream, outside the channel: absolute, straight to the upstream.
  EXPECT_EQ(map("/other/s6.ts"), "http://up.example:8888/other/s6.ts");
  EXPECT_EQ(map("../dog/s7.ts"), "http://up.example:8888/live/dog/s7.ts");
  // Other hosts, ports and schemes: untouched.
  EXPECT_EQ(map("http://cdn.example/live/cam/s8.ts"), "http://cdn.example/live/cam/s8.ts");
  EXPECT_EQ(map("http://up.example:9999/live/cam/s9.ts"), "http://up.example:9999/live/cam/s9.ts");
  EXPECT_EQ(map("https://up.example:8888/live/cam/s10.ts"),
            "https://up.example:8888/live/cam/s10.ts");
  EXPECT_EQ(map("data:text/plain,x"), "data:text/plain,x");
}

TEST(UpstreamTemplateTest, PathBelowChannel) {
  const UpstreamTemplate t = MustParse("http://h/live/{channel}.m3u8");
  EXPECT_EQ(t.PathBelowChannel(*ParseUrl("http://h/live/cam-1.ts"), "cam"), "cam-1.ts");
  EXPECT_EQ(t.PathBelowChannel(*ParseUrl("http://h/other/cam-1.ts"), "cam"), "");
  EXPECT_EQ(t.PathBelowChannel(*ParseUrl("http://g/live/cam-1.ts"), "cam"), "");
}

}  // namespace upstream_template_test
}  // namespace headcount
