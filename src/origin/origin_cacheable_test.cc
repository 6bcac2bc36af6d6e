// The origin with OriginOptions::cacheable (--count heartbeats): the same
// answer for every viewer, with headers that let a CDN cache it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <string>

#include "core/payload.h"
#include "hls/testdata.h"
#include "origin/origin.h"

namespace headcount {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

// ffmpeg's playlist with a 4 s target duration.
std::string FourSecondPlaylist() {
  std::string p(testdata::kFfmpegTsPlaylist);
  p.replace(p.find("TARGETDURATION:1"), 16, "TARGETDURATION:4");
  return p;
}

class CacheableOriginTest : public ::testing::Test {
 protected:
  CacheableOriginTest() {
    std::random_device rd;
    root_ = fs::temp_directory_path() /
            ("hc-cacheable-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    fs::create_directories(root_ / "demo");
    std::ofstream(root_ / "demo" / "stream.m3u8") << FourSecondPlaylist();
    std::ofstream(root_ / "demo" / "master.m3u8") << testdata::kMultivariantPlaylist;
    std::ofstream(root_ / "demo" / "seg_00001.ts") << "TS-BYTES";
    clock_.Set(std::chrono::system_clock::now());
  }
  ~CacheableOriginTest() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  Origin MakeCacheableOrigin(bool cacheable = true) const {
    OriginOptions o;
    o.hls_root = root_;
    o.cacheable = cacheable;
    o.segment_metadata = false;
    return Origin(o, clock_);
  }
  static HttpRequest CacheableGet(const std::string& path, const std::string& client = "") {
    HttpRequest r;
    r.method = "GET";
    r.path = path;
    r.target = path;
    r.client_address = client;
    return r;
  }
  static std::optional<std::string> CacheControl(const HttpResponse& r) {
    for (const auto& [k, v] : r.headers) {
      if (k == "Cache-Control") return v;
    }
    return std::nullopt;
  }

  fs::path root_;
  FakeClock clock_;
};

TEST_F(CacheableOriginTest, PlaylistsCarryNoSessionAndAreTheSameForEveryViewer) {
  Origin origin = MakeCacheableOrigin();
  Summary summary;
  summary.channel = "demo";
  summary.at = std::chrono::floor<std::chrono::minutes>(clock_.Now());
  summary.counts = {1, 2, 3, 4, 5};
  ASSERT_TRUE(origin.Publish(summary, EncodePayloadV1(summary)).ok());

  const HttpResponse a = origin.Handle(CacheableGet("/hls/demo/stream.m3u8", "198.51.100.1"));
  const HttpResponse b = origin.Handle(CacheableGet("/hls/demo/stream.m3u8", "203.0.113.2"));
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.body, b.body);
  EXPECT_THAT(a.body, Not(HasSubstr("hcs=")));
  EXPECT_THAT(a.body, Not(HasSubstr("STREAM-INF")));    // not wrapped: the media playlist itself
  EXPECT_THAT(a.body, HasSubstr("#EXT-X-DATERANGE:"));  // the payload stays
  EXPECT_THAT(a.body, HasSubstr("\nseg_00001.ts\n"));
  // Half the target duration, and stale for no longer than that again.
  EXPECT_EQ(CacheControl(a), "public, max-age=2, stale-while-revalidate=2");

  const HttpResponse master = origin.Handle(CacheableGet("/hls/demo/master.m3u8"));
  ASSERT_EQ(master.status, 200);
  EXPECT_THAT(master.body, Not(HasSubstr("hcs=")));
  EXPECT_EQ(CacheControl(master), "public, max-age=30, stale-while-revalidate=30");

  const HttpResponse segment = origin.Handle(CacheableGet("/hls/demo/seg_00001.ts"));
  ASSERT_EQ(segment.status, 200);
  EXPECT_EQ(CacheControl(segment), "public, max-age=86400, immutable");
  EXPECT_EQ(origin.ActiveSessions(clock_.Now()), 0);
}

TEST_F(CacheableOriginTest, SessionsModeKeepsItsPrivateAnswers) {
  Origin origin = MakeCacheableOrigin(/*cacheable=*/false);
  const HttpResponse r = origin.Handle(CacheableGet("/hls/demo/stream.m3u8"));
  EXPECT_THAT(r.body, HasSubstr("hcs="));
  EXPECT_EQ(CacheControl(r), "no-cache");
  EXPECT_EQ(CacheControl(origin.Handle(CacheableGet("/hls/demo/seg_00001.ts"))), "max-age=60");
}

}  // namespace
}  // namespace headcount
