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

TEST(FindFirstMoofEnd, FindsTheMoofOnceItIsWholeInAGrowingPrefix) {
  const std::string segment = testing::MakeMediaSegment(900000, 480000);
  const Result<FirstFragment> f = ReadFirstFragment(segment);
  ASSERT_TRUE(f.ok()) << f.error().message();
  const std::size_t moof_size = std::size_t{static_cast<unsigned char>(segment[f->moof_offset + 2])}
                                    << 8 |
                                static_cast<unsigned char>(segment[f->moof_offset + 3]);
  const std::size_t moof_end = f->moof_offset + moof_size;
  for (std::size_t n = 0; n < moof_end; ++n) {
    const MoofSearch cut = FindFirstMoofEnd(std::string_view(segment).substr(0, n));
    EXPECT_FALSE(cut.moof_end) << n;
    EXPECT_FALSE(cut.hopeless) << n;
  }
  for (const std::size_t n : {moof_end, moof_end + 1, segment.size()}) {
    const MoofSearch whole = FindFirstMoofEnd(std::string_view(segment).substr(0, n));
    ASSERT_TRUE(whole.moof_end) << n;
    EXPECT_EQ(*whole.moof_end, moof_end);
  }
  // A box that runs to the end (size 0) or is smaller than its header: no moof can follow.
  EXPECT_TRUE(FindFirstMoofEnd(U32(0) + "mdat" + "xxxx").hopeless);
  EXPECT_TRUE(FindFirstMoofEnd(U32(4) + "styp").hopeless);
}

}  // namespace
}  // namespace headcount
