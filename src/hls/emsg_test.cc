// Tests for the emsg writer: the box read back field by field with a parser
// written here, its place right before the moof, and every other byte.
#include "hls/emsg.h"

#include <gtest/gtest.h>

#include "hls/id3_ts.h"
#include "hls/testing/fmp4_fixture.h"

namespace headcount {
namespace {

std::uint64_t Be(const std::string& s, std::size_t at, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}

// Reads a version 1 emsg box by ISO/IEC 23009-1's layout.
EmsgV1 ParseEmsg(const std::string& box) {
  EXPECT_EQ(box.substr(4, 4), "emsg");
  EXPECT_EQ(Be(box, 0, 4), box.size());
  EXPECT_EQ(box[8], 1);  // version
  EmsgV1 e;
  e.timescale = static_cast<std::uint32_t>(Be(box, 12, 4));
  e.presentation_time = Be(box, 16, 8);
  e.event_duration = static_cast<std::uint32_t>(Be(box, 24, 4));
  e.id = static_cast<std::uint32_t>(Be(box, 28, 4));
  std::size_t at = 32;
  const std::size_t nul1 = box.find('\0', at);
  e.scheme_id_uri = box.substr(at, nul1 - at);
  const std::size_t nul2 = box.find('\0', nul1 + 1);
  e.value = box.substr(nul1 + 1, nul2 - nul1 - 1);
  e.message_data = box.substr(nul2 + 1);
  return e;
}

constexpr std::uint64_t kVideoTime = 0x1'0000'0000ull + 90000;  // past 32 bits

TEST(InsertId3Emsg, PutsAnId3EmsgOnTheFirstTracksClockRightBeforeTheMoof) {
  const std::string segment = testing::MakeMediaSegment(kVideoTime, 48000);
  const Result<Fmp4Timescales> init = ReadTimescales(testing::MakeInit());
  ASSERT_TRUE(init.ok());
  const std::string tag = Id3TxxxTag("", R"({"v":1,"m":[1,2,3,4,5]})");
  const Result<std::string> out = InsertId3Emsg(segment, *init, tag, 1764072180);
  ASSERT_TRUE(out.ok()) << out.error().message();

  const std::size_t moof = segment.find("moof") - 4;
  const std::size_t box_size = Be(*out, moof, 4);
  ASSERT_EQ(out->size(), segment.size() + box_size);
  const EmsgV1 e = ParseEmsg(out->substr(moof, box_size));
  EXPECT_EQ(e.timescale, 90000u);  // track 1's mdhd, not the movie's 1000
  EXPECT_EQ(e.presentation_time, kVideoTime);
  EXPECT_EQ(e.event_duration, kEmsgUnknownDuration);
  EXPECT_EQ(e.id, 1764072180u);
  EXPECT_EQ(e.scheme_id_uri, "https://aomedia.org/emsg/ID3");
  EXPECT_EQ(e.value, "");
  EXPECT_EQ(e.message_data, tag);

  // The moof follows, and from there on every byte is the original's.
  EXPECT_EQ(out->substr(moof + box_size + 4, 4), "moof");
  EXPECT_EQ(out->substr(moof + box_size), segment.substr(moof));
}

TEST(InsertId3Emsg, GrowsTheSidxReferenceThatCoversTheMoofAndChangesNothingElse) {
  const std::string segment = testing::MakeMediaSegment(kVideoTime, 48000);
  const Result<std::string> out =
      InsertId3Emsg(segment, *ReadTimescales(testing::MakeInit()), Id3TxxxTag("", "1"), 1);
  ASSERT_TRUE(out.ok());
  const std::size_t moof = segment.find("moof") - 4;
  const std::size_t box_size = out->size() - segment.size();
  const std::size_t sidx = segment.find("sidx") - 4;
  // version 1 sidx: header 8, version/flags 4, id 4, timescale 4, times 16,
  // reserved 2, count 2, then the reference word.
  const std::size_t reference = sidx + 8 + 4 + 4 + 4 + 16 + 4;
  EXPECT_EQ(Be(*out, reference, 4) & 0x7FFFFFFF,
            (Be(segment, reference, 4) & 0x7FFFFFFF) + box_size);
  EXPECT_EQ(out->substr(0, reference), segment.substr(0, reference));
  EXPECT_EQ(out->substr(reference + 4, moof - reference - 4),
            segment.substr(reference + 4, moof - reference - 4));
  // The sidx still indexes exactly the rest of the segment.
  EXPECT_EQ(sidx + Be(*out, sidx, 4) + (Be(*out, reference, 4) & 0x7FFFFFFF), out->size());
}

TEST(InsertId3Emsg, RefusesSegmentsWithoutAFragmentOrWithAnUnknownTrack) {
  const Result<Fmp4Timescales> init = ReadTimescales(testing::MakeInit());
  ASSERT_TRUE(init.ok());
  EXPECT_FALSE(InsertId3Emsg(testing::MakeInit(), *init, "tag", 1).ok());
  Fmp4Timescales other = *init;
  other.tracks.erase(1);
  EXPECT_FALSE(InsertId3Emsg(testing::MakeMediaSegment(0, 0), other, "tag", 1).ok());
}

}  // namespace
}  // namespace headcount
