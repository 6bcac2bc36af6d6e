// Tests for the M3U8 text layer: lines, tags and attribute lists.
#include "hls/m3u8_text.h"

#include <gtest/gtest.h>

namespace headcount {
namespace {

TEST(SplitLines, SplitsOnLfAndCrLfWithoutAnEmptyLastLine) {
  EXPECT_EQ(SplitLines("#EXTM3U\r\na.ts\n\nb.ts"),
            (std::vector<std::string_view>{"#EXTM3U", "a.ts", "", "b.ts"}));
  EXPECT_TRUE(SplitLines("").empty());
}

TEST(TagName, MatchesWholeNamesAndOnlyTags) {
  EXPECT_EQ(TagName("#EXTINF:1.0,"), "EXTINF");
  EXPECT_EQ(TagName("#EXT-X-ENDLIST"), "EXT-X-ENDLIST");
  EXPECT_EQ(TagName("#EXT-X-TARGETDURATIONX:2"), "EXT-X-TARGETDURATIONX");
  EXPECT_EQ(TagName("# a comment"), "");
  EXPECT_EQ(TagName("seg.ts"), "");
  EXPECT_EQ(TagValue("#EXTINF:1.0,"), "1.0,");
  EXPECT_EQ(TagValue("#EXT-X-ENDLIST"), "");
}

TEST(IsUriLine, IsAnyNonBlankLineNotStartingWithHash) {
  EXPECT_TRUE(IsUriLine("seg.ts"));
  EXPECT_TRUE(IsUriLine("  http://h/x.ts "));
  EXPECT_FALSE(IsUriLine("   "));
  EXPECT_FALSE(IsUriLine("#EXTINF:1,"));
}

TEST(ParseAttributes, ReadsQuotedAndPlainValuesWithTheirOffsets) {
  const std::string_view line = R"(#EXT-X-MAP:URI="init.mp4",BYTERANGE="720@0")";
  const auto attributes = ParseAttributes(
      R"(#EXT-X-STREAM-INF:BANDWIDTH=1280000,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=1280x720)");
  ASSERT_TRUE(attributes.has_value());
  ASSERT_EQ(attributes->size(), 3u);
  EXPECT_EQ((*attributes)[0].name, "BANDWIDTH");
  EXPECT_EQ((*attributes)[0].value, "1280000");
  EXPECT_FALSE((*attributes)[0].quoted);
  EXPECT_EQ((*attributes)[1].value, "avc1.64001f,mp4a.40.2");  // a ',' inside quotes
  EXPECT_TRUE((*attributes)[1].quoted);
  EXPECT_EQ((*attributes)[2].value, "1280x720");

  const auto uri = FindAttribute(line, "URI");
  ASSERT_TRUE(uri.has_value());
  EXPECT_EQ(uri->value, "init.mp4");
  EXPECT_EQ(line.substr(uri->value_offset, uri->value.size()), "init.mp4");
  EXPECT_FALSE(FindAttribute(line, "KEYFORMAT").has_value());
}

TEST(ParseAttributes, RefusesListsThatDoNotParse) {
  EXPECT_FALSE(ParseAttributes("#EXT-X-ENDLIST").has_value());
  EXPECT_FALSE(ParseAttributes(R"(#EXT-X-MAP:URI="init.mp4)").has_value());
  EXPECT_FALSE(ParseAttributes(R"(#EXT-X-MAP:URI="a"B=1)").has_value());
  EXPECT_FALSE(ParseAttributes("#EXT-X-MAP:URI").has_value());
}

}  // namespace
}  // namespace headcount
