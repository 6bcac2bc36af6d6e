#include "origin/origin.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "core/base64.h"
#include "core/payload.h"
#include "core/testing/files.h"
#include "core/time_text.h"
#include "hls/testdata.h"

namespace headcount {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;
using ::testing::HasSubstr;
using ::testing::Not;

using testing::WriteFile;
void SetModified(const fs::path& p, WallTime t) {
  fs::last_write_time(p, std::chrono::file_clock::from_sys(t));
}

// The value of the session parameter on the first URI line of `playlist`.
std::string SessionOf(std::string_view playlist) {
  const std::size_t at = playlist.find("?hcs=");
  if (at == std::string_view::npos) return "";
  const std::size_t start = at + 5;
  return std::string(playlist.substr(start, kSessionIdChars));
}

std::optional<std::string> Header(const HttpResponse& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return std::nullopt;
}

class OriginTest : public ::testing::Test {
 protected:
  // What a player gets for a media playlist: the wrapper first, then the
  // playlist itself with the session the wrapper handed out.
  HttpResponse PlayerGet(Origin& origin, const std::string& path) {
    const std::string id = SessionOf(origin.Handle(Get(path)).body);
    EXPECT_EQ(id.size(), kSessionIdChars);
    return origin.Handle(Get(path, id));
  }

  OriginTest() {
    std::random_device rd;
    base_ = fs::temp_directory_path() /
            ("hc-origin-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    root_ = base_ / "hls";
    WriteFile(root_ / "demo" / "stream.m3u8", testdata::kFfmpegTsPlaylist);
    WriteFile(root_ / "demo" / "seg_00001.ts", "TS-BYTES");
    WriteFile(root_ / "demo" / "init.mp4", "MP4");
    WriteFile(root_ / "demo" / "stream0.m4s", "M4S");
    WriteFile(root_ / "demo" / "audio.aac", "AAC");
    WriteFile(root_ / "demo" / "subs.vtt", "WEBVTT");
    WriteFile(root_ / "demo" / "master.m3u8", testdata::kMultivariantPlaylist);
    WriteFile(base_ / "secret" / "passwd.ts", "SECRET");
    WriteFile(base_ / "secret" / "stream.m3u8", "#EXTM3U\n#SECRET\n");
    clock_.Set(std::chrono::system_clock::now());
  }
  ~OriginTest() override {
    std::error_code ec;
    fs::remove_all(base_, ec);
  }

  Origin MakeOrigin() const {
    OriginOptions o;
    o.hls_root = root_;
    return Origin(o, clock_);
  }

  static HttpRequest Get(const std::string& path, std::optional<std::string> hcs = std::nullopt,
                         std::string method = "GET") {
    HttpRequest r;
    r.method = std::move(method);
    r.path = path;
    r.target = path;
    if (hcs) {
      r.query.emplace("hcs", *hcs);
      r.target += "?hcs=" + *hcs;
    }
    return r;
  }

  // The segments of kFfmpegTsPlaylist besides seg_00001.ts.
  void WriteOtherSegments() const {
    for (const char* name : {"seg_00002.ts", "seg_00003.ts", "seg_00004.ts"}) {
      WriteFile(root_ / "demo" / name, "TS-BYTES");
    }
  }

  fs::path base_;
  fs::path root_;
  FakeClock clock_;
};

TEST_F(OriginTest, MediaPlaylistWithoutSessionIsWrappedToCarryOne) {
  Origin origin = MakeOrigin();
  const HttpResponse r = origin.Handle(Get("/hls/demo/stream.m3u8"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/vnd.apple.mpegurl");
  EXPECT_EQ(Header(r, "Cache-Control"), "no-cache");
  const std::string id = SessionOf(r.body);
  ASSERT_EQ(id.size(), kSessionIdChars);
  // One variant: the same playlist, with the session. BANDWIDTH is the peak
  // segment rate of the files that exist (seg_00001.ts: 8 bytes in 1 s).
  EXPECT_EQ(r.body, "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=64\nstream.m3u8?hcs=" + id + "\n");
  EXPECT_EQ(origin.ActiveSessions(clock_.Now()), 0);
}

TEST_F(OriginTest, ServesRewrittenMediaPlaylist) {
  Origin origin = MakeOrigin();
  const std::string id = SessionOf(origin.Handle(Get("/hls/demo/stream.m3u8")).body);
  const HttpResponse r = origin.Handle(Get("/hls/demo/stream.m3u8", id));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/vnd.apple.mpegurl");
  EXPECT_EQ(Header(r, "Cache-Control"), "no-cache");
  EXPECT_FALSE(r.file.has_value());
  for (const char* seg : {"seg_00001.ts", "seg_00002.ts", "seg_00003.ts", "seg_00004.ts"}) {
    EXPECT_THAT(r.body, HasSubstr(std::string(seg) + "?hcs=" + id + "\n"));
  }
  // Nothing published yet: no DATERANGE; playlists alone do not make a viewer.
  EXPECT_THAT(r.body, Not(HasSubstr("EXT-X-DATERANGE")));
  EXPECT_EQ(origin.ActiveSessions(clock_.Now()), 0);
}

TEST_F(OriginTest, PlayerFollowingItsSessionCountsOnce) {
  Origin origin = MakeOrigin();
  const std::string id = SessionOf(origin.Handle(Get("/hls/demo/master.m3u8")).body);
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(origin.ActiveSessions(clock_.Now()), 0);

  for (int i = 0; i < 5; ++i) {
    const HttpResponse p = origin.Handle(Get("/hls/demo/stream.m3u8", id));
    ASSERT_EQ(p.status, 200);
    EXPECT_EQ(SessionOf(p.body), id) << "a valid session is kept";
    EXPECT_EQ(origin.Handle(Get("/hls/demo/seg_00001.ts", id)).status, 200);
    clock_.Advance(seconds(1));
  }
  EXPECT_EQ(origin.ActiveSessions(clock_.Now()), 1);

  // A second player.
  const std::string other = SessionOf(origin.Handle(Get("/hls/demo/stream.m3u8")).body);
  ASSERT_NE(other, id);
  ASSERT_EQ(origin.Handle(Get("/hls/demo/stream.m3u8", other)).status, 200);
  EXPECT_EQ(origin.ActiveSessions(clock_.Now()), 1) << "a playlist alone is not a viewer";
  ASSERT_EQ(origin.Handle(Get("/hls/demo/seg_00001.ts", other)).status, 200);
  EXPECT_EQ(origin.ActiveSessions(clock_.Now()), 2);

  // Both stop; after the idle timeout nobody is left.
  clock_.Advance(seconds(31));
  EXPECT_EQ(origin.ActiveSessions(clock_.Now()), 0);
}

TEST_F(OriginTest, OneAddressCountsAtMostItsCap) {
  OriginOptions o;
  o.hls_root = root_;
  o.max_sessions_per_client = 2;
  Origin origin(o, clock_);
  for (int i = 0; i < 5; ++i) {
    const std::string id = SessionOf(origin.Handle(Get("/hls/demo/stream.m3u8")).body);
    HttpRequest seg = Get("/hls/demo/seg_00001.ts", id);
    seg.client_address = "203.0.113.9";
    EXPECT_EQ(origin.Handle(seg).status, 200) << "media is never refused";
  }
  EXPECT_EQ(origin.ActiveSessions(clock_.Now()), 2);
}

TEST_F(OriginTest, ForgedSessionIsReplacedAndNotCounted) {
  Origin origin = MakeOrigin();
  const std::string forged(kSessionIdChars, 'A');
  const HttpResponse r = origin.Handle(Get("/hls/demo/stream.m3u8", forged));
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(SessionOf(r.body), forged);
  EXPECT_EQ(SessionOf(r.body).size(), kSessionIdChars);
  EXPECT_EQ(origin.Handle(Get("/hls/demo/seg_00001.ts", forged)).status, 200);
  EXPECT_EQ(origin.Handle(Get("/hls/demo/seg_00001.ts", "x\"y")).status, 200);

  // Another channel's id does not count here either.
  WriteFile(root_ / "other" / "stream.m3u8", testdata::kFfmpegTsPlaylist);
  const std::string theirs = SessionOf(origin.Handle(Get("/hls/other/stream.m3u8")).body);
  const HttpResponse mine = origin.Handle(Get("/hls/demo/stream.m3u8", theirs));
  EXPECT_NE(SessionOf(mine.body), theirs);
  EXPECT_EQ(origin.ActiveSessions(clock_.Now()), 0);
}

// What a player does after each reload of a media playlist: fetch every
// segment it lists, with the session query on its URI, from `client`.
void FetchSegmentsOf(Origin& origin, std::string_view playlist, const std::string& client) {
  std::istringstream lines{std::string(playlist)};
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line.front() == '#') continue;
    const std::size_t query = line.find("?hcs=");
    ASSERT_NE(query, std::string::npos) << line;
    HttpRequest r;
    r.method = "GET";
    r.path = "/hls/demo/" + line.substr(0, query);
    r.target = "/hls/demo/" + line;
    r.query.emplace("hcs", line.substr(query + 5));
    r.client_address = client;
    EXPECT_EQ(origin.Handle(r).status, 200) << line;
  }
}

TEST_F(OriginTest, ForeignSessionReloadedManyTimesCountsOnce) {
  // A player holds an id that no longer verifies here: signed with a key
  // since lost or rotated, or by another node. It stays in the player's
  // playlist URL for as long as it plays.
  WriteOtherSegments();
  Origin origin = MakeOrigin();
  Origin old_key = MakeOrigin();  // a random key of its own
  const std::string foreign = SessionOf(old_key.Handle(Get("/hls/demo/stream.m3u8")).body);
  ASSERT_EQ(foreign.size(), kSessionIdChars);
  const std::string player = "198.51.100.7";

  std::set<std::string> ids_handed_out;
  for (int reload = 0; reload < 20; ++reload) {
    HttpRequest request = Get("/hls/demo/stream.m3u8", foreign);
    request.client_address = player;
    const HttpResponse playlist = origin.Handle(request);
    ASSERT_EQ(playlist.status, 200);
    ids_handed_out.insert(SessionOf(playlist.body));
    FetchSegmentsOf(origin, playlist.body, player);
    clock_.Advance(seconds(1));
  }
  EXPECT_EQ(ids_handed_out.size(), 1u) << "the same replacement on every reload";
  EXPECT_NE(*ids_handed_out.begin(), foreign);
  EXPECT_EQ(origin.ActiveSessions(clock_.Now()), 1);
  SetModified(root_ / "demo" / "stream.m3u8", clock_.Now());
  const Result<std::vector<ChannelReading>> live = origin.Poll(clock_.Now(), Deadline::None());
  ASSERT_TRUE(live.ok());
  ASSERT_EQ(live->size(), 1u);
  EXPECT_EQ((*live)[0].viewers, 1);

  // Another channel's id and garbage are replaced the same way.
  WriteFile(root_ / "other" / "stream.m3u8", testdata::kFfmpegTsPlaylist);
  const std::string theirs = SessionOf(origin.Handle(Get("/hls/other/stream.m3u8")).body);
  for (const std::string& bad : {theirs, std::string("not-an-id"), std::string(5000, 'x')}) {
    HttpRequest request = Get("/hls/demo/stream.m3u8", bad);
    request.client_address = player;
    const std::string first = SessionOf(origin.Handle(request).body);
    EXPECT_EQ(SessionOf(origin.Handle(request).body), first);
  }
}

TEST_F(OriginTest, ForeignIdsDoNotLiftTheCapOfAnAddress) {
  // Every made-up id gets its own replacement: one address presenting new
  // ones is held to its cap, as one minting fresh ids is.
  OriginOptions o;
  o.hls_root = root_;
  o.max_sessions_per_client = 3;
  Origin origin(o, clock_);
  WriteOtherSegments();
  for (int i = 0; i < 20; ++i) {
    HttpRequest request = Get("/hls/demo/stream.m3u8", "made-up-" + std::to_string(i));
    request.client_address = "203.0.113.9";
    const HttpResponse playlist = origin.Handle(request);
    ASSERT_EQ(playlist.status, 200);
    FetchSegmentsOf(origin, playlist.body, "203.0.113.9");
  }
  EXPECT_EQ(origin.ActiveSessions(clock_.Now()), 3);
}

TEST_F(OriginTest, ServesSegmentsAsFilesWithTheirTypes) {
  Origin origin = MakeOrigin();
  const struct {
    const char* name;
    const char* type;
  } cases[] = {{"seg_00001.ts", "video/mp2t"},
               {"stream0.m4s", "video/iso.segment"},
               {"init.mp4", "video/mp4"},
               {"audio.aac", "audio/aac"},
               {"subs.vtt", "text/vtt"}};
  for (const auto& c : cases) {
    const HttpResponse r = origin.Handle(Get(std::string("/hls/demo/") + c.name));
    ASSERT_EQ(r.status, 200) << c.name;
    EXPECT_EQ(r.content_type, c.type);
    ASSERT_TRUE(r.file.has_value());
    EXPECT_EQ(*r.file, fs::canonical(root_ / "demo" / c.name));
    EXPECT_EQ(Header(r, "Cache-Control"), "max-age=60");
  }
}

// Request-mode CMCD in the query: the playlist and the segment are served
// as without it, and the session counts as it would.
TEST_F(OriginTest, RequestModeCmcdIsServedAsWithoutIt) {
  Origin origin = MakeOrigin();
  const std::string id = SessionOf(origin.Handle(Get("/hls/demo/stream.m3u8")).body);
  ASSERT_FALSE(id.empty());
  const auto with_cmcd = [&](const std::string& path) {
    HttpRequest r = Get(path, id);
    r.query.emplace("CMCD", "bl=21300,br=3200,ot=v,sid=\"6e2fb550\"");
    r.target += "&CMCD=bl%3D21300%2Cbr%3D3200%2Cot%3Dv%2Csid%3D%226e2fb550%22";
    r.headers["cmcd-session"] = "sid=\"6e2fb550\"";
    return origin.Handle(r);
  };
  const HttpResponse playlist = with_cmcd("/hls/demo/stream.m3u8");
  EXPECT_EQ(playlist.status, 200);
  EXPECT_EQ(playlist.body, origin.Handle(Get("/hls/demo/stream.m3u8", id)).body);
  const HttpResponse segment = with_cmcd("/hls/demo/seg_00001.ts");
  EXPECT_EQ(segment.status, 200);
  ASSERT_TRUE(segment.file.has_value());
  EXPECT_EQ(*segment.file, fs::canonical(root_ / "demo" / "seg_00001.ts"));
  EXPECT_EQ(origin.ActiveSessions(clock_.Now()), 1);
}

TEST_F(OriginTest, HeadIsServedAndNotCounted) {
  Origin origin = MakeOrigin();
  const std::string id = SessionOf(origin.Handle(Get("/hls/demo/stream.m3u8")).body);
  const HttpResponse p = origin.Handle(Get("/hls/demo/stream.m3u8", id, "HEAD"));
  EXPECT_EQ(p.status, 200);
  EXPECT_EQ(p.content_type, "application/vnd.apple.mpegurl");
  EXPECT_EQ(SessionOf(p.body), id);
  const HttpResponse s = origin.Handle(Get("/hls/demo/seg_00001.ts", id, "HEAD"));
  EXPECT_EQ(s.status, 200);
  EXPECT_TRUE(s.file.has_value());
  EXPECT_EQ(origin.ActiveSessions(clock_.Now()), 0);
}

TEST_F(OriginTest, OtherMethodsAre405WithAllow) {
  Origin origin = MakeOrigin();
  for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS", "get"}) {
    const HttpResponse r = origin.Handle(Get("/hls/demo/stream.m3u8", std::nullopt, method));
    EXPECT_EQ(r.status, 405) << method;
    EXPECT_EQ(Header(r, "Allow"), "GET, HEAD");
    EXPECT_EQ(r.content_type, "application/json");
  }
}

TEST_F(OriginTest, MissingFileIs404Json) {
  Origin origin = MakeOrigin();
  for (const char* path : {"/hls/demo/seg_99999.ts", "/hls/demo/nope.m3u8", "/hls/nobody/a.ts"}) {
    const HttpResponse r = origin.Handle(Get(path));
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_EQ(r.body, R"({"error":"not found"})");
    EXPECT_FALSE(r.file.has_value());
  }
}

TEST_F(OriginTest, NeverServesAnythingOutsideTheRoot) {
  // Symlinks inside the root that lead out of it.
  fs::create_symlink(base_ / "secret" / "passwd.ts", root_ / "demo" / "link.ts");
  fs::create_symlink(base_ / "secret" / "stream.m3u8", root_ / "demo" / "link.m3u8");
  fs::create_directory_symlink(base_ / "secret", root_ / "escape");
  // A symlink that stays inside is fine.
  fs::create_symlink(root_ / "demo" / "seg_00001.ts", root_ / "demo" / "alias.ts");

  Origin origin = MakeOrigin();
  const std::string nul_path = std::string("/hls/demo/seg_00001") + '\0' + ".ts";
  const std::string nul_channel = std::string("/hls/de") + '\0' + "mo/seg_00001.ts";
  for (const std::string& path : {std::string("/hls/../x"),
                                  std::string("/hls/../secret/passwd.ts"),
                                  std::string("/hls/demo/../../secret/passwd.ts"),
                                  std::string("/hls/demo/.."),
                                  std::string("/hls/../hls/demo/seg_00001.ts"),
                                  std::string("/hls/./demo/seg_00001.ts"),
                                  std::string("/hls//secret/passwd.ts"),
                                  std::string("/hls/demo//etc/passwd.ts"),
                                  base_.string() + "/secret/passwd.ts",
                                  "/hls/demo/" + (base_ / "secret/passwd.ts").string(),
                                  std::string("/hls/demo/.hidden.ts"),
                                  std::string("/hls/demo/..ts"),
                                  std::string("/hls/demo/seg_00001.ts/"),
                                  std::string("/hls/demo/seg_00001.ts/x.ts"),
                                  std::string("/hls/demo/a\\..\\..\\secret.ts"),
                                  std::string("/hls/demo/stream.M3U8"),
                                  std::string("/hls/demo/notes.txt"),
                                  std::string("/hls/demo"),
                                  std::string("/hls/"),
                                  std::string("/hls"),
                                  std::string("/other/demo/seg_00001.ts"),
                                  std::string("/hlsx/demo/seg_00001.ts"),
                                  nul_path,
                                  nul_channel,
                                  std::string("/hls/demo/link.ts"),
                                  std::string("/hls/demo/link.m3u8"),
                                  std::string("/hls/escape/passwd.ts"),
                                  std::string("/hls/escape/stream.m3u8"),
                                  "/hls/" + std::string(65, 'c') + "/seg_00001.ts",
                                  "/hls/demo/" + std::string(130, 's') + ".ts"}) {
    const HttpResponse r = origin.Handle(Get(path));
    EXPECT_TRUE(r.status == 404 || r.status == 400) << path << " -> " << r.status;
    EXPECT_FALSE(r.file.has_value()) << path;
    EXPECT_THAT(r.body, Not(HasSubstr("SECRET"))) << path;
    EXPECT_THAT(r.body, Not(HasSubstr(base_.string()))) << path;
  }
  const HttpResponse alias = origin.Handle(Get("/hls/demo/alias.ts"));
  EXPECT_EQ(alias.status, 200);
  EXPECT_EQ(alias.file, fs::canonical(root_ / "demo" / "seg_00001.ts"));
}

TEST_F(OriginTest, ErrorsDoNotLeakPaths) {
  WriteFile(root_ / "demo" / "broken.m3u8", "not a playlist");
  WriteFile(root_ / "demo" / "huge.m3u8", std::string(kMaxPlaylistBytes + 1, '#'));
  Origin origin = MakeOrigin();
  const HttpResponse broken = origin.Handle(Get("/hls/demo/broken.m3u8"));
  EXPECT_GE(broken.status, 500);
  EXPECT_THAT(broken.body, Not(HasSubstr(root_.string())));
  const HttpResponse huge = origin.Handle(Get("/hls/demo/huge.m3u8"));
  EXPECT_EQ(huge.status, 500);
  EXPECT_THAT(huge.body, Not(HasSubstr(root_.string())));
}

TEST_F(OriginTest, PollReportsFreshChannelsWithTheirViewers) {
  WriteFile(root_ / "stale" / "stream.m3u8", testdata::kFfmpegTsPlaylist);
  WriteFile(root_ / "quiet" / "stream.m3u8", testdata::kFfmpegTsPlaylist);
  WriteFile(root_ / "no-playlist" / "seg_00001.ts", "TS");
  WriteFile(root_ / "bad name" / "stream.m3u8", testdata::kFfmpegTsPlaylist);
  WriteFile(root_ / "loose.m3u8", testdata::kFfmpegTsPlaylist);
  fs::create_directory_symlink(base_ / "secret", root_ / "linked");
  Origin origin = MakeOrigin();

  // A viewer of "stale" who left 40 s ago.
  const std::string gone = SessionOf(origin.Handle(Get("/hls/stale/stream.m3u8")).body);
  ASSERT_EQ(origin.Handle(Get("/hls/stale/stream.m3u8", gone)).status, 200);
  clock_.Advance(seconds(40));
  // Two players on "demo".
  for (int p = 0; p < 2; ++p) {
    const std::string id = SessionOf(origin.Handle(Get("/hls/demo/stream.m3u8")).body);
    ASSERT_EQ(origin.Handle(Get("/hls/demo/seg_00001.ts", id)).status, 200);
  }
  // A probe that fetched one playlist of "quiet" only.
  ASSERT_EQ(origin.Handle(Get("/hls/quiet/stream.m3u8")).status, 200);

  const WallTime now = clock_.Now();
  SetModified(root_ / "demo" / "stream.m3u8", now - seconds(2));
  SetModified(root_ / "demo" / "master.m3u8", now - seconds(3600));
  SetModified(root_ / "stale" / "stream.m3u8", now - seconds(31));
  SetModified(root_ / "quiet" / "stream.m3u8", now);
  SetModified(root_ / "bad name" / "stream.m3u8", now);
  SetModified(root_ / "loose.m3u8", now);
  SetModified(base_ / "secret" / "stream.m3u8", now);

  const Result<std::vector<ChannelReading>> live = origin.Poll(now, Deadline::None());
  ASSERT_TRUE(live.ok()) << live.error().ToString();
  ASSERT_EQ(live->size(), 2u);
  EXPECT_EQ((*live)[0].channel, "demo");
  EXPECT_EQ((*live)[0].viewers, 2);
  EXPECT_EQ((*live)[1].channel, "quiet");
  EXPECT_EQ((*live)[1].viewers, 0);

  // Once the files go quiet the channel is offline.
  const Result<std::vector<ChannelReading>> later =
      origin.Poll(now + seconds(31), Deadline::None());
  ASSERT_TRUE(later.ok());
  EXPECT_TRUE(later->empty());
}

TEST_F(OriginTest, PollFailsWhenTheRootIsMissing) {
  OriginOptions o;
  o.hls_root = base_ / "does-not-exist";
  Origin origin(o, clock_);
  const Result<std::vector<ChannelReading>> live = origin.Poll(clock_.Now(), Deadline::None());
  ASSERT_FALSE(live.ok());
  EXPECT_EQ(live.error().code(), ErrorCode::kIo);
  EXPECT_EQ(origin.Handle(Get("/hls/demo/stream.m3u8")).status, 404);
}

TEST_F(OriginTest, PublishedPayloadRidesInTheMediaPlaylist) {
  Origin origin = MakeOrigin();
  Summary summary;
  summary.channel = "demo";
  summary.at = std::chrono::floor<std::chrono::minutes>(clock_.Now());
  summary.counts = {1, 2, std::nullopt, 4, 5};
  summary.trend = Trend::kRising;
  const std::string payload = EncodePayloadV1(summary);
  const Result<PublishOutcome> outcome = origin.Publish(summary, payload);
  ASSERT_TRUE(outcome.ok());
  EXPECT_TRUE(outcome->published);

  const HttpResponse r = PlayerGet(origin, "/hls/demo/stream.m3u8");
  ASSERT_EQ(r.status, 200);
  const std::string tag_start = "#EXT-X-DATERANGE:ID=\"" + DateRangeId(summary.at) +
                                "\",CLASS=\"com.headcount.viewers\",START-DATE=\"" +
                                FormatRfc3339Millis(WallTime(summary.at)) + "\",X-HEADCOUNT=\"";
  const std::size_t at = r.body.find(tag_start);
  ASSERT_NE(at, std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("#EXT-X-DATERANGE", at + 1), std::string::npos) << "exactly one";
  EXPECT_LT(at, r.body.find("#EXTINF"));
  const std::size_t b64 = at + tag_start.size();
  const Result<std::string> decoded = Base64Decode(r.body.substr(b64, r.body.find('"', b64) - b64));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, payload);

  // Not in multivariant playlists, not in other channels.
  EXPECT_THAT(origin.Handle(Get("/hls/demo/master.m3u8")).body, Not(HasSubstr("DATERANGE")));
  WriteFile(root_ / "other" / "stream.m3u8", testdata::kFfmpegTsPlaylist);
  EXPECT_THAT(PlayerGet(origin, "/hls/other/stream.m3u8").body, Not(HasSubstr("DATERANGE")));

  // The next minute replaces it.
  summary.at += std::chrono::minutes(1);
  ASSERT_TRUE(origin.Publish(summary, EncodePayloadV1(summary)).ok());
  const std::string next = PlayerGet(origin, "/hls/demo/stream.m3u8").body;
  EXPECT_THAT(next, HasSubstr("ID=\"" + DateRangeId(summary.at) + "\""));
  EXPECT_THAT(next, Not(HasSubstr(DateRangeId(summary.at - std::chrono::minutes(1)))));

  // A payload nobody refreshed for kMaxPayloadAge is no longer shown.
  clock_.Advance(kMaxPayloadAge + std::chrono::minutes(2));
  EXPECT_THAT(PlayerGet(origin, "/hls/demo/stream.m3u8").body, Not(HasSubstr("DATERANGE")));
}

// The origin keeps the last read of a playlist and its rewrite: whatever it
// keeps, every request gets what a fresh read and rewrite would give.
TEST_F(OriginTest, ServesTheCurrentPlaylistAfterItChanges) {
  Origin origin = MakeOrigin();
  const std::string id = SessionOf(origin.Handle(Get("/hls/demo/stream.m3u8")).body);
  const std::string first = origin.Handle(Get("/hls/demo/stream.m3u8", id)).body;
  EXPECT_THAT(first, HasSubstr("seg_00004.ts?hcs=" + id + "\n"));
  // Another session gets the same playlist with its own id.
  const std::string other = SessionOf(origin.Handle(Get("/hls/demo/stream.m3u8")).body);
  std::string expected = first;
  for (std::size_t at; (at = expected.find(id)) != std::string::npos;) {
    expected.replace(at, id.size(), other);
  }
  EXPECT_EQ(origin.Handle(Get("/hls/demo/stream.m3u8", other)).body, expected);

  // ffmpeg with temp_file: a new file renamed over the old one.
  std::string next(testdata::kFfmpegTsPlaylist);
  next += "#EXTINF:1.000000,\nseg_00005.ts\n";
  WriteFile(root_ / "demo" / "stream.m3u8.tmp", next);
  fs::rename(root_ / "demo" / "stream.m3u8.tmp", root_ / "demo" / "stream.m3u8");
  EXPECT_THAT(origin.Handle(Get("/hls/demo/stream.m3u8", id)).body,
              HasSubstr("seg_00005.ts?hcs=" + id + "\n"));
  // Without temp_file: rewritten in place.
  next += "#EXTINF:1.000000,\nseg_00006.ts\n";
  WriteFile(root_ / "demo" / "stream.m3u8", next);
  EXPECT_THAT(origin.Handle(Get("/hls/demo/stream.m3u8", id)).body,
              HasSubstr("seg_00006.ts?hcs=" + id + "\n"));
  // Gone: 404, not the kept copy.
  fs::remove(root_ / "demo" / "stream.m3u8");
  EXPECT_EQ(origin.Handle(Get("/hls/demo/stream.m3u8", id)).status, 404);
  // The whole root replaced by another folder.
  fs::rename(root_, base_ / "old-hls");
  WriteFile(root_ / "demo" / "stream.m3u8", testdata::kFfmpegFmp4Playlist);
  EXPECT_THAT(origin.Handle(Get("/hls/demo/stream.m3u8", id)).body,
              HasSubstr("stream2.m4s?hcs=" + id + "\n"));
}

TEST_F(OriginTest, PublishRejectsBadInput) {
  Origin origin = MakeOrigin();
  Summary summary;
  summary.channel = "../demo";
  EXPECT_FALSE(origin.Publish(summary, "{}").ok());
  summary.channel = "demo";
  EXPECT_FALSE(origin.Publish(summary, std::string(kMaxPayloadBytes + 1, 'x')).ok());
}

TEST_F(OriginTest, CustomPrefix) {
  OriginOptions o;
  o.hls_root = root_;
  o.url_prefix = "/live/";
  Origin origin(o, clock_);
  EXPECT_EQ(origin.url_prefix(), "/live");
  EXPECT_EQ(origin.Handle(Get("/live/demo/seg_00001.ts")).status, 200);
  EXPECT_EQ(origin.Handle(Get("/hls/demo/seg_00001.ts")).status, 404);
}

TEST(OriginNamesTest, ChannelAndFileNames) {
  EXPECT_TRUE(IsValidChannelId("demo_1-A"));
  EXPECT_TRUE(IsValidChannelId(std::string(kMaxChannelIdBytes, 'a')));
  EXPECT_FALSE(IsValidChannelId(std::string(kMaxChannelIdBytes + 1, 'a')));
  EXPECT_FALSE(IsValidChannelId(""));
  EXPECT_FALSE(IsValidChannelId("a.b"));
  EXPECT_FALSE(IsValidChannelId(".."));
  EXPECT_TRUE(IsServableFileName("seg_00001.ts"));
  EXPECT_TRUE(IsServableFileName("stream.m3u8"));
  EXPECT_FALSE(IsServableFileName(".m3u8"));
  EXPECT_FALSE(IsServableFileName("stream.m3u8.tmp"));  // ffmpeg's temp_file
  EXPECT_FALSE(IsServableFileName("a b.ts"));
  EXPECT_FALSE(IsServableFileName("ts"));
}

}  // namespace
}  // namespace headcount
