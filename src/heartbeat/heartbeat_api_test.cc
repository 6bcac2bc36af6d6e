// The heartbeat API as a handler: the answers a player and an abuser get.
#include "heartbeat/heartbeat_api.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/time_text.h"

namespace headcount {
namespace {

using std::chrono::seconds;

const WallTime kApiT0 = *ParseRfc3339("2026-12-07T14:00:00Z");

class HeartbeatApiTest : public ::testing::Test {
 protected:
  explicit HeartbeatApiTest(HeartbeatApiOptions options = {}, CorsPolicy cors = {})
      : cors_(std::move(cors)),
        viewers_(HeartbeatOptions{.key = "key", .max_viewers_per_client = 5}),
        api_(
            viewers_, clock_, cors_, [](std::string_view c) { return c == "live"; }, options) {}

  HttpResponse Post(const std::string& path, std::string body = "",
                    std::string content_type = "application/json",
                    const std::string& client = "198.51.100.1") {
    HttpRequest r;
    r.method = "POST";
    r.path = path;
    r.body = std::move(body);
    if (!content_type.empty()) r.headers["content-type"] = std::move(content_type);
    r.client_address = client;
    return api_.Handle(r);
  }
  std::string NewToken(const std::string& client = "198.51.100.1") {
    const HttpResponse r = Post("/api/channels/live/viewers", "", "", client);
    EXPECT_EQ(r.status, 201) << r.body;
    return nlohmann::json::parse(r.body).value("token", "");
  }
  static std::string Beat(const std::string& token, bool left = false) {
    nlohmann::json body = {{"token", token}};
    if (left) body["left"] = true;
    return body.dump();
  }
  std::int64_t Count() {
    const auto counts = viewers_.CountActive(clock_.Now());
    const auto it = counts.find("live");
    return it == counts.end() ? 0 : it->second;
  }
  static std::optional<std::string> HeaderOf(const HttpResponse& r, std::string_view name) {
    for (const auto& [k, v] : r.headers) {
      if (k == name) return v;
    }
    return std::nullopt;
  }

  FakeClock clock_{kApiT0};
  CorsPolicy cors_;
  HeartbeatViewers viewers_;
  HeartbeatApi api_;
};

TEST_F(HeartbeatApiTest, APlayerGetsATokenAndCountsFromItsSecondHeartbeat) {
  const HttpResponse made = Post("/api/channels/live/viewers");
  ASSERT_EQ(made.status, 201);
  const auto body = nlohmann::json::parse(made.body);
  EXPECT_EQ(body["heartbeat_s"], 10);
  EXPECT_EQ(body["expires_s"], 30);
  EXPECT_EQ(HeaderOf(made, "Cache-Control"), "no-store");
  const std::string token = body["token"];

  EXPECT_EQ(Post("/api/channels/live/heartbeat", Beat(token)).status, 204);
  EXPECT_EQ(Count(), 0);
  clock_.Advance(seconds(10));
  // sendBeacon's text/plain is a heartbeat too.
  EXPECT_EQ(Post("/api/channels/live/heartbeat", Beat(token), "text/plain;charset=UTF-8").status,
            204);
  EXPECT_EQ(Count(), 1);
  EXPECT_EQ(Post("/api/channels/live/heartbeat", Beat(token, /*left=*/true)).status, 204);
  EXPECT_EQ(Count(), 0);
}

TEST_F(HeartbeatApiTest, RefusesWhatIsNotAHeartbeat) {
  const std::string token = NewToken();
  EXPECT_EQ(Post("/api/channels/nope/viewers").status, 404);
  EXPECT_EQ(Post("/api/channels/bad%20id/viewers").status, 404);
  EXPECT_EQ(Post("/api/channels/live/heartbeat", Beat("forged")).status, 403);
  EXPECT_EQ(Post("/api/channels/other/heartbeat", Beat(token)).status, 403);
  EXPECT_EQ(Post("/api/channels/live/heartbeat", "not json").status, 400);
  EXPECT_EQ(Post("/api/channels/live/heartbeat", R"({"token":1})").status, 400);
  EXPECT_EQ(Post("/api/channels/live/heartbeat", R"({"token":"x","left":"yes"})").status, 400);
  EXPECT_EQ(
      Post("/api/channels/live/heartbeat", Beat(token), "application/x-www-form-urlencoded").status,
      415);
  EXPECT_EQ(
      Post("/api/channels/live/heartbeat", std::string(kMaxHeartbeatBodyBytes + 1, ' ')).status,
      413);
  HttpRequest get;
  get.method = "GET";
  get.path = "/api/channels/live/heartbeat";
  const HttpResponse r = api_.Handle(get);
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(HeaderOf(r, "Allow"), "POST, OPTIONS");
  // An expired token: 403, and nothing counted.
  clock_.Advance(seconds(31));
  EXPECT_EQ(Post("/api/channels/live/heartbeat", Beat(token)).status, 403);
  EXPECT_EQ(Count(), 0);
}

TEST_F(HeartbeatApiTest, OneAddressStopsAtTheCapOthersDoNot) {
  std::vector<std::string> tokens;
  for (int i = 0; i < 8; ++i) tokens.push_back(NewToken());
  int refused = 0;
  for (int round = 0; round < 2; ++round) {
    for (const std::string& t : tokens) {
      if (Post("/api/channels/live/heartbeat", Beat(t)).status == 429) ++refused;
    }
    clock_.Advance(seconds(10));
  }
  EXPECT_EQ(refused, 2 * 3);
  EXPECT_EQ(Count(), 5);
  const std::string elsewhere = NewToken("203.0.113.5");
  EXPECT_EQ(Post("/api/channels/live/heartbeat", Beat(elsewhere), "", "203.0.113.5").status, 204);
}

class HeartbeatApiRateTest : public HeartbeatApiTest {
 protected:
  HeartbeatApiRateTest()
      : HeartbeatApiTest(
            {.token_rate = 1, .token_burst = 2, .heartbeat_rate = 1, .heartbeat_burst = 3}) {}
};

TEST_F(HeartbeatApiRateTest, TokensAndHeartbeatsAreRateLimitedPerAddress) {
  const std::string token = NewToken();
  NewToken();
  const HttpResponse refused = Post("/api/channels/live/viewers");
  EXPECT_EQ(refused.status, 429);
  EXPECT_EQ(HeaderOf(refused, "Retry-After"), "1");
  EXPECT_EQ(Post("/api/channels/live/viewers", "", "", "203.0.113.5").status, 201);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Post("/api/channels/live/heartbeat", Beat(token)).status, 204);
  }
  EXPECT_EQ(Post("/api/channels/live/heartbeat", Beat(token)).status, 429);
  clock_.Advance(seconds(1));
  EXPECT_EQ(Post("/api/channels/live/viewers").status, 201);
}

class HeartbeatApiCorsTest : public HeartbeatApiTest {
 protected:
  HeartbeatApiCorsTest() : HeartbeatApiTest({}, *CorsPolicy::Parse("https://page.example")) {}
};

TEST_F(HeartbeatApiCorsTest, PreflightAndAnswersCarryCorsForConfiguredOriginsOnly) {
  HttpRequest pre;
  pre.method = "OPTIONS";
  pre.path = "/api/channels/live/heartbeat";
  pre.headers["origin"] = "https://page.example";
  pre.headers["access-control-request-method"] = "POST";
  const HttpResponse ok = api_.Handle(pre);
  EXPECT_EQ(ok.status, 204);
  EXPECT_EQ(HeaderOf(ok, "Access-Control-Allow-Origin"), "https://page.example");
  pre.headers["origin"] = "https://evil.example";
  EXPECT_EQ(api_.Handle(pre).status, 403);

  HttpRequest post;
  post.method = "POST";
  post.path = "/api/channels/live/viewers";
  post.headers["origin"] = "https://page.example";
  const HttpResponse made = api_.Handle(post);
  EXPECT_EQ(made.status, 201);
  EXPECT_EQ(HeaderOf(made, "Access-Control-Allow-Origin"), "https://page.example");
  EXPECT_EQ(HeaderOf(made, "Vary"), "Origin");
}

TEST(HeartbeatApiPathsTest, ServesOnlyItsTwoRoutes) {
  EXPECT_TRUE(HeartbeatApi::Serves("/api/channels/live/viewers"));
  EXPECT_TRUE(HeartbeatApi::Serves("/api/channels/live/heartbeat"));
  EXPECT_FALSE(HeartbeatApi::Serves("/api/channels/live/history"));
  EXPECT_FALSE(HeartbeatApi::Serves("/api/channels/viewers"));
  EXPECT_FALSE(HeartbeatApi::Serves("/api/channels/a/b/viewers"));
  EXPECT_FALSE(HeartbeatApi::Serves("/api/channels"));
}

}  // namespace
}  // namespace headcount
