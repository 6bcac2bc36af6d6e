// Tests for the payload in served segments: SegmentMetadata's rewrites and
// cache, and the origin serving TS and fMP4 segments with it (read back by
// the hand-written parsers of hls/testing, not by the writers).
#include "origin/segment_metadata.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <random>

#include "core/payload.h"
#include "core/testing/files.h"
#include "hls/id3_ts.h"
#include "hls/testing/fmp4_fixture.h"
#include "hls/testing/ts_fixture.h"
#include "origin/origin.h"

namespace headcount {
namespace {

namespace fs = std::filesystem;

using testing::ReadFile;
using testing::WriteFile;

// The packets of `ts` not on `skip_pid` nor the PMT PID 0x1000 (the
// fixture's), in order: the media a rewrite must leave alone.
std::vector<std::string> MediaPackets(const std::string& ts,
                                      std::optional<std::uint16_t> skip_pid) {
  std::vector<std::string> out;
  for (std::size_t at = 0; at + 188 <= ts.size(); at += 188) {
    const std::uint16_t pid = static_cast<std::uint16_t>(((ts[at + 1] & 0x1F) << 8) |
                                                         static_cast<unsigned char>(ts[at + 2]));
    if (pid == 0x1000 || (skip_pid && pid == *skip_pid)) continue;
    out.push_back(ts.substr(at, 188));
  }
  return out;
}

// The ID3 tag inside the emsg box of `segment`, if there is one right before
// its moof; parsed here from ISO/IEC 23009-1's layout.
std::optional<std::string> EmsgId3BeforeMoof(const std::string& segment) {
  const std::size_t moof = segment.find("moof");
  const std::size_t emsg = segment.find("emsg");
  if (moof == std::string::npos || emsg == std::string::npos) return std::nullopt;
  std::uint32_t size = 0;
  for (int i = 0; i < 4; ++i) {
    size = (size << 8) | static_cast<unsigned char>(segment[emsg - 4 + i]);
  }
  if (emsg - 4 + size != moof - 4) return std::nullopt;  // not right before the moof
  const std::string box = segment.substr(emsg - 4, size);
  const std::size_t scheme = 4 + 4 + 4 + 4 + 8 + 4 + 4;
  const std::size_t nul = box.find('\0', scheme);
  if (box.substr(scheme, nul - scheme) != "https://aomedia.org/emsg/ID3") return std::nullopt;
  return box.substr(box.find('\0', nul + 1) + 1);
}

// The value of the first TXXX frame of an ID3 tag.
std::string TxxxValue(const std::string& tag) {
  testing::ParsedTs ts;
  testing::ParsedMetadataPes pes;
  testing::ParseId3(tag, pes, ts);
  return pes.frames.empty() ? "" : pes.frames[0].value;
}

class SegmentMetadataTest : public ::testing::Test {
 protected:
  SegmentMetadataTest() {
    std::random_device rd;
    base_ = fs::temp_directory_path() /
            ("hc-segment-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    root_ = base_ / "hls";
    WriteFile(root_ / "ts" / "stream.m3u8",
              "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nseg_1.ts\n");
    WriteFile(root_ / "ts" / "seg_1.ts", testing::MakeSegment());
    WriteFile(root_ / "mp4" / "stream.m3u8",
              "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MAP:URI=\"init.mp4\"\n"
              "#EXTINF:1,\nseg_1.m4s\n");
    WriteFile(root_ / "mp4" / "init.mp4", testing::MakeInit());
    WriteFile(root_ / "mp4" / "seg_1.m4s", testing::MakeMediaSegment(900000, 480000));
    clock_.Set(std::chrono::system_clock::now());
  }
  ~SegmentMetadataTest() override {
    std::error_code ec;
    fs::remove_all(base_, ec);
  }

  Origin MakeOrigin(bool segment_metadata = true) const {
    OriginOptions o;
    o.hls_root = root_;
    o.segment_metadata = segment_metadata;
    return Origin(o, clock_);
  }

  // Publishes a payload for `channel` and returns it.
  std::string Publish(Origin& origin, const std::string& channel, std::int64_t newest) {
    Summary summary;
    summary.channel = channel;
    summary.at = std::chrono::floor<std::chrono::minutes>(clock_.Now());
    summary.counts = {1, 2, std::nullopt, 4, newest};
    summary.trend = Trend::kRising;
    std::string payload = EncodePayloadV1(summary);
    EXPECT_TRUE(origin.Publish(summary, payload).ok());
    return payload;
  }

  static HttpRequest Get(const std::string& path) {
    HttpRequest r;
    r.method = "GET";
    r.path = path;
    r.target = path;
    return r;
  }

  fs::path base_;
  fs::path root_;
  FakeClock clock_;
};

TEST_F(SegmentMetadataTest, ATsSegmentCarriesThePayloadAndItsMediaPacketsUnchanged) {
  Origin origin = MakeOrigin();
  const std::string payload = Publish(origin, "ts", 42);
  const HttpResponse r = origin.Handle(Get("/hls/ts/seg_1.ts"));
  ASSERT_EQ(r.status, 200);
  EXPECT_FALSE(r.file.has_value()) << "served from memory, rewritten";
  const testing::ParsedTs ts = testing::ParseTs(std::string(r.BodyView()));
  ASSERT_TRUE(ts.ok) << ts.problem;
  EXPECT_TRUE(ts.crc_ok);
  EXPECT_TRUE(ts.pointer_descriptor);
  EXPECT_TRUE(ts.metadata_descriptor);
  ASSERT_EQ(ts.metadata.size(), 1u);
  ASSERT_EQ(ts.metadata[0].frames.size(), 1u);
  EXPECT_EQ(ts.metadata[0].frames[0].value, payload);
  const std::string original = ReadFile(root_ / "ts" / "seg_1.ts");
  EXPECT_EQ(MediaPackets(std::string(r.BodyView()), ts.metadata_pid),
            MediaPackets(original, std::nullopt));

  // The next payload replaces it.
  clock_.Advance(std::chrono::minutes(1));
  const std::string next = Publish(origin, "ts", 43);
  const testing::ParsedTs again =
      testing::ParseTs(std::string(origin.Handle(Get("/hls/ts/seg_1.ts")).BodyView()));
  ASSERT_EQ(again.metadata.size(), 1u);
  EXPECT_EQ(again.metadata[0].frames[0].value, next);
}

TEST_F(SegmentMetadataTest, BeforeAnyPayloadATsSegmentDeclaresAnEmptyMetadataStream) {
  Origin origin = MakeOrigin();
  const testing::ParsedTs ts =
      testing::ParseTs(std::string(origin.Handle(Get("/hls/ts/seg_1.ts")).BodyView()));
  ASSERT_TRUE(ts.ok) << ts.problem;
  EXPECT_TRUE(ts.metadata_pid.has_value());
  EXPECT_TRUE(ts.metadata.empty());
}

TEST_F(SegmentMetadataTest, AnFmp4SegmentGetsAnEmsgBeforeItsMoofOnlyWithAPayload) {
  Origin origin = MakeOrigin();
  const HttpResponse before = origin.Handle(Get("/hls/mp4/seg_1.m4s"));
  EXPECT_EQ(before.file, root_ / "mp4" / "seg_1.m4s") << "nothing to carry: the file as is";

  const std::string payload = Publish(origin, "mp4", 7);
  const HttpResponse r = origin.Handle(Get("/hls/mp4/seg_1.m4s"));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "video/iso.segment");
  const std::optional<std::string> tag = EmsgId3BeforeMoof(std::string(r.BodyView()));
  ASSERT_TRUE(tag.has_value());
  EXPECT_EQ(TxxxValue(*tag), payload);
  const std::string original = ReadFile(root_ / "mp4" / "seg_1.m4s");
  const std::string_view body = r.BodyView();
  EXPECT_EQ(body.substr(body.find("moof")), original.substr(original.find("moof")));
  // The init segment is not a media segment: served as it is.
  EXPECT_EQ(origin.Handle(Get("/hls/mp4/init.mp4")).file, root_ / "mp4" / "init.mp4");
}

TEST_F(SegmentMetadataTest, AnFmp4SegmentThatNoPlaylistMapsIsServedAsItIs) {
  WriteFile(root_ / "mp4" / "stray.m4s", testing::MakeMediaSegment(0, 0));
  Origin origin = MakeOrigin();
  Publish(origin, "mp4", 7);
  EXPECT_EQ(origin.Handle(Get("/hls/mp4/stray.m4s")).file, root_ / "mp4" / "stray.m4s");
}

TEST_F(SegmentMetadataTest, OffServesEverySegmentAsItIs) {
  Origin origin = MakeOrigin(/*segment_metadata=*/false);
  Publish(origin, "ts", 1);
  Publish(origin, "mp4", 1);
  EXPECT_EQ(origin.Handle(Get("/hls/ts/seg_1.ts")).file, root_ / "ts" / "seg_1.ts");
  EXPECT_EQ(origin.Handle(Get("/hls/mp4/seg_1.m4s")).file, root_ / "mp4" / "seg_1.m4s");
}

TEST_F(SegmentMetadataTest, ASegmentIsRewrittenOncePerVersionAndPayload) {
  SegmentMetadata cache;
  const fs::path path = root_ / "ts" / "seg_1.ts";
  const SegmentPayload payload{"{\"v\":1}", 60, 1};
  const auto first =
      cache.Rewrite(path, "seg_1.ts@1", SegmentKind::kTransportStream, payload, nullptr);
  ASSERT_NE(first, nullptr);
  fs::remove(path);  // a second rewrite would have nothing to read
  const auto second =
      cache.Rewrite(path, "seg_1.ts@1", SegmentKind::kTransportStream, payload, nullptr);
  EXPECT_EQ(second, first) << "the same bytes, from the cache";
  const SegmentPayload next{"{\"v\":1,\"x\":2}", 120, 2};
  EXPECT_EQ(cache.Rewrite(path, "seg_1.ts@1", SegmentKind::kTransportStream, next, nullptr),
            nullptr)
      << "another payload is another rewrite";
}

TEST_F(SegmentMetadataTest, AnFmp4RewriteLooksForItsInitSegmentOnlyOnACacheMiss) {
  SegmentMetadata cache;
  const fs::path path = root_ / "mp4" / "seg_1.m4s";
  const SegmentPayload payload{"{\"v\":1}", 60, 1};
  int lookups = 0;
  const InitFinder find_init = [&]() -> std::optional<std::string> {
    ++lookups;
    return testing::MakeInit();
  };
  const auto first = cache.Rewrite(path, "seg_1.m4s@1", SegmentKind::kFmp4, payload, find_init);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(EmsgId3BeforeMoof(*first).has_value(), true);
  EXPECT_EQ(cache.Rewrite(path, "seg_1.m4s@1", SegmentKind::kFmp4, payload, find_init), first);
  EXPECT_EQ(lookups, 1) << "the playlists and the init segment are read once";
  // No payload: nothing to carry, nothing read.
  EXPECT_EQ(cache.Rewrite(path, "seg_1.m4s@1", SegmentKind::kFmp4, std::nullopt, find_init),
            nullptr);
  EXPECT_EQ(lookups, 1);
}

TEST_F(SegmentMetadataTest, ASegmentTheWritersRefuseIsReadOnceAndThenServedAsItIs) {
  SegmentMetadata cache;
  const fs::path path = root_ / "ts" / "broken.ts";
  WriteFile(path, std::string(188, 'x'));  // no sync byte: not a transport stream
  const SegmentPayload payload{"{}", 60, 1};
  EXPECT_EQ(cache.Rewrite(path, "broken@1", SegmentKind::kTransportStream, payload, nullptr),
            nullptr);
  EXPECT_EQ(cache.CachedBytes(), kAsIsEntryBytes) << "the refusal is remembered";
  // Not read again for that version: even a good file behind the same key
  // (which a real file version never is) gets the remembered answer.
  WriteFile(path, testing::MakeSegment());
  EXPECT_EQ(cache.Rewrite(path, "broken@1", SegmentKind::kTransportStream, payload, nullptr),
            nullptr);
  EXPECT_EQ(cache.CachedBytes(), kAsIsEntryBytes);
  // A read that failed is not remembered: the file may be back.
  EXPECT_EQ(cache.Rewrite(root_ / "ts" / "gone.ts", "gone@1", SegmentKind::kTransportStream,
                          payload, nullptr),
            nullptr);
  EXPECT_EQ(cache.CachedBytes(), kAsIsEntryBytes);
}

TEST_F(SegmentMetadataTest, TheCacheStaysWithinItsBoundDroppingTheOldest) {
  const std::string segment = testing::MakeSegment();
  const fs::path path = root_ / "ts" / "seg_1.ts";
  const SegmentPayload payload{"{}", 60, 1};
  // The segment, its PMT still one packet, plus one packet of PES.
  const std::size_t one = segment.size() + kTsPacketBytes;
  SegmentMetadata cache(2 * one + one / 2);
  for (int i = 0; i < 5; ++i) {
    ASSERT_NE(cache.Rewrite(path, "v" + std::to_string(i), SegmentKind::kTransportStream, payload,
                            nullptr),
              nullptr);
    EXPECT_LE(cache.CachedBytes(), 2 * one + one / 2);
  }
  fs::remove(path);
  EXPECT_NE(cache.Rewrite(path, "v4", SegmentKind::kTransportStream, payload, nullptr), nullptr);
  EXPECT_EQ(cache.Rewrite(path, "v0", SegmentKind::kTransportStream, payload, nullptr), nullptr)
      << "the oldest was dropped";
}

}  // namespace
}  // namespace headcount
