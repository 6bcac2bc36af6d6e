#include "hls/playlist.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "core/base64.h"
#include "core/payload.h"
#include "core/time_text.h"
#include "hls/testdata.h"

namespace headcount {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::vector<std::string> Lines(std::string_view text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = text.find('\n', start);
    out.emplace_back(text.substr(start, end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

std::vector<std::string> DateRangeLines(std::string_view text) {
  std::vector<std::string> out;
  for (const std::string& line : Lines(text)) {
    if (line.starts_with("#EXT-X-DATERANGE:")) out.push_back(line);
  }
  return out;
}

// The value of quoted attribute `name` in a tag line, or "" if absent.
std::string QuotedAttribute(std::string_view line, std::string_view name) {
  const std::string key = "," + std::string(name) + "=\"";
  std::string with_comma = "," + std::string(line.substr(line.find(':') + 1));
  const std::size_t at = with_comma.find(key);
  if (at == std::string::npos) return "";
  const std::size_t start = at + key.size();
  return with_comma.substr(start, with_comma.find('"', start) - start);
}

Seconds At(std::string_view rfc3339) {
  return std::chrono::floor<std::chrono::seconds>(*ParseRfc3339(rfc3339));
}

DateRangeTag TagFor(const std::string& payload, Seconds at) {
  return {DateRangeId(at), WallTime(at), EncodeDateRangePayload(payload)};
}

TEST(RewritePlaylistTest, FfmpegMediaPlaylistGetsSessionAndOneDateRange) {
  Summary summary;
  summary.at = At("2026-11-25T12:25:00Z");
  summary.counts = {120, 134, std::nullopt, 161, 170};
  summary.trend = Trend::kRising;
  const std::string payload = EncodePayloadV1(summary);
  const PlaylistRewrite opts{"hcs=abc", TagFor(payload, summary.at)};

  const Result<std::string> out = RewritePlaylist(testdata::kFfmpegTsPlaylist, opts);
  ASSERT_TRUE(out.ok()) << out.error().ToString();

  const std::vector<std::string> in_lines = Lines(testdata::kFfmpegTsPlaylist);
  const std::vector<std::string> out_lines = Lines(*out);
  ASSERT_EQ(out_lines.size(), in_lines.size() + 1);
  // Header tags unchanged, then the DATERANGE right before segment 1's EXTINF.
  for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(out_lines[i], in_lines[i]);
  EXPECT_EQ(out_lines[5],
            "#EXT-X-DATERANGE:ID=\"hc-1795609500\",CLASS=\"com.headcount.viewers\","
            "START-DATE=\"2026-11-25T12:25:00.000Z\",X-HEADCOUNT=\"" +
                Base64Encode(payload) + "\"");
  // Everything else line for line, with the session on each segment URI.
  for (std::size_t i = 5; i < in_lines.size(); ++i) {
    const std::string& in = in_lines[i];
    EXPECT_EQ(out_lines[i + 1], in.starts_with("#") ? in : in + "?hcs=abc") << "line " << i;
  }

  const std::vector<std::string> tags = DateRangeLines(*out);
  ASSERT_EQ(tags.size(), 1u);
  EXPECT_EQ(QuotedAttribute(tags[0], "CLASS"), kDateRangeClass);
  EXPECT_EQ(*ParseRfc3339(QuotedAttribute(tags[0], "START-DATE")), WallTime(summary.at));
  const Result<std::string> decoded = Base64Decode(QuotedAttribute(tags[0], "X-HEADCOUNT"));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, payload);
  const Result<Summary> back = DecodePayloadV1(*decoded);
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  EXPECT_EQ(back->counts, summary.counts);
  EXPECT_EQ(back->at, summary.at);
}

TEST(RewritePlaylistTest, FmpegFmp4PlaylistRewritesMapUri) {
  const PlaylistRewrite opts{"hcs=abc", TagFor("{}", At("2026-11-25T12:29:00Z"))};
  const Result<std::string> out = RewritePlaylist(testdata::kFfmpegFmp4Playlist, opts);
  ASSERT_TRUE(out.ok());
  const std::vector<std::string> lines = Lines(*out);
  // EXT-X-MAP applies to segment 1, so the DATERANGE goes before it.
  EXPECT_THAT(lines[5], ::testing::StartsWith("#EXT-X-DATERANGE:ID=\"hc-"));
  EXPECT_EQ(lines[6], "#EXT-X-MAP:URI=\"init.mp4?hcs=abc\"");
  EXPECT_EQ(lines[7], "#EXTINF:1.000000,");
  EXPECT_EQ(lines[9], "stream0.m4s?hcs=abc");
  EXPECT_EQ(lines.back(), "#EXT-X-ENDLIST");
  EXPECT_EQ(DateRangeLines(*out).size(), 1u);
}

TEST(RewritePlaylistTest, MultivariantRewritesUrisButGetsNoDateRange) {
  const PlaylistRewrite opts{"hcs=abc", TagFor("{}", At("2026-11-25T12:29:00Z"))};
  const Result<std::string> out = RewritePlaylist(testdata::kMultivariantPlaylist, opts);
  ASSERT_TRUE(out.ok());
  EXPECT_FALSE(IsMediaPlaylist(testdata::kMultivariantPlaylist));
  EXPECT_TRUE(DateRangeLines(*out).empty());
  EXPECT_EQ(*out,
            "#EXTM3U\n"
            "#EXT-X-VERSION:6\n"
            "#EXT-X-INDEPENDENT-SEGMENTS\n"
            // Only the URI attribute, not "URI=" inside another quoted value.
            "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud\",NAME=\"en,URI=no\",DEFAULT=YES,"
            "URI=\"audio.m3u8?hcs=abc\"\n"
            "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud\",NAME=\"cdn\","
            "URI=\"https://cdn.example/a.m3u8\"\n"
            "#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=86000,URI=\"iframes.m3u8?hcs=abc\"\n"
            "#EXT-X-STREAM-INF:BANDWIDTH=1280000,RESOLUTION=640x360,AUDIO=\"aud\"\n"
            "low.m3u8?hcs=abc\n"
            "#EXT-X-STREAM-INF:BANDWIDTH=2560000,RESOLUTION=1280x720,AUDIO=\"aud\"\n"
            "high.m3u8?q=1&hcs=abc\n"
            "#EXT-X-STREAM-INF:BANDWIDTH=5000000\n"
            "https://cdn.example/hd.m3u8\n");
}

TEST(RewritePlaylistTest, LeavesAbsoluteAndNetworkPathUrisAlone) {
  const std::string in =
      "#EXTM3U\n#EXT-X-TARGETDURATION:2\n"
      "#EXT-X-KEY:METHOD=AES-128,URI=\"key.bin\",IV=0x0123\n"
      "#EXTINF:2,\nhttp://a.example/1.ts\n"
      "#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"skd://key-id\"\n"
      "#EXTINF:2,\n//b.example/2.ts\n"
      "#EXTINF:2,\nsub/3.ts#frag\n"
      "#EXTINF:2,\n4.ts?\n";
  const Result<std::string> out = RewritePlaylist(in, {"hcs=x", std::nullopt});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out,
            "#EXTM3U\n#EXT-X-TARGETDURATION:2\n"
            "#EXT-X-KEY:METHOD=AES-128,URI=\"key.bin?hcs=x\",IV=0x0123\n"
            "#EXTINF:2,\nhttp://a.example/1.ts\n"
            "#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"skd://key-id\"\n"
            "#EXTINF:2,\n//b.example/2.ts\n"
            "#EXTINF:2,\nsub/3.ts?hcs=x#frag\n"
            "#EXTINF:2,\n4.ts?hcs=x\n");
}

TEST(RewritePlaylistTest, LowLatencyTagsCarryTheSession) {
  const std::string in =
      "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-PART-INF:PART-TARGET=1.0\n"
      "#EXT-X-PROGRAM-DATE-TIME:2026-11-25T12:00:00Z\n#EXTINF:4,\ns1.mp4\n"
      "#EXT-X-PART:DURATION=1.0,URI=\"s2.p0.mp4\",INDEPENDENT=YES\n"
      "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"s2.p1.mp4\"\n"
      "#EXT-X-RENDITION-REPORT:URI=\"../alt/a.m3u8\",LAST-MSN=1\n";
  const Result<std::string> out = RewritePlaylist(in, {"hcs=x", std::nullopt});
  ASSERT_TRUE(out.ok());
  EXPECT_THAT(*out, HasSubstr("URI=\"s2.p0.mp4?hcs=x\",INDEPENDENT=YES\n"));
  EXPECT_THAT(*out, HasSubstr("URI=\"s2.p1.mp4?hcs=x\"\n"));
  EXPECT_THAT(*out, HasSubstr("URI=\"../alt/a.m3u8?hcs=x\",LAST-MSN=1\n"));
}

TEST(RewritePlaylistTest, MapUriRunsOnEveryUriBeforeTheSession) {
  const std::string in =
      "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-MAP:URI=\"http://up/c/init.mp4\"\n"
      "#EXTINF:4,\nhttp://up/c/s1.m4s\n"
      "#EXT-X-PART:DURATION=1.0,URI=\"http://up/c/s2.p0.m4s\"\n"
      "#EXTINF:4,\nhttp://cdn.example/s3.m4s\n";
  PlaylistRewrite rewrite;
  rewrite.session_query = "hcs=x";
  rewrite.map_uri = [](std::string_view uri) {
    return uri.starts_with("http://up/c/") ? "/hls/c/" + std::string(uri.substr(12))
                                           : std::string(uri);
  };
  const Result<std::string> out = RewritePlaylist(in, rewrite);
  ASSERT_TRUE(out.ok());
  EXPECT_THAT(*out, HasSubstr("#EXT-X-MAP:URI=\"/hls/c/init.mp4?hcs=x\"\n"));
  EXPECT_THAT(*out, HasSubstr("\n/hls/c/s1.m4s?hcs=x\n"));
  EXPECT_THAT(*out, HasSubstr("URI=\"/hls/c/s2.p0.m4s?hcs=x\"\n"));
  EXPECT_THAT(*out, HasSubstr("\nhttp://cdn.example/s3.m4s\n"));  // mapped to itself: no session
}

TEST(RewritePlaylistTest, CrlfInputGivesLfOutput) {
  std::string crlf;
  for (const char c : testdata::kFfmpegTsPlaylist) {
    if (c == '\n') crlf += '\r';
    crlf += c;
  }
  const PlaylistRewrite opts{"hcs=abc", TagFor("{}", At("2026-11-25T12:25:00Z"))};
  const Result<std::string> from_crlf = RewritePlaylist(crlf, opts);
  const Result<std::string> from_lf = RewritePlaylist(testdata::kFfmpegTsPlaylist, opts);
  ASSERT_TRUE(from_crlf.ok());
  ASSERT_TRUE(from_lf.ok());
  EXPECT_EQ(*from_crlf, *from_lf);
  EXPECT_THAT(*from_crlf, Not(HasSubstr("\r")));
}

TEST(RewritePlaylistTest, MissingFinalNewlineIsAdded) {
  const Result<std::string> out = RewritePlaylist("#EXTM3U\n#EXTINF:1,\na.ts", {"s=1", {}});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, "#EXTM3U\n#EXTINF:1,\na.ts?s=1\n");
}

TEST(RewritePlaylistTest, NoProgramDateTimeNoDateRange) {
  const std::string in = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\na.ts\n#EXTINF:1,\nb.ts\n";
  const Result<std::string> out =
      RewritePlaylist(in, {"hcs=abc", TagFor("{}", At("2026-11-25T12:25:00Z"))});
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(DateRangeLines(*out).empty());
  EXPECT_EQ(
      *out,
      "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\na.ts?hcs=abc\n#EXTINF:1,\nb.ts?hcs=abc\n");
}

TEST(RewritePlaylistTest, UnparsableProgramDateTimeNoDateRange) {
  const std::string in =
      "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-PROGRAM-DATE-TIME:yesterday\n#EXTINF:1,\na.ts\n";
  const Result<std::string> out =
      RewritePlaylist(in, {"", TagFor("{}", At("2026-11-25T12:25:00Z"))});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, in);
}

TEST(RewritePlaylistTest, ProgramDateTimeOffsetsAllAccepted) {
  const WallTime expected = *ParseRfc3339("2026-11-25T12:03:01.123Z");
  for (const std::string_view pdt :
       {"2026-11-25T12:03:01.123Z", "2026-11-25T12:03:01.123+0000", "2026-11-25T12:03:01.123+00:00",
        "2026-11-25T13:03:01.123+01:00", "2026-11-25T07:03:01.123-0500"}) {
    const std::string line = "#EXT-X-PROGRAM-DATE-TIME:" + std::string(pdt);
    const Result<WallTime> t = ParseProgramDateTime(line);
    ASSERT_TRUE(t.ok()) << pdt;
    EXPECT_EQ(*t, expected) << pdt;

    const std::string in = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n" + line + "\n#EXTINF:1,\na.ts\n";
    const Result<std::string> out =
        RewritePlaylist(in, {"", TagFor("{}", At("2026-11-25T12:03:00Z"))});
    ASSERT_TRUE(out.ok());
    const std::vector<std::string> lines = Lines(*out);
    ASSERT_EQ(lines.size(), 6u) << pdt;
    EXPECT_THAT(lines[2], ::testing::StartsWith("#EXT-X-DATERANGE:")) << pdt;
    EXPECT_EQ(lines[3], line);
  }
  EXPECT_FALSE(ParseProgramDateTime("#EXT-X-PROGRAM-DATE-TIME:2026-11-25T12:03:01").ok());
  EXPECT_FALSE(ParseProgramDateTime("#EXTINF:2026-11-25T12:03:01Z").ok());
  EXPECT_FALSE(ParseProgramDateTime("#EXT-X-PROGRAM-DATE-TIME:").ok());
}

TEST(RewritePlaylistTest, DateRangeGoesBeforeDiscontinuity) {
  const std::string in =
      "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-DISCONTINUITY-SEQUENCE:3\n"
      "#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME:2026-11-25T12:03:01Z\n#EXTINF:1,\na.ts\n";
  const Result<std::string> out =
      RewritePlaylist(in, {"", TagFor("{}", At("2026-11-25T12:03:00Z"))});
  ASSERT_TRUE(out.ok());
  const std::vector<std::string> lines = Lines(*out);
  EXPECT_EQ(lines[2], "#EXT-X-DISCONTINUITY-SEQUENCE:3");
  EXPECT_THAT(lines[3], ::testing::StartsWith("#EXT-X-DATERANGE:"));
  EXPECT_EQ(lines[4], "#EXT-X-DISCONTINUITY");
}

TEST(RewritePlaylistTest, RejectsWhatIsNotAPlaylist) {
  for (const std::string_view in :
       {"", "\n", "hello\n", "#EXTINF:1,\na.ts\n", " \n#EXTM3U\n", "<html>#EXTM3U</html>"}) {
    const Result<std::string> out = RewritePlaylist(in, {});
    ASSERT_FALSE(out.ok()) << in;
    EXPECT_EQ(out.error().code(), ErrorCode::kInvalidArgument);
  }
}

TEST(RewritePlaylistTest, RejectsUnquotableDateRange) {
  DateRangeTag bad{"a\"b", WallTime{}, "AAAA"};
  EXPECT_FALSE(RewritePlaylist(testdata::kFfmpegTsPlaylist, {"", bad}).ok());
  bad = {"", WallTime{}, "AAAA"};
  EXPECT_FALSE(RewritePlaylist(testdata::kFfmpegTsPlaylist, {"", bad}).ok());
}

TEST(RewritePlaylistTest, EmptySessionLeavesUrisAlone) {
  const Result<std::string> out = RewritePlaylist(testdata::kMultivariantPlaylist, {});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, testdata::kMultivariantPlaylist);
}

TEST(PlaylistHelpersTest, IsMediaPlaylist) {
  EXPECT_TRUE(IsMediaPlaylist(testdata::kFfmpegTsPlaylist));
  EXPECT_TRUE(IsMediaPlaylist(testdata::kFfmpegFmp4Playlist));
  EXPECT_TRUE(IsMediaPlaylist("#EXTM3U\r\n#EXT-X-TARGETDURATION:1\r\n"));
  EXPECT_FALSE(IsMediaPlaylist(testdata::kMultivariantPlaylist));
  EXPECT_FALSE(IsMediaPlaylist("#EXTM3U\n#EXTINFO\n"));
}

TEST(PlaylistHelpersTest, DateRangeId) {
  EXPECT_EQ(DateRangeId(At("1970-01-01T00:01:00Z")), "hc-60");
  EXPECT_EQ(DateRangeId(At("2026-11-25T12:03:00Z")), "hc-1795608180");
}

}  // namespace
}  // namespace headcount

namespace headcount {
namespace {

TEST(WrapMediaPlaylistTest, IsAOneVariantMultivariantPlaylist) {
  const std::string wrapped = WrapMediaPlaylist("stream.m3u8?hcs=abc", 1'234'567);
  EXPECT_EQ(wrapped, "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1234567\nstream.m3u8?hcs=abc\n");
  EXPECT_FALSE(IsMediaPlaylist(wrapped));
  EXPECT_EQ(WrapMediaPlaylist("a.m3u8", 0), "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\na.m3u8\n");
}

TEST(PeakBitrateTest, LargestSegmentRateWins) {
  const auto sizes = [](std::string_view uri) -> std::optional<std::uint64_t> {
    if (uri == "a.ts") return 125'000;  // 1 Mbit over 1 s
    if (uri == "b.ts") return 500'000;  // 4 Mbit over 2 s
    return std::nullopt;                // c.ts: vanished
  };
  EXPECT_EQ(PeakBitrate("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:1.000,\na.ts\n"
                        "#EXTINF:2.0,\nb.ts\n#EXTINF:1.0,\nc.ts\n",
                        sizes),
            2'000'000u);
  EXPECT_EQ(PeakBitrate("#EXTM3U\n#EXTINF:1.0,\nc.ts\n", sizes), 0u);
}

}  // namespace
}  // namespace headcount
