// Tests for ISO BMFF box walking on hand-built fMP4 segments.
#include "hls/bmff.h"

#include <gtest/gtest.h>

#include "hls/testing/fmp4_fixture.h"

namespace headcount {
namespace {

using testing::Box;
using testing::U32;
using testing::U64;

TEST(ReadBoxes, WalksPlainLargeAndToTheEndSizes) {
  const std::string plain = Box("free", "ab");
  const std::string large = U32(1) + "skip" + U64(16 + 3) + "xyz";
  const std::string to_end = U32(0) + "mdat" + "rest";
  const std::string bytes = plain + large + to_end;
  const Result<std::vector<BmffBox>> boxes = ReadBoxes(bytes);
  ASSERT_TRUE(boxes.ok()) << boxes.error().message();
  ASSERT_EQ(boxes->size(), 3u);
  EXPECT_EQ((*boxes)[0].type, "free");
  EXPECT_EQ((*boxes)[0].content, "ab");
  EXPECT_EQ((*boxes)[1].type, "skip");
  EXPECT_EQ((*boxes)[1].offset, plain.size());
  EXPECT_EQ((*boxes)[1].content, "xyz");
  EXPECT_EQ((*boxes)[2].content, "rest");
}

TEST(ReadBoxes, RefusesCutHeadersAndSizesPastTheEnd) {
  EXPECT_FALSE(ReadBoxes(std::string_view("\0\0\0", 3)).ok());
  EXPECT_FALSE(ReadBoxes(U32(100) + "moof").ok());
  EXPECT_FALSE(ReadBoxes(U32(4) + "moof").ok());  // smaller than its header
  EXPECT_FALSE(ReadBoxes(U32(1) + "moof" + U32(0)).ok());
}

TEST(ReadTimescales, ReadsTheMovieAndEveryTrackInBothBoxVersions) {
  const Result<Fmp4Timescales> t = ReadTimescales(testing::MakeInit());
  ASSERT_TRUE(t.ok()) << t.error().message();
  EXPECT_EQ(t->movie, 1000u);
  EXPECT_EQ(t->tracks, (std::map<std::uint32_t, std::uint32_t>{{1, 90000}, {2, 48000}}));
  EXPECT_FALSE(ReadTimescales(Box("ftyp", "iso5")).ok());
}

TEST(ReadFirstFragment, FindsTheFirstMoofAndItsFirstTrafsDecodeTime) {
  const std::string segment = testing::MakeMediaSegment(0x1'2345'6789, 555);
  const Result<FirstFragment> f = ReadFirstFragment(segment);
  ASSERT_TRUE(f.ok()) << f.error().message();
  EXPECT_EQ(segment.substr(f->moof_offset + 4, 4), "moof");
  EXPECT_EQ(f->track_id, 1u);
  EXPECT_EQ(f->base_media_decode_time, 0x1'2345'6789u);  // a 64-bit tfdt
  EXPECT_FALSE(ReadFirstFragment(testing::MakeInit()).ok());
}

}  // namespace
}  // namespace headcount
