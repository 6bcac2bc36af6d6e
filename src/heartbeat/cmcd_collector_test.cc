// POST /api/channels/{id}/cmcd through HeartbeatApi: the answers a player
// and an abuser get, and what each counts.
#include "heartbeat/cmcd_collector.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/time_text.h"
#include "heartbeat/heartbeat_api.h"

namespace headcount {
namespace {

using std::chrono::seconds;

const WallTime kCmcdT0 = *ParseRfc3339("2026-12-07T15:00:00Z");

std::string HlsJsLine(std::string_view sid, std::string_view sta, int sn) {
  std::string line = R"(bl=(3200),br=(0),cid="live",e=ps,mtp=(16400),sf=h,sid=")";
  line += sid;
  line += R"(",sn=)" + std::to_string(sn) + ",st=l";
  if (!sta.empty()) line += ",sta=" + std::string(sta);
  return line + ",ts=1796614099514,v=2\n";
}

class CmcdCollectorTest : public ::testing::Test {
 protected:
  explicit CmcdCollectorTest(HeartbeatApiOptions options = {}, CorsPolicy cors = {})
      : cors_(std::move(cors)),
        viewers_(HeartbeatOptions{.key = "key", .max_viewers_per_client = 5}),
        api_(
            viewers_, clock_, cors_, [](std::string_view c) { return c == "live"; }, options) {}

  HttpResponse Post(std::string body, const std::string& channel = "live",
                    std::string content_type = "application/cmcd",
                    const std::string& client = "198.51.100.1") {
    HttpRequest r;
    r.method = "POST";
    r.path = "/api/channels/" + channel + "/cmcd";
    r.body = std::move(body);
    if (!content_type.empty()) r.headers["content-type"] = std::move(content_type);
    r.client_address = client;
    return api_.Handle(r);
  }
  std::int64_t Count() {
    const auto counts = viewers_.CountActive(clock_.Now());
    const auto it = counts.find("live");
    return it == counts.end() ? 0 : it->second;
  }

  FakeClock clock_{kCmcdT0};
  CorsPolicy cors_;
  HeartbeatViewers viewers_;
  HeartbeatApi api_;
};

TEST_F(CmcdCollectorTest, TwoReportsCountOneDoesNotPausedLeaves) {
  EXPECT_EQ(Post(HlsJsLine("9e235017", "", 0)).status, 204);
  EXPECT_EQ(Count(), 0);
  clock_.Advance(seconds(1));
  EXPECT_EQ(Post(HlsJsLine("9e235017", "p", 3)).status, 204);
  EXPECT_EQ(Count(), 1);
  // sendBeacon's text/plain, with a charset, is a report too.
  EXPECT_EQ(Post(HlsJsLine("9e235017", "a", 6), "live", "text/plain;charset=UTF-8").status, 204);
  EXPECT_EQ(Count(), 0);
  EXPECT_EQ(api_.cmcd().reports(), 3U);
  EXPECT_EQ(api_.cmcd().bad_lines(), 0U);
}

TEST_F(CmcdCollectorTest, ATimeoutExpiresASidByTheServersClock) {
  // The report's own ts says 2026-11-25; the server's clock decides.
  Post(HlsJsLine("s", "p", 1) + HlsJsLine("s", "p", 2));
  EXPECT_EQ(Count(), 1);
  clock_.Advance(kDefaultCmcdTimeout - seconds(1));
  EXPECT_EQ(Count(), 1);
  clock_.Advance(seconds(1));
  EXPECT_EQ(Count(), 0);
}

TEST_F(CmcdCollectorTest, BadLinesAreSkippedAndCounted) {
  const HttpResponse r =
      Post("garbage\n" + HlsJsLine("s", "p", 1) + "sta=p\n" + R"(sid=")" +
           std::string(kMaxCmcdSidChars + 1, 'x') + "\"\n" + HlsJsLine("s", "p", 2));
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(Count(), 1);
  EXPECT_EQ(api_.cmcd().reports(), 2U);
  EXPECT_EQ(api_.cmcd().bad_lines(), 3U);  // garbage, no sid, a sid too long
}

TEST_F(CmcdCollectorTest, RefusesWhatIsNotAReportAndCountsNothing) {
  EXPECT_EQ(Post(HlsJsLine("s", "p", 1), "nope").status, 404);
  EXPECT_EQ(Post(HlsJsLine("s", "p", 1), "bad%20id").status, 404);
  EXPECT_EQ(Post("").status, 400);
  EXPECT_EQ(Post("not, a report\n").status, 400);
  EXPECT_EQ(Post(R"(e=ps,sta=p)").status, 400);  // no sid
  EXPECT_EQ(Post(HlsJsLine("s", "p", 1), "live", "application/json").status, 415);
  std::string big;
  while (big.size() <= kMaxCmcdBodyBytes) big += HlsJsLine("s", "p", 1);
  EXPECT_EQ(Post(big).status, 413);
  HttpRequest put;
  put.method = "PUT";
  put.path = "/api/channels/live/cmcd";
  const HttpResponse refused = api_.Handle(put);
  EXPECT_EQ(refused.status, 405);
  EXPECT_THAT(refused.headers, ::testing::Contains(std::pair<std::string, std::string>(
                                   "Allow", "GET, HEAD, POST, OPTIONS")));
  EXPECT_EQ(Count(), 0);
  EXPECT_EQ(api_.cmcd().reports(), 0U);
}

TEST_F(CmcdCollectorTest, OneAddressStopsAtTheCapSharedWithTokens) {
  int refused = 0;
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 8; ++i) {
      if (Post(HlsJsLine("sid-" + std::to_string(i), "p", round)).status == 429) ++refused;
    }
  }
  EXPECT_EQ(refused, 2 * 3);
  EXPECT_EQ(Count(), 5);
  EXPECT_EQ(Post(HlsJsLine("elsewhere", "p", 0), "live", "application/cmcd", "203.0.113.5").status,
            204);
  // The address's tokens are held to the same cap.
  HttpRequest made;
  made.method = "POST";
  made.path = "/api/channels/live/viewers";
  made.client_address = "198.51.100.1";
  const HttpResponse token = api_.Handle(made);
  ASSERT_EQ(token.status, 201);
  const nlohmann::json body = {{"token", nlohmann::json::parse(token.body)["token"]}};
  HttpRequest beat;
  beat.method = "POST";
  beat.path = "/api/channels/live/heartbeat";
  beat.body = body.dump();
  beat.client_address = "198.51.100.1";
  EXPECT_EQ(api_.Handle(beat).status, 429);
}

class CmcdCollectorRateTest : public CmcdCollectorTest {
 protected:
  CmcdCollectorRateTest() : CmcdCollectorTest({.heartbeat_rate = 1, .heartbeat_burst = 3}) {}
};

TEST_F(CmcdCollectorRateTest, ReportsTakeFromTheHeartbeatsRateLimit) {
  EXPECT_EQ(Post(HlsJsLine("s", "p", 1) + HlsJsLine("s", "p", 2)).status, 204);
  const HttpResponse over = Post(HlsJsLine("s", "p", 3) + HlsJsLine("s", "p", 4));
  EXPECT_EQ(over.status, 429);
  EXPECT_EQ(Count(), 1);
  clock_.Advance(seconds(1));
  EXPECT_EQ(Post(HlsJsLine("s", "p", 5)).status, 204);
}

class CmcdCollectorOffTest : public CmcdCollectorTest {
 protected:
  CmcdCollectorOffTest() : CmcdCollectorTest({.cmcd = false}) {}
};

// GET says whether the collector takes reports, so that a page asks first.
HttpResponse GetCmcd(HeartbeatApi& api, const std::string& channel) {
  HttpRequest get;
  get.method = "GET";
  get.path = "/api/channels/" + channel + "/cmcd";
  return api.Handle(get);
}

TEST_F(CmcdCollectorOffTest, OffIsA404AndGetSaysSo) {
  EXPECT_EQ(Post(HlsJsLine("s", "p", 1) + HlsJsLine("s", "p", 2)).status, 404);
  EXPECT_EQ(Count(), 0);
  const HttpResponse r = GetCmcd(api_, "live");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(nlohmann::json::parse(r.body),
            (nlohmann::json{{"collecting", false}, {"timeout_s", 75}}));
}

TEST_F(CmcdCollectorTest, GetSaysTheCollectorTakesReports) {
  const HttpResponse r = GetCmcd(api_, "live");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(nlohmann::json::parse(r.body),
            (nlohmann::json{{"collecting", true}, {"timeout_s", 75}}));
  // A channel not served (yet: proxy mode learns them) is not collected for.
  const HttpResponse unknown = GetCmcd(api_, "nope");
  EXPECT_EQ(unknown.status, 200);
  EXPECT_EQ(nlohmann::json::parse(unknown.body)["collecting"], false);
  EXPECT_EQ(GetCmcd(api_, "bad%20id").status, 404);
}

class CmcdCollectorCorsTest : public CmcdCollectorTest {
 protected:
  CmcdCollectorCorsTest() : CmcdCollectorTest({}, *CorsPolicy::Parse("https://page.example")) {}
};

TEST_F(CmcdCollectorCorsTest, PreflightForApplicationCmcdFromConfiguredOriginsOnly) {
  HttpRequest pre;
  pre.method = "OPTIONS";
  pre.path = "/api/channels/live/cmcd";
  pre.headers["origin"] = "https://page.example";
  pre.headers["access-control-request-method"] = "POST";
  pre.headers["access-control-request-headers"] = "content-type";
  const HttpResponse ok = api_.Handle(pre);
  EXPECT_EQ(ok.status, 204);
  pre.headers["origin"] = "https://evil.example";
  EXPECT_EQ(api_.Handle(pre).status, 403);

  HttpRequest post;
  post.method = "POST";
  post.path = "/api/channels/live/cmcd";
  post.body = HlsJsLine("s", "p", 1);
  post.headers["origin"] = "https://page.example";
  post.headers["content-type"] = "application/cmcd";
  const HttpResponse taken = api_.Handle(post);
  EXPECT_EQ(taken.status, 204);
  bool allowed = false;
  for (const auto& [k, v] : taken.headers) {
    allowed |= k == "Access-Control-Allow-Origin" && v == "https://page.example";
  }
  EXPECT_TRUE(allowed);
}

TEST(CmcdCollectorPathsTest, ServesTheCmcdRoute) {
  EXPECT_TRUE(HeartbeatApi::Serves("/api/channels/live/cmcd"));
  EXPECT_FALSE(HeartbeatApi::Serves("/api/channels/a/b/cmcd"));
  EXPECT_FALSE(HeartbeatApi::Serves("/api/channels/cmcd"));
}

}  // namespace
}  // namespace headcount
