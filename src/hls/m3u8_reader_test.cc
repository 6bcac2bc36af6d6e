// Tests for the M3U8 reader.
#include "hls/m3u8_reader.h"

#include <gtest/gtest.h>

namespace headcount {
namespace {

constexpr std::string_view kLivePlaylist =
    "#EXTM3U\r\n"
    "#EXT-X-VERSION:3\r\n"
    "#EXT-X-TARGETDURATION:2\r\n"
    "#EXT-X-MEDIA-SEQUENCE:41\r\n"
    "#EXT-X-PROGRAM-DATE-TIME:2026-11-25T12:03:00.000+0000\r\n"
    "#EXTINF:2.000,\r\n"
    "seg_00041.ts?hcs=abc\r\n"
    "# a comment\r\n"
    "\r\n"
    "#EXTINF:2.000,\r\n"
    "/hls/demo/seg_00042.ts?hcs=abc\r\n"
    "#EXT-X-DATERANGE:ID=\"m1\",START-DATE=\"2026-11-25T12:03:00Z\"\r\n"
    "#EXTINF:1.500,\r\n"
    "http://origin:8080/hls/demo/seg_00043.ts?a=1&hcs=abc\r\n";

TEST(M3u8Reader, ReadsMediaPlaylist) {
  Result<M3u8Playlist> p = ParseM3u8(kLivePlaylist);
  ASSERT_TRUE(p.ok()) << p.error().ToString();
  EXPECT_FALSE(p->multivariant);
  EXPECT_EQ(p->target_duration, std::chrono::seconds(2));
  EXPECT_EQ(p->media_sequence, 41);
  EXPECT_FALSE(p->ended);
  EXPECT_EQ(p->segment_uris,
            (std::vector<std::string>{"seg_00041.ts?hcs=abc", "/hls/demo/seg_00042.ts?hcs=abc",
                                      "http://origin:8080/hls/demo/seg_00043.ts?a=1&hcs=abc"}));
}

TEST(M3u8Reader, MediaSequenceDefaultsToZeroAndEndListIsSeen) {
  Result<M3u8Playlist> p =
      ParseM3u8("#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6,\na.ts\n#EXT-X-ENDLIST\n");
  ASSERT_TRUE(p.ok()) << p.error().ToString();
  EXPECT_EQ(p->media_sequence, 0);
  EXPECT_TRUE(p->ended);
  EXPECT_EQ(p->segment_uris, std::vector<std::string>{"a.ts"});
}

TEST(M3u8Reader, ReadsMultivariantVariantsInOrder) {
  Result<M3u8Playlist> p = ParseM3u8(
      "#EXTM3U\n"
      "#EXT-X-INDEPENDENT-SEGMENTS\n"
      "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",NAME=\"en\",URI=\"audio.m3u8?hcs=1\"\n"
      "#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360\n"
      "low/index.m3u8?hcs=1\n"
      "#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=100000,URI=\"iframes.m3u8\"\n"
      "#EXT-X-STREAM-INF:BANDWIDTH=1600000\n"
      "high/index.m3u8?hcs=1\n");
  ASSERT_TRUE(p.ok()) << p.error().ToString();
  EXPECT_TRUE(p->multivariant);
  EXPECT_EQ(p->variant_uris,
            (std::vector<std::string>{"low/index.m3u8?hcs=1", "high/index.m3u8?hcs=1"}));
  EXPECT_TRUE(p->segment_uris.empty());
}

TEST(M3u8Reader, RejectsWhatIsNotAPlaylist) {
  const char* bad[] = {
      "",
      "<html>404</html>",
      "\xEF\xBB\xBF#EXTM3U\n#EXT-X-TARGETDURATION:2\n",                // BOM
      "#EXTM3U\n#EXTINF:2,\na.ts\n",                                   // no TARGETDURATION
      "#EXTM3U\n#EXT-X-TARGETDURATION:two\n",                          // not a number
      "#EXTM3U\n#EXT-X-TARGETDURATION:-2\n",                           // negative
      "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:1x\n",  // trailing junk
      "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:99999999999999999999\n",
      "#EXTM3U\n#EXT-X-TARGETDURATION:2\na.ts\n",  // URI without EXTINF
      "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n",  // variant without URI
      "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n#EXT-X-STREAM-INF:BANDWIDTH=2\nb.m3u8\n",
      "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv.m3u8\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\na.ts\n",
  };
  for (const char* text : bad) {
    Result<M3u8Playlist> p = ParseM3u8(text);
    EXPECT_FALSE(p.ok()) << "accepted: " << text;
    if (!p.ok()) {
      EXPECT_EQ(p.error().code(), ErrorCode::kInvalidArgument);
    }
  }
}

TEST(M3u8Reader, TagNamesMatchExactly) {
  // "#EXT-X-TARGETDURATIONX" is not "#EXT-X-TARGETDURATION".
  EXPECT_FALSE(ParseM3u8("#EXTM3U\n#EXT-X-TARGETDURATIONX:2\n").ok());
}

TEST(MapUriFor, GivesTheInitSectionInEffectForASegment) {
  constexpr std::string_view kPlaylist =
      "#EXTM3U\n#EXT-X-TARGETDURATION:1\n"
      "#EXTINF:1,\nbefore.m4s\n"
      "#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:1,\nseg_1.m4s?hcs=x\n"
      "#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=\"init_2.mp4\",BYTERANGE=\"100@0\"\n"
      "#EXTINF:1,\nseg_2.m4s\n";
  EXPECT_EQ(MapUriFor(kPlaylist, "seg_1.m4s"), "init.mp4");
  EXPECT_EQ(MapUriFor(kPlaylist, "seg_2.m4s?hcs=y"), "init_2.mp4");
  EXPECT_EQ(MapUriFor(kPlaylist, "before.m4s"), std::nullopt);  // no map before it
  EXPECT_EQ(MapUriFor(kPlaylist, "gone.m4s"), std::nullopt);
}

}  // namespace
}  // namespace headcount
