#include "hls/id3_ts.h"

#include <gtest/gtest.h>

#include "hls/testing/ts_fixture.h"

namespace headcount {
namespace {

using testing::MakeSegment;
using testing::ParseTs;

constexpr std::uint64_t kVideoPts = 8'589'000'000;  // near the 33-bit limit: all PTS bits used

TEST(Crc32Mpeg2Test, MatchesTheStandardCheckValue) {
  EXPECT_EQ(Crc32Mpeg2("123456789"), 0x0376E6E7u);  // CRC-32/MPEG-2's check value
}

TEST(Id3TxxxTagTest, IsAnId3v24TagWithOneUtf8TxxxFrame) {
  const std::string tag = Id3TxxxTag("", "12,10,9");
  ASSERT_EQ(tag.substr(0, 5), std::string("ID3\x04\x00", 5));
  EXPECT_EQ(testing::Syncsafe(tag, 6), tag.size() - 10);
  EXPECT_EQ(tag.substr(10, 4), "TXXX");
  EXPECT_EQ(testing::Syncsafe(tag, 14), tag.size() - 20);
  EXPECT_EQ(tag.substr(20), std::string("\x03\x00"
                                        "12,10,9",
                                        9));
}

TEST(Id3TxxxTagTest, SizesAreSyncsafe) {
  const std::string value(300, 'x');  // 300 > 127: a plain 32-bit size would differ
  const std::string tag = Id3TxxxTag("d", value);
  for (std::size_t i = 6; i < 10; ++i) EXPECT_EQ(static_cast<unsigned char>(tag[i]) & 0x80, 0);
  EXPECT_EQ(testing::Syncsafe(tag, 14), 1 + 1 + 1 + value.size());
}

TEST(InjectId3Test, AddsTheMetadataStreamAndOnePesPerTagAtTheSegmentStart) {
  const std::string segment = MakeSegment(kVideoPts);
  const std::string v1 =
      R"({"v":1,"at":"2026-11-25T12:03:00Z","i":60,"m":[120,134,null,161,170],"trend":"rising"})";
  auto out = InjectId3(segment, {Id3TxxxTag("", v1), Id3TxxxTag("", "12,10,9,9,7")});
  ASSERT_TRUE(out.ok()) << out.error().message();
  const auto ts = ParseTs(*out);
  ASSERT_TRUE(ts.ok) << ts.problem;
  EXPECT_TRUE(ts.crc_ok);
  EXPECT_TRUE(ts.continuity_ok);
  EXPECT_TRUE(ts.pointer_descriptor);
  EXPECT_TRUE(ts.metadata_descriptor);
  ASSERT_TRUE(ts.metadata_pid.has_value());
  EXPECT_EQ(*ts.metadata_pid, kFirstMetadataPid);
  EXPECT_EQ(ts.stream_types, (std::vector<std::uint8_t>{0x1B, 0x0F, 0x15}));
  ASSERT_EQ(ts.metadata.size(), 2u);
  for (const auto& pes : ts.metadata) {
    EXPECT_EQ(pes.stream_id, 0xBD);
    EXPECT_TRUE(pes.data_aligned);
    EXPECT_EQ(pes.pts, kVideoPts - 1000);  // the earliest first PTS (the audio's)
    ASSERT_EQ(pes.frames.size(), 1u);
    EXPECT_EQ(pes.frames[0].description, "");
  }
  EXPECT_EQ(ts.metadata[0].frames[0].value, v1);
  EXPECT_EQ(ts.metadata[1].frames[0].value, "12,10,9,9,7");
  // The original packets are all there, in order.
  EXPECT_EQ(out->size(), segment.size() + 2 * kTsPacketBytes);
  EXPECT_EQ(out->substr(0, kTsPacketBytes), segment.substr(0, kTsPacketBytes));
  EXPECT_EQ(out->substr(4 * kTsPacketBytes), segment.substr(2 * kTsPacketBytes));
}

TEST(InjectId3Test, ALongTagSpansPacketsWithContinuity) {
  const std::string value(1000, 'a');
  auto out = InjectId3(MakeSegment(), {Id3TxxxTag("", value)});
  ASSERT_TRUE(out.ok()) << out.error().message();
  const auto ts = ParseTs(*out);
  EXPECT_TRUE(ts.continuity_ok);
  ASSERT_EQ(ts.metadata.size(), 1u);
  ASSERT_EQ(ts.metadata[0].frames.size(), 1u);
  EXPECT_EQ(ts.metadata[0].frames[0].value, value);
}

TEST(InjectId3Test, WithoutTagsOnlyThePmtChanges) {
  const std::string segment = MakeSegment();
  auto out = InjectId3(segment, {});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->size(), segment.size());
  const auto ts = ParseTs(*out);
  EXPECT_TRUE(ts.crc_ok);
  EXPECT_TRUE(ts.metadata_descriptor);
  EXPECT_TRUE(ts.metadata.empty());
}

TEST(Id3PrivTagTest, IsAnId3v24TagWithOnePrivFrame) {
  const std::string tag = Id3PrivTag("owner", "data");
  EXPECT_EQ(tag.substr(10, 4), "PRIV");
  EXPECT_EQ(tag.substr(20), std::string("owner\0data", 10));
}

TEST(InjectId3Test, PicksAFreePid) {
  // Injected once, the segment uses 0x102 for metadata already.
  auto out = InjectId3(MakeSegment(), {Id3TxxxTag("", "1")});
  ASSERT_TRUE(out.ok());
  auto again = InjectId3(*out, {Id3TxxxTag("", "2")});  // 0x102 taken now
  ASSERT_TRUE(again.ok()) << again.error().message();
  const auto ts = ParseTs(*again);
  ASSERT_TRUE(ts.metadata_pid.has_value());
  EXPECT_EQ(*ts.metadata_pid, kFirstMetadataPid + 1);
}

TEST(InjectId3Test, RefusesWhatIsNotATransportStream) {
  EXPECT_FALSE(InjectId3("", {}).ok());
  EXPECT_FALSE(InjectId3(std::string(187, '\x47'), {}).ok());
  EXPECT_FALSE(InjectId3(std::string(188, '\x00'), {}).ok());
  // Sync bytes but no PAT.
  EXPECT_FALSE(InjectId3(testing::Packet(0x100, true, 0, "x"), {}).ok());
  // A PAT and a PMT but no PTS anywhere.
  const std::string segment = MakeSegment();
  EXPECT_FALSE(InjectId3(segment.substr(0, 2 * kTsPacketBytes), {}).ok());
}

// A segment arriving in pieces of any size comes out as InjectId3 makes the
// whole of it, and no byte goes out before the head holds the PTS of every
// stream.
TEST(Id3TsStreamTest, PiecesComeOutAsInjectId3MakesTheWholeSegment) {
  std::string segment = MakeSegment();
  for (int i = 0; i < 3; ++i) segment += MakeSegment(900000 + 9000 * (i + 1));  // PMTs again
  const std::vector<std::string> tags = {Id3TxxxTag("", R"({"v":1})")};
  const Result<std::string> whole = InjectId3(segment, tags);
  ASSERT_TRUE(whole.ok()) << whole.error().message();
  for (const std::size_t piece :
       {std::size_t{1}, std::size_t{100}, std::size_t{188}, std::size_t{500}, segment.size()}) {
    Id3TsStream stream(tags);
    std::string out;
    for (std::size_t at = 0; at < segment.size(); at += piece) {
      out += stream.Feed(std::string_view(segment).substr(at, piece));
      if (out.empty()) {
        EXPECT_FALSE(stream.added()) << piece;
      }
    }
    out += stream.Finish();
    EXPECT_EQ(out, *whole) << "pieces of " << piece;
    ASSERT_TRUE(stream.added());
    EXPECT_EQ(*stream.added(), whole->size() - segment.size());
  }
}

TEST(Id3TsStreamTest, OutputStartsBeforeTheSegmentEnds) {
  std::string segment = MakeSegment();
  for (int i = 0; i < 20; ++i) segment += MakeSegment(900000 + 9000 * (i + 1));
  Id3TsStream stream({Id3TxxxTag("", "x")});
  const std::string first = stream.Feed(std::string_view(segment).substr(0, segment.size() / 2));
  EXPECT_FALSE(first.empty()) << "the head held the plan: half the segment goes out";
  EXPECT_TRUE(stream.added());
}

TEST(Id3TsStreamTest, WhatIsNotATransportStreamGoesOutAsItIs) {
  const std::string junk(5000, 'j');
  Id3TsStream stream({Id3TxxxTag("", "x")});
  std::string out = stream.Feed(junk);
  out += stream.Finish();
  EXPECT_EQ(out, junk);
  EXPECT_EQ(stream.added().value_or(99), 0U);
}

}  // namespace
}  // namespace headcount
