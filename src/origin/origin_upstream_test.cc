// The origin's proxy mode against a scripted upstream (the HTTP client's
// test server): rewriting, single flight, caching, errors, LL-HLS
// pass-through and channels.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "core/tick.h"
#include "hls/testing/fmp4_fixture.h"
#include "http_client/testing/test_server.h"
#include "origin/origin.h"
#include "origin/testing/drained.h"
#include "origin/testing/origin_calls.h"
#include "server/testing/answer.h"

namespace headcount {
namespace upstream_proxy_test {

using http_client::testing::ReceivedRequest;
using http_client::testing::ScriptedResponse;
using http_client::testing::TestServer;
using http_testing::HasHeader;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::string_view kMediaPlaylist =
    "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:1\n"
    "#EXT-X-PROGRAM-DATE-TIME:2026-12-07T12:00:00.000Z\n"
    "#EXTINF:4.0,\ns1.ts\n#EXTINF:4.0,\nhttp://127.0.0.1:{PORT}/live/cam/s2.ts\n"
    "#EXTINF:4.0,\n/live/cam/s3.ts\n#EXTINF:4.0,\nhttp://cdn.example/s4.ts\n";

// The upstream: answers from `files` (by target without query), counts
// requests per target, can be slowed down.
class Upstream {
 public:
  Upstream()
      : server_([this](const ReceivedRequest& r) {
          std::lock_guard lock(mu_);
          const std::string path = r.target.substr(0, r.target.find('?'));
          ScriptedResponse answer;
          const auto it = files_.find(path);
          if (it == files_.end()) {
            answer.status = 404;
          } else {
            answer = it->second;
          }
          if (delay_.count() > 0) answer.delay = delay_;
          return answer;
        }) {}

  void Put(const std::string& path, std::string body, int status = 200,
           http_client::HttpHeaders headers = {},
           std::chrono::milliseconds delay = std::chrono::milliseconds(0)) {
    std::lock_guard lock(mu_);
    std::string text = std::move(body);
    for (std::size_t at; (at = text.find("{PORT}")) != std::string::npos;) {
      text.replace(at, 6, std::to_string(server_.port()));
    }
    files_[path] = ScriptedResponse{
        .status = status, .body = text, .headers = std::move(headers), .delay = delay};
  }
  void SetDelay(std::chrono::milliseconds d) {
    std::lock_guard lock(mu_);
    delay_ = d;
  }
  int RequestsFor(std::string_view path) const {
    int n = 0;
    for (const ReceivedRequest& r : server_.requests()) {
      if (r.target.substr(0, r.target.find('?')) == path) ++n;
    }
    return n;
  }
  std::vector<ReceivedRequest> requests() const { return server_.requests(); }
  int port() const { return server_.port(); }
  std::string Template() const {
    return "http://127.0.0.1:" + std::to_string(port()) + "/live/{channel}/";
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, ScriptedResponse> files_;
  std::chrono::milliseconds delay_{0};
  TestServer server_;
};

HttpRequest ProxyGet(const std::string& target, const std::string& client = "10.0.0.1") {
  return testing::GetRequest(target, client);
}

using testing::Start;

// The answer to `request`, its body read whole if it was streamed.
HttpResponse Call(Origin& origin, const HttpRequest& request) {
  return testing::WithWholeBody(Start(origin, request).get());
}

std::string SessionIn(std::string_view playlist) {
  const std::size_t at = playlist.find("hcs=");
  return at == std::string_view::npos ? "" : std::string(playlist.substr(at + 4, kSessionIdChars));
}

class UpstreamProxyTest : public ::testing::Test {
 protected:
  std::unique_ptr<Origin> MakeProxy(const std::string& upstream_template,
                                    std::vector<std::string> channels = {},
                                    std::chrono::milliseconds timeout = std::chrono::seconds(5),
                                    bool segment_metadata = false,
                                    std::size_t max_connections = kDefaultUpstreamConnections) {
    OriginOptions options;
    options.session_key = "upstream-proxy-test-key";
    options.segment_metadata = segment_metadata;
    options.upstream = *UpstreamTemplate::Parse(upstream_template);
    options.upstream_channels = std::move(channels);
    options.cacheable = cacheable_;
    UpstreamFetcherOptions fetcher_options;
    fetcher_options.timeout = timeout;
    fetcher_options.max_connections = max_connections;
    fetcher_options.on_fetch = [this](UpstreamKind kind, std::string_view outcome) {
      std::lock_guard lock(events_mu_);
      ++fetches_[std::string(UpstreamKindName(kind)) + " " + std::string(outcome)];
    };
    auto fetcher = UpstreamFetcher::Create(fetcher_options, clock_);
    EXPECT_TRUE(fetcher.ok());
    return std::make_unique<Origin>(options, clock_, std::move(*fetcher));
  }

  // A session id, as a player gets it from the wrapper.
  std::string SessionFor(Origin& proxy, const std::string& playlist_target) {
    const HttpResponse wrapper = Call(proxy, ProxyGet(playlist_target));
    EXPECT_EQ(wrapper.status, 200);
    EXPECT_THAT(wrapper.body, HasSubstr("#EXT-X-STREAM-INF"));
    return SessionIn(wrapper.body);
  }

  int Fetches(const std::string& key) {
    std::lock_guard lock(events_mu_);
    return fetches_[key];
  }

  bool cacheable_ = false;  // --count heartbeats
  FakeClock clock_{WallTime{std::chrono::hours(24 * 20000)}};
  Upstream upstream_;
  std::mutex events_mu_;
  std::map<std::string, int> fetches_;
};

TEST_F(UpstreamProxyTest, PlaylistUrisToTheUpstreamGoThroughTheProxyOthersAreLeftAlone) {
  upstream_.Put("/live/cam/index.m3u8", std::string(kMediaPlaylist));
  auto proxy = MakeProxy(upstream_.Template());
  const std::string id = SessionFor(*proxy, "/hls/cam/index.m3u8");
  ASSERT_EQ(id.size(), kSessionIdChars);
  const HttpResponse r = Call(*proxy, ProxyGet("/hls/cam/index.m3u8?hcs=" + id));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/vnd.apple.mpegurl");
  EXPECT_THAT(r.body, HasSubstr("\ns1.ts?hcs=" + id + "\n"));
  EXPECT_THAT(r.body, HasSubstr("\n/hls/cam/s2.ts?hcs=" + id + "\n"));
  EXPECT_THAT(r.body, HasSubstr("\n/hls/cam/s3.ts?hcs=" + id + "\n"));
  EXPECT_THAT(r.body, HasSubstr("\nhttp://cdn.example/s4.ts\n"));
  EXPECT_THAT(r.body, Not(HasSubstr(std::to_string(upstream_.port()))));
  EXPECT_THAT(r.body, HasSubstr("#EXT-X-PROGRAM-DATE-TIME"));
}

TEST_F(UpstreamProxyTest, PublishedPayloadIsInTheProxiedPlaylistAsDateRange) {
  upstream_.Put("/live/cam/index.m3u8", std::string(kMediaPlaylist));
  auto proxy = MakeProxy(upstream_.Template());
  Summary summary;
  summary.channel = "cam";
  summary.at = std::chrono::floor<std::chrono::seconds>(clock_.Now());
  ASSERT_TRUE(proxy->Publish(summary, R"({"v":1})").ok());
  const std::string id = SessionFor(*proxy, "/hls/cam/index.m3u8");
  const HttpResponse r = Call(*proxy, ProxyGet("/hls/cam/index.m3u8?hcs=" + id));
  EXPECT_THAT(r.body, HasSubstr("#EXT-X-DATERANGE:ID=\"hc-"));
}

TEST_F(UpstreamProxyTest, Fmp4SegmentsOfTheUpstreamGetTheEmsgInitSectionsDoNot) {
  // MediaMTX names its fMP4 segments .mp4, like its init section.
  upstream_.Put("/live/cam/index.m3u8",
                "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MAP:URI=\"init.mp4\"\n"
                "#EXTINF:1,\nseg_1.mp4\n#EXTINF:1,\nseg_2.m4s\n");
  const std::string init = testing::MakeInit();
  const std::string segment = testing::MakeMediaSegment(900000, 480000);
  upstream_.Put("/live/cam/init.mp4", init);
  upstream_.Put("/live/cam/seg_1.mp4", segment);
  upstream_.Put("/live/cam/seg_2.m4s", segment);
  auto proxy = MakeProxy(upstream_.Template(), {}, std::chrono::seconds(5),
                         /*segment_metadata=*/true);
  Summary summary;
  summary.channel = "cam";
  summary.at = std::chrono::floor<std::chrono::seconds>(clock_.Now());
  ASSERT_TRUE(proxy->Publish(summary, R"({"v":1})").ok());
  ASSERT_EQ(Call(*proxy, ProxyGet("/hls/cam/index.m3u8")).status, 200);  // the map is known
  for (const char* name : {"seg_1.mp4", "seg_2.m4s"}) {
    const HttpResponse r = Call(*proxy, ProxyGet(std::string("/hls/cam/") + name));
    ASSERT_EQ(r.status, 200) << name;
    const std::string_view body = r.BodyView();
    EXPECT_NE(body.find("emsg"), std::string::npos) << name;
    EXPECT_NE(body.find("aomedia.org/emsg/ID3"), std::string::npos) << name;
    EXPECT_EQ(body.substr(body.find("moof")), segment.substr(segment.find("moof"))) << name;
  }
  EXPECT_EQ(Call(*proxy, ProxyGet("/hls/cam/init.mp4")).BodyView(), init);
}

TEST_F(UpstreamProxyTest, IdenticalConcurrentPlaylistRequestsShareOneUpstreamRequest) {
  upstream_.Put("/live/cam/index.m3u8", std::string(kMediaPlaylist));
  upstream_.SetDelay(std::chrono::milliseconds(300));
  auto proxy = MakeProxy(upstream_.Template());
  std::vector<std::future<HttpResponse>> answers;
  for (int i = 0; i < 20; ++i) {
    answers.push_back(Start(*proxy, ProxyGet("/hls/cam/index.m3u8?hcs=x" + std::to_string(i))));
  }
  for (auto& a : answers) EXPECT_EQ(a.get().status, 200);
  EXPECT_EQ(upstream_.RequestsFor("/live/cam/index.m3u8"), 1);

  // Reused within half the target duration (4 s)...
  upstream_.SetDelay(std::chrono::milliseconds(0));
  clock_.Advance(std::chrono::milliseconds(1900));
  EXPECT_EQ(Call(*proxy, ProxyGet("/hls/cam/index.m3u8")).status, 200);
  EXPECT_EQ(upstream_.RequestsFor("/live/cam/index.m3u8"), 1);
  // ...and fetched again after it.
  clock_.Advance(std::chrono::milliseconds(200));
  EXPECT_EQ(Call(*proxy, ProxyGet("/hls/cam/index.m3u8")).status, 200);
  EXPECT_EQ(upstream_.RequestsFor("/live/cam/index.m3u8"), 2);
}

TEST_F(UpstreamProxyTest, UpstreamMaxAgeShortensPlaylistReuse) {
  upstream_.Put("/live/cam/index.m3u8", std::string(kMediaPlaylist), 200,
                {{"Cache-Control", "max-age=1"}});
  auto proxy = MakeProxy(upstream_.Template());
  EXPECT_EQ(Call(*proxy, ProxyGet("/hls/cam/index.m3u8")).status, 200);
  clock_.Advance(std::chrono::milliseconds(1100));  // past max-age, within half of 4 s
  EXPECT_EQ(Call(*proxy, ProxyGet("/hls/cam/index.m3u8")).status, 200);
  EXPECT_EQ(upstream_.RequestsFor("/live/cam/index.m3u8"), 2);
}

// --count heartbeats in front of an upstream: what a CDN may cache, the same
// for every viewer, for no longer than the upstream allows.
TEST_F(UpstreamProxyTest, CacheableProxyAnswersCarryNoSessionAndPublicLifetimes) {
  upstream_.Put("/live/cam/index.m3u8", std::string(kMediaPlaylist));  // target 4 s
  upstream_.Put("/live/cam/short.m3u8", std::string(kMediaPlaylist), 200,
                {{"Cache-Control", "max-age=1"}});
  upstream_.Put("/live/cam/s1.ts", std::string(188, 'G'), 200, {{"Cache-Control", "no-cache"}});
  cacheable_ = true;
  auto proxy = MakeProxy(upstream_.Template());

  const HttpResponse first = Call(*proxy, ProxyGet("/hls/cam/index.m3u8"));
  ASSERT_EQ(first.status, 200);
  EXPECT_THAT(first.body, Not(HasSubstr("#EXT-X-STREAM-INF")));  // not wrapped: no session
  EXPECT_THAT(first.body, Not(HasSubstr("hcs=")));
  EXPECT_THAT(first.body, HasSubstr("\ns1.ts\n"));
  EXPECT_TRUE(HasHeader(first, "Cache-Control", "public, max-age=2, stale-while-revalidate=2"));
  EXPECT_EQ(Call(*proxy, ProxyGet("/hls/cam/index.m3u8")).body, first.body);  // any viewer
  EXPECT_EQ(proxy->ActiveSessions(clock_.Now()), 0);

  EXPECT_TRUE(HasHeader(Call(*proxy, ProxyGet("/hls/cam/short.m3u8")), "Cache-Control",
                        "public, max-age=1, stale-while-revalidate=1"));
  EXPECT_TRUE(HasHeader(Call(*proxy, ProxyGet("/hls/cam/s1.ts")), "Cache-Control",
                        "public, max-age=86400, immutable"));
}

TEST_F(UpstreamProxyTest, ManyViewersOfASegmentCostOneUpstreamRequest) {
  const std::string segment(100'000, 'x');
  upstream_.Put("/live/cam/s1.ts", segment);
  upstream_.SetDelay(std::chrono::milliseconds(200));
  auto proxy = MakeProxy(upstream_.Template());
  std::vector<std::future<HttpResponse>> answers;
  for (int i = 0; i < 10; ++i) answers.push_back(Start(*proxy, ProxyGet("/hls/cam/s1.ts?hcs=a")));
  for (auto& a : answers) {
    const HttpResponse r = testing::WithWholeBody(a.get());
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.BodyView(), segment);
    EXPECT_EQ(r.content_type, "video/mp2t");
  }
  clock_.Advance(std::chrono::minutes(5));  // the media cache does not expire by time
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(Call(*proxy, ProxyGet("/hls/cam/s1.ts")).BodyView(), segment);
  }
  EXPECT_EQ(upstream_.RequestsFor("/live/cam/s1.ts"), 1);
}

TEST_F(UpstreamProxyTest, UpstreamNotFoundStaysNotFoundAndIsNotCached) {
  auto proxy = MakeProxy(upstream_.Template());
  EXPECT_EQ(Call(*proxy, ProxyGet("/hls/cam/s9.ts")).status, 404);
  upstream_.Put("/live/cam/s9.ts", "late");
  EXPECT_EQ(Call(*proxy, ProxyGet("/hls/cam/s9.ts")).status, 200);
}

TEST_F(UpstreamProxyTest, UpstreamServerErrorIsBadGateway) {
  upstream_.Put("/live/cam/index.m3u8", "oops", 500);
  auto proxy = MakeProxy(upstream_.Template());
  const HttpResponse r = Call(*proxy, ProxyGet("/hls/cam/index.m3u8"));
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(r.content_type, "application/json");
}

TEST_F(UpstreamProxyTest, RefusedUpstreamIsBadGatewayWithAJsonError) {
  int port = 0;
  {
    TestServer gone([](const ReceivedRequest&) { return ScriptedResponse{}; });
    port = gone.port();
  }
  auto proxy = MakeProxy("http://127.0.0.1:" + std::to_string(port) + "/live/{channel}/");
  const HttpResponse r = Call(*proxy, ProxyGet("/hls/cam/index.m3u8"));
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_THAT(r.body, HasSubstr("upstream unreachable"));
  EXPECT_EQ(Fetches("playlist unreachable"), 1);
}

TEST_F(UpstreamProxyTest, SlowUpstreamIsGatewayTimeout) {
  upstream_.Put("/live/cam/s1.ts", "x");
  upstream_.SetDelay(std::chrono::seconds(3));
  auto proxy = MakeProxy(upstream_.Template(), {}, std::chrono::milliseconds(200));
  const HttpResponse r = Call(*proxy, ProxyGet("/hls/cam/s1.ts"));
  EXPECT_EQ(r.status, 504);
  EXPECT_THAT(r.body, HasSubstr("upstream timed out"));
  EXPECT_EQ(Fetches("media timeout"), 1);
}

TEST_F(UpstreamProxyTest, LowLatencyDirectivesAndRangeGoUpstreamTheSessionDoesNot) {
  upstream_.Put("/live/cam/index.m3u8", std::string(kMediaPlaylist));
  upstream_.Put("/live/cam/s1.ts", "partial", 206, {{"Content-Range", "bytes 0-6/100"}});
  auto proxy = MakeProxy(upstream_.Template());
  EXPECT_EQ(
      Call(*proxy, ProxyGet("/hls/cam/index.m3u8?_HLS_msn=5&_HLS_part=1&hcs=abc&_HLS_skip=YES"))
          .status,
      200);
  HttpRequest ranged = ProxyGet("/hls/cam/s1.ts?hcs=abc");
  ranged.headers["range"] = "bytes=0-6";
  const HttpResponse part = Call(*proxy, ranged);
  EXPECT_EQ(part.status, 206);
  EXPECT_EQ(part.BodyView(), "partial");
  EXPECT_THAT(part.headers, ::testing::Contains(std::pair<std::string, std::string>(
                                "Content-Range", "bytes 0-6/100")));
  const std::vector<ReceivedRequest> seen = upstream_.requests();
  ASSERT_EQ(seen.size(), 2U);
  EXPECT_EQ(seen[0].target, "/live/cam/index.m3u8?_HLS_msn=5&_HLS_part=1&_HLS_skip=YES");
  EXPECT_EQ(seen[1].target, "/live/cam/s1.ts");
  const std::string* range = http_client::FindHeader(seen[1].headers, "Range");
  ASSERT_NE(range, nullptr);
  EXPECT_EQ(*range, "bytes=0-6");
}

// Request-mode CMCD (hls.js, Shaka, ExoPlayer, AVPlayer with CMCD in the
// query): served as without it, and the upstream never sees it, so viewers
// with different CMCD data share one fetch.
TEST_F(UpstreamProxyTest, RequestModeCmcdIsServedAsWithoutItAndNotSentUpstream) {
  upstream_.Put("/live/cam/index.m3u8", std::string(kMediaPlaylist));
  upstream_.Put("/live/cam/s1.ts", "segment");
  auto proxy = MakeProxy(upstream_.Template());
  const std::string cmcd = "CMCD=bl%3D21300%2Cbr%3D3200%2Cot%3Dv%2Csid%3D%226e2fb550%22";
  const HttpResponse plain = Call(*proxy, ProxyGet("/hls/cam/s1.ts?hcs=abc"));
  const HttpResponse with_cmcd = Call(*proxy, ProxyGet("/hls/cam/s1.ts?" + cmcd + "&hcs=abc"));
  EXPECT_EQ(plain.BodyView(), "segment");  // not TS: nothing to add, sent as it is
  EXPECT_EQ(with_cmcd.status, 200);
  EXPECT_EQ(with_cmcd.BodyView(), plain.BodyView());
  EXPECT_EQ(Call(*proxy, ProxyGet("/hls/cam/s1.ts?hcs=abc&" + cmcd)).BodyView(), plain.BodyView());
  EXPECT_EQ(Call(*proxy, ProxyGet("/hls/cam/index.m3u8?_HLS_msn=5&" + cmcd + "&hcs=abc")).status,
            200);
  const std::vector<ReceivedRequest> seen = upstream_.requests();
  ASSERT_EQ(seen.size(), 2U);  // one segment fetch for all three, one playlist
  EXPECT_EQ(seen[0].target, "/live/cam/s1.ts");
  EXPECT_EQ(seen[1].target, "/live/cam/index.m3u8?_HLS_msn=5");
}

constexpr std::string_view kLowLatencyPlaylist =
    "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:1\n"
    "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.5\n"
    "#EXT-X-PART-INF:PART-TARGET=0.5\n#EXT-X-MEDIA-SEQUENCE:1\n"
    "#EXT-X-MAP:URI=\"init.mp4\"\n"
    "#EXT-X-PROGRAM-DATE-TIME:2026-12-07T12:00:00.000Z\n"
    "#EXT-X-PART:DURATION=0.5,URI=\"s1.p0.m4s\",INDEPENDENT=YES\n"
    "#EXT-X-PART:DURATION=0.5,URI=\"s1.m4s\",BYTERANGE=\"1000@2000\"\n"
    "#EXTINF:1.0,\ns1.m4s\n"
    "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"http://127.0.0.1:{PORT}/live/cam/s2.p0.m4s\"\n"
    "#EXT-X-RENDITION-REPORT:URI=\"../cam/audio.m3u8\",LAST-MSN=1,LAST-PART=1\n";

TEST_F(UpstreamProxyTest, LowLatencyPartsHintsAndReportsGoThroughTheProxy) {
  upstream_.Put("/live/cam/ll.m3u8", std::string(kLowLatencyPlaylist));
  auto proxy = MakeProxy(upstream_.Template());
  const std::string id = SessionFor(*proxy, "/hls/cam/ll.m3u8");
  const HttpResponse r = Call(*proxy, ProxyGet("/hls/cam/ll.m3u8?hcs=" + id));
  ASSERT_EQ(r.status, 200);
  EXPECT_THAT(r.body, HasSubstr("#EXT-X-MAP:URI=\"init.mp4?hcs=" + id + "\"\n"));
  EXPECT_THAT(r.body, HasSubstr("URI=\"s1.p0.m4s?hcs=" + id + "\",INDEPENDENT=YES\n"));
  EXPECT_THAT(r.body, HasSubstr("URI=\"s1.m4s?hcs=" + id + "\",BYTERANGE=\"1000@2000\"\n"));
  EXPECT_THAT(r.body, HasSubstr("TYPE=PART,URI=\"/hls/cam/s2.p0.m4s?hcs=" + id + "\"\n"));
  EXPECT_THAT(r.body, HasSubstr("URI=\"/hls/cam/audio.m3u8?hcs=" + id + "\",LAST-MSN=1"));
}

TEST_F(UpstreamProxyTest, BlockingReloadIsHeldAsLongAsTheUpstreamHoldsIt) {
  upstream_.Put("/live/cam/ll.m3u8", std::string(kLowLatencyPlaylist));
  upstream_.Put("/live/cam/other.m3u8", std::string(kLowLatencyPlaylist));
  auto proxy = MakeProxy(upstream_.Template(), {}, std::chrono::milliseconds(500));
  ASSERT_EQ(Call(*proxy, ProxyGet("/hls/cam/ll.m3u8")).status, 200);  // target duration: 1 s
  upstream_.SetDelay(std::chrono::milliseconds(1200));                // the upstream blocks
  // Past the timeout, within it plus 3 target durations: answered.
  EXPECT_EQ(Call(*proxy, ProxyGet("/hls/cam/ll.m3u8?_HLS_msn=2&_HLS_part=0")).status, 200);
  // The same wait on a request that does not block is a timeout.
  EXPECT_EQ(Call(*proxy, ProxyGet("/hls/cam/other.m3u8")).status, 504);
}

TEST_F(UpstreamProxyTest, AStalledChannelTakesAtMostHalfTheConnections) {
  const std::chrono::milliseconds stalled(1500);
  for (const char* name : {"s1.ts", "s2.ts", "s3.ts", "s4.ts"}) {
    upstream_.Put(std::string("/live/slow/") + name, "slow", 200, {}, stalled);
  }
  upstream_.Put("/live/fast/s1.ts", "fast");
  auto proxy = MakeProxy(upstream_.Template(), {}, std::chrono::seconds(5), false,
                         /*max_connections=*/4);
  std::vector<std::future<HttpResponse>> slow;
  for (const char* name : {"s1.ts", "s2.ts", "s3.ts", "s4.ts"}) {
    slow.push_back(Start(*proxy, ProxyGet(std::string("/hls/slow/") + name)));
  }
  // Two of the four connections: the other two requests are refused at once.
  int refused = 0;
  for (auto& f : slow) {
    if (f.wait_for(std::chrono::milliseconds(0)) == std::future_status::ready) {
      EXPECT_EQ(f.get().status, 502);
      ++refused;
    }
  }
  EXPECT_EQ(refused, 2);
  // Another channel still gets a connection, before the stalled ones answer.
  const HttpResponse fast = Call(*proxy, ProxyGet("/hls/fast/s1.ts"));
  EXPECT_EQ(fast.status, 200);
  int still_waiting = 0;
  for (auto& f : slow) {
    if (f.valid() && f.wait_for(std::chrono::milliseconds(0)) != std::future_status::ready) {
      ++still_waiting;
    }
  }
  EXPECT_EQ(still_waiting, 2);
  for (auto& f : slow) {
    if (f.valid()) {
      EXPECT_EQ(f.get().status, 200);
    }
  }
}

TEST_F(UpstreamProxyTest, OnlyConfiguredChannelsAndPlainPathsReachTheUpstream) {
  upstream_.Put("/live/cam/v1/index.m3u8", std::string(kMediaPlaylist));
  auto proxy = MakeProxy(upstream_.Template(), {"cam"});
  EXPECT_EQ(Call(*proxy, ProxyGet("/hls/dog/index.m3u8")).status, 404);
  EXPECT_EQ(Call(*proxy, ProxyGet("/hls/cam/.hidden.m3u8")).status, 404);
  EXPECT_EQ(Call(*proxy, ProxyGet("/hls/cam/v1/.x/a.ts")).status, 404);
  EXPECT_EQ(Call(*proxy, ProxyGet("/hls/cam/index.php")).status, 404);
  EXPECT_EQ(Call(*proxy, ProxyGet("/hls/c%20m/index.m3u8")).status, 404);
  EXPECT_EQ(upstream_.requests().size(), 0U);
  EXPECT_EQ(Call(*proxy, ProxyGet("/hls/cam/v1/index.m3u8")).status, 200);
  EXPECT_EQ(upstream_.RequestsFor("/live/cam/v1/index.m3u8"), 1);
}

TEST_F(UpstreamProxyTest, ChannelIsLiveWhileItsFetchedMediaPlaylistChanges) {
  upstream_.Put("/live/cam/index.m3u8", std::string(kMediaPlaylist));
  upstream_.Put("/live/cam/s1.ts", "x");
  auto proxy = MakeProxy(upstream_.Template());
  const Deadline& no_deadline = Deadline::None();
  EXPECT_TRUE(proxy->Poll(clock_.Now(), no_deadline)->empty());
  const std::string id = SessionFor(*proxy, "/hls/cam/index.m3u8");
  ASSERT_EQ(Call(*proxy, ProxyGet("/hls/cam/index.m3u8?hcs=" + id)).status, 200);
  ASSERT_EQ(Call(*proxy, ProxyGet("/hls/cam/s1.ts?hcs=" + id)).status, 200);  // media: counts
  Result<std::vector<ChannelReading>> live = proxy->Poll(clock_.Now(), no_deadline);
  ASSERT_TRUE(live.ok());
  ASSERT_EQ(live->size(), 1U);
  EXPECT_EQ((*live)[0].channel, "cam");
  EXPECT_EQ((*live)[0].viewers, 1);
  // Fetched again unchanged past the live timeout: no longer live.
  clock_.Advance(kDefaultLiveTimeout + std::chrono::seconds(1));
  ASSERT_EQ(Call(*proxy, ProxyGet("/hls/cam/index.m3u8?hcs=" + id)).status, 200);
  EXPECT_TRUE(proxy->Poll(clock_.Now(), no_deadline)->empty());
}

}  // namespace upstream_proxy_test
}  // namespace headcount
