#include "ivs_emulator/playback.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "hls/testing/ts_fixture.h"
#include "ivs_emulator/emulator.h"
#include "ivs_emulator/testing/signed_request.h"

namespace headcount::ivs_emulator {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kId = "aBcDeFgH1234";

class PlaybackTest : public ::testing::Test {
 protected:
  PlaybackTest()
      : dir_(fs::temp_directory_path() / ("playback-test-" + std::to_string(::getpid()))) {
    fs::create_directories(dir_ / std::string(kId));
    WritePlaylist(5, {"seg_5.ts", "seg_6.ts"});
    for (int i = 5; i <= 8; ++i) {
      Write("seg_" + std::to_string(i) + ".ts", headcount::testing::MakeSegment());
    }
  }
  ~PlaybackTest() override { fs::remove_all(dir_); }

  void Write(const std::string& name, const std::string& bytes) {
    std::ofstream(dir_ / std::string(kId) / name, std::ios::binary) << bytes;
  }
  void WritePlaylist(int sequence, const std::vector<std::string>& uris) {
    std::string text =
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:" +
        std::to_string(sequence) + "\n";
    for (const auto& u : uris) text += "#EXTINF:1.0,\n" + u + "\n";
    Write("stream.m3u8", text);
  }
  HttpResponse Get(const std::string& path, bool live = true) {
    HttpRequest r;
    r.method = "GET";
    r.path = path;
    return playback_.Handle(r, Playback::ChannelIdOf(path), live);
  }
  std::vector<std::string> ValuesIn(const std::string& segment_path) {
    const HttpResponse r = Get(segment_path);
    EXPECT_EQ(r.status, 200) << r.body;
    std::vector<std::string> values;
    for (const auto& pes : headcount::testing::ParseTs(r.body).metadata) {
      for (const auto& f : pes.frames) values.push_back(f.value);
    }
    return values;
  }

  const fs::path dir_;
  Playback playback_{dir_};
};

TEST_F(PlaybackTest, ChannelIdOfPaths) {
  EXPECT_EQ(Playback::ChannelIdOf("/playback/abc.m3u8"), "abc");
  EXPECT_EQ(Playback::ChannelIdOf("/playback/abc/seg_1.ts"), "abc");
  EXPECT_EQ(Playback::ChannelIdOf("/playback/abc"), "");
  EXPECT_EQ(Playback::ChannelIdOf("/playback/a%2Fb.m3u8"), "");
  EXPECT_EQ(Playback::ChannelIdOf("/other/abc.m3u8"), "");
  EXPECT_EQ(Playback::UrlFor("127.0.0.1:8787", "abc"), "http://127.0.0.1:8787/playback/abc.m3u8");
}

TEST_F(PlaybackTest, ServesThePlaylistWithSegmentsUnderTheChannel) {
  const HttpResponse r = Get("/playback/aBcDeFgH1234.m3u8");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/vnd.apple.mpegurl");
  EXPECT_NE(r.body.find("\naBcDeFgH1234/seg_5.ts\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("#EXT-X-MEDIA-SEQUENCE:5\n"), std::string::npos);
  bool cors = false;
  for (const auto& [n, v] : r.headers) cors |= n == "Access-Control-Allow-Origin" && v == "*";
  EXPECT_TRUE(cors);
}

TEST_F(PlaybackTest, MetadataGoesIntoTheNextSegmentOnly) {
  playback_.OnMetadata(std::string(kId), "12,10,9,9,7");
  WritePlaylist(6, {"seg_6.ts", "seg_7.ts"});  // seg_7 (sequence 7) is the next one
  EXPECT_TRUE(ValuesIn("/playback/aBcDeFgH1234/seg_6.ts").empty());
  // A segment without a payload still has ID3 in its metadata stream: a PRIV frame.
  const auto filler = headcount::testing::ParseTs(Get("/playback/aBcDeFgH1234/seg_6.ts").body);
  ASSERT_EQ(filler.metadata.size(), 1u);
  EXPECT_EQ(filler.metadata[0].frame_ids, std::vector<std::string>{"PRIV"});
  EXPECT_EQ(ValuesIn("/playback/aBcDeFgH1234/seg_7.ts"), std::vector<std::string>{"12,10,9,9,7"});
  EXPECT_EQ(headcount::testing::ParseTs(Get("/playback/aBcDeFgH1234/seg_7.ts").body)
                .metadata[0]
                .frame_ids,
            std::vector<std::string>{"TXXX"});
  // Served again (another viewer): the same bytes.
  EXPECT_EQ(Get("/playback/aBcDeFgH1234/seg_7.ts").body,
            Get("/playback/aBcDeFgH1234/seg_7.ts").body);
  playback_.OnMetadata(std::string(kId), "a");
  playback_.OnMetadata(std::string(kId), "b");
  WritePlaylist(7, {"seg_7.ts", "seg_8.ts"});
  EXPECT_EQ(ValuesIn("/playback/aBcDeFgH1234/seg_8.ts"), (std::vector<std::string>{"a", "b"}));
  // Every segment declares the metadata stream, with or without a payload.
  EXPECT_TRUE(
      headcount::testing::ParseTs(Get("/playback/aBcDeFgH1234/seg_7.ts").body).metadata_descriptor);
}

TEST_F(PlaybackTest, OfflineUnknownAndBadNamesAre404) {
  EXPECT_EQ(Get("/playback/aBcDeFgH1234.m3u8", /*live=*/false).status, 404);
  EXPECT_EQ(Get("/playback/aBcDeFgH1234/seg_5.ts", /*live=*/false).status, 404);
  EXPECT_EQ(Get("/playback/zzz.m3u8").status, 404);
  EXPECT_EQ(Get("/playback/aBcDeFgH1234/stream.m3u8").status, 404);
  EXPECT_EQ(Get("/playback/aBcDeFgH1234/seg_99.ts").status, 404);
  EXPECT_EQ(Get("/playback/aBcDeFgH1234/.hidden.ts").status, 404);
  EXPECT_EQ(Get("/playback/aBcDeFgH1234/a/b.ts").status, 404);
}

TEST_F(PlaybackTest, ASegmentThatIsNotTransportStreamIs500) {
  Write("seg_6.ts", "not a transport stream");
  EXPECT_EQ(Get("/playback/aBcDeFgH1234/seg_6.ts").status, 500);
}

// The emulator with --playback-dir: GetStream points at the route, PutMetadata
// lands in the stream, an offline channel is a 404.
TEST(EmulatorPlaybackTest, GetStreamPutMetadataAndTheRoute) {
  const WallTime now = std::chrono::sys_days{std::chrono::year{2026} / 11 / 25};
  FakeClock clock(now);
  const fs::path dir =
      fs::temp_directory_path() / ("emulator-playback-" + std::to_string(::getpid()));
  EmulatorOptions options;
  options.channels.count = 1;
  options.playback_dir = dir;
  IvsEmulator emulator(options, clock);
  const std::string arn = emulator.ChannelArns().at(0);
  const std::string id = arn.substr(arn.rfind('/') + 1);
  fs::create_directories(dir / id);
  std::ofstream(dir / id / "stream.m3u8")
      << "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:1,\ns0.ts\n";
  std::ofstream(dir / id / "s0.ts", std::ios::binary) << headcount::testing::MakeSegment();
  std::ofstream(dir / id / "s1.ts", std::ios::binary) << headcount::testing::MakeSegment();

  const nlohmann::json channel = {{"channelArn", arn}};
  const HttpResponse stream =
      emulator.Handle(testing::SignedRequest("GetStream", channel.dump(), now));
  ASSERT_EQ(stream.status, 200) << stream.body;
  EXPECT_EQ(nlohmann::json::parse(stream.body)["stream"]["playbackUrl"],
            "http://127.0.0.1:4510/playback/" + id + ".m3u8");

  const nlohmann::json put = {{"channelArn", arn}, {"metadata", "12,10,9,9,7"}};
  ASSERT_EQ(emulator.Handle(testing::SignedRequest("PutMetadata", put.dump(), now)).status, 204);
  std::ofstream(dir / id / "stream.m3u8")
      << "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:1,\ns0.ts\n"
         "#EXTINF:1,\ns1.ts\n";
  const HttpResponse segment =
      emulator.Handle(testing::TestApiRequest("GET", "/playback/" + id + "/s1.ts"));
  ASSERT_EQ(segment.status, 200) << segment.body;
  const auto ts = headcount::testing::ParseTs(segment.body);
  ASSERT_EQ(ts.metadata.size(), 1u);
  ASSERT_EQ(ts.metadata[0].frames.size(), 1u);
  EXPECT_EQ(ts.metadata[0].frames[0].value, "12,10,9,9,7");

  ASSERT_EQ(emulator
                .Handle(testing::TestApiRequest("POST", "/_emulator/channels/" + id,
                                                R"({"state":"OFFLINE"})"))
                .status,
            200);
  EXPECT_EQ(emulator.Handle(testing::TestApiRequest("GET", "/playback/" + id + ".m3u8")).status,
            404);
  EXPECT_EQ(emulator.Handle(testing::TestApiRequest("GET", "/playback/nope.m3u8")).status, 404);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace headcount::ivs_emulator
