// The origin's proxy mode in front of an upstream that gates playback with
// sessions of its own, scripted as MediaMTX 1.18 does it (302 to
// ?cookieCheck=1, a session by cookie or ?session=, 401 without one): the
// session is the proxy's, viewers never see it, it is renewed once when the
// upstream forgets it, and an upstream that refuses every session is a 502.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>
#include <map>
#include <mutex>
#include <set>

#include "http_client/testing/test_server.h"
#include "origin/origin.h"
#include "origin/testing/drained.h"
#include "origin/testing/origin_calls.h"

namespace headcount {
namespace gated_upstream_test {

using http_client::testing::ReceivedRequest;
using http_client::testing::ScriptedResponse;
using http_client::testing::TestServer;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::string_view kSegment = "segment-bytes";

// A MediaMTX-like upstream under /live/cam/: index.m3u8 opens sessions,
// everything else needs one (by the hlsSession cookie or ?session=).
class GatedUpstream {
 public:
  explicit GatedUpstream(bool cookies)
      : cookies_(cookies), server_([this](const ReceivedRequest& r) { return Answer(r); }) {}

  // The upstream restarts: every session is gone.
  void ForgetSessions() {
    std::lock_guard lock(mu_);
    sessions_.clear();
  }
  void RejectEverySession() {
    std::lock_guard lock(mu_);
    reject_all_ = true;
  }
  std::set<std::string> secrets() const {
    std::lock_guard lock(mu_);
    return issued_;
  }
  int Count(std::string_view path_and_status) const {
    std::lock_guard lock(mu_);
    const auto it = log_.find(std::string(path_and_status));
    return it == log_.end() ? 0 : it->second;
  }
  std::string Template() const {
    return "http://127.0.0.1:" + std::to_string(server_.port()) + "/live/{channel}/";
  }

 private:
  static std::string Param(const std::string& query, const std::string& name) {
    const std::size_t at = ("&" + query).find("&" + name + "=");
    if (at == std::string::npos) return "";
    const std::size_t start = at + name.size() + 1;
    return query.substr(start, query.find('&', start) - start);
  }
  static std::string CookieValue(const ReceivedRequest& r, const std::string& name) {
    const std::string* cookie = http_client::FindHeader(r.headers, "Cookie");
    if (cookie == nullptr) return "";
    std::string pairs = *cookie;
    for (std::size_t at; (at = pairs.find("; ")) != std::string::npos;) pairs.replace(at, 2, "&");
    return Param(pairs, name);
  }

  ScriptedResponse Answer(const ReceivedRequest& r) {
    std::lock_guard lock(mu_);
    const std::string path = r.target.substr(0, r.target.find('?'));
    const std::string query =
        r.target.find('?') == std::string::npos ? "" : r.target.substr(r.target.find('?') + 1);
    const auto logged = [&](ScriptedResponse answer) {
      ++log_[path + " " + std::to_string(answer.status)];
      return answer;
    };
    if (path == "/live/cam/index.m3u8") {
      if (Param(query, "cookieCheck") != "1") {
        return logged(
            {.status = 302,
             .headers = {{"Location", "/live/cam/index.m3u8?cookieCheck=1"},
                         {"Set-Cookie", "cookieCheck=1; Secure; HttpOnly; Partitioned"}}});
      }
      const std::string secret = "sx" + std::to_string(++next_) + "x";
      issued_.insert(secret);
      sessions_.insert(secret);
      ScriptedResponse answer{.status = 200};
      std::string suffix;
      if (cookies_ && CookieValue(r, "cookieCheck") == "1") {
        answer.headers.push_back({"Set-Cookie", "hlsSession=" + secret + "; Secure; HttpOnly"});
      } else {
        suffix = "?session=" + secret;
      }
      answer.body = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=100000\nvideo.m3u8" + suffix + "\n";
      return logged(answer);
    }
    std::string secret = CookieValue(r, "hlsSession");
    if (secret.empty()) secret = Param(query, "session");
    if (reject_all_ || !sessions_.contains(secret)) return logged({.status = 401});
    const std::string suffix = cookies_ ? "" : "?session=" + secret;
    if (path == "/live/cam/video.m3u8") {
      return logged({.body = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:1\n"
                             "#EXTINF:2.0,\ns1.ts" +
                             suffix + "\n#EXTINF:2.0,\ns2.ts" + suffix + "\n"});
    }
    if (path == "/live/cam/s1.ts" || path == "/live/cam/s2.ts") {
      return logged({.body = std::string(kSegment)});
    }
    return logged({.status = 404});
  }

  const bool cookies_;
  // Guarded by mu_.
  mutable std::mutex mu_;
  std::set<std::string> sessions_;
  std::set<std::string> issued_;
  std::map<std::string, int> log_;  // "path status" -> answers
  int next_ = 0;
  bool reject_all_ = false;
  TestServer server_;  // last: its thread calls Answer until it is gone
};

HttpRequest GatedGet(const std::string& target) { return testing::GetRequest(target, "10.0.0.7"); }

HttpResponse GatedCall(Origin& origin, const std::string& target) {
  return testing::WithWholeBody(testing::Start(origin, GatedGet(target)).get());
}

// What a viewer receives, all of it, as one text.
std::string Seen(const HttpResponse& r) {
  std::string out = std::to_string(r.status) + "\n";
  for (const auto& [name, value] : r.headers) out += name + ": " + value + "\n";
  return out.append(r.BodyView());
}

class GatedUpstreamTest : public ::testing::TestWithParam<bool> {
 protected:
  std::unique_ptr<Origin> MakeProxy() {
    OriginOptions options;
    options.session_key = "gated-upstream-test-key";
    options.segment_metadata = false;
    options.upstream = *UpstreamTemplate::Parse(upstream_.Template());
    auto fetcher = UpstreamFetcher::Create(UpstreamFetcherOptions{}, clock_);
    EXPECT_TRUE(fetcher.ok());
    return std::make_unique<Origin>(options, clock_, std::move(*fetcher));
  }

  // Plays like a viewer: the multivariant, the media playlist it names (with
  // the session the proxy handed out), and returns that playlist's target.
  std::string StartWatching(Origin& proxy, std::string& seen) {
    const HttpResponse index = GatedCall(proxy, "/hls/cam/index.m3u8");
    seen += Seen(index);
    EXPECT_EQ(index.status, 200) << index.body;
    const std::size_t at = index.body.find("video.m3u8");
    EXPECT_NE(at, std::string::npos) << index.body;
    return "/hls/cam/" + index.body.substr(at, index.body.find('\n', at) - at);
  }

  FakeClock clock_{WallTime{std::chrono::hours(24 * 20000)}};
  GatedUpstream upstream_{GetParam()};
};

TEST_P(GatedUpstreamTest, TheUpstreamSessionIsTheProxysAndNeverReachesTheViewer) {
  std::unique_ptr<Origin> proxy = MakeProxy();
  std::string seen;
  const std::string media = StartWatching(*proxy, seen);
  const HttpResponse playlist = GatedCall(*proxy, media);
  seen += Seen(playlist);
  ASSERT_EQ(playlist.status, 200) << playlist.body;
  ASSERT_THAT(playlist.body, HasSubstr("s1.ts?hcs="));
  const HttpResponse segment = GatedCall(*proxy, "/hls/cam/s1.ts?hcs=x");
  seen += Seen(segment);
  EXPECT_EQ(segment.status, 200);
  EXPECT_EQ(segment.BodyView(), kSegment);

  // The proxy followed the 302 itself and opened one session.
  EXPECT_EQ(upstream_.Count("/live/cam/index.m3u8 302"), 1);
  EXPECT_EQ(upstream_.Count("/live/cam/index.m3u8 200"), 1);
  EXPECT_EQ(upstream_.Count("/live/cam/video.m3u8 401"), 0);
  ASSERT_EQ(upstream_.secrets().size(), 1U);
  for (const std::string& secret : upstream_.secrets()) EXPECT_THAT(seen, Not(HasSubstr(secret)));
  EXPECT_THAT(seen, Not(HasSubstr("session=")));
  EXPECT_THAT(seen, Not(HasSubstr("cookieCheck")));
  EXPECT_THAT(seen, Not(HasSubstr("Set-Cookie")));
  EXPECT_THAT(seen, Not(HasSubstr("Location")));
}

TEST_P(GatedUpstreamTest, AForgottenSessionIsRenewedOnceAndHeldUrlsKeepWorking) {
  std::unique_ptr<Origin> proxy = MakeProxy();
  std::string seen;
  const std::string media = StartWatching(*proxy, seen);
  ASSERT_EQ(GatedCall(*proxy, media).status, 200);

  upstream_.ForgetSessions();               // the upstream restarted
  clock_.Advance(std::chrono::seconds(2));  // past the playlist's reuse
  const HttpResponse again = GatedCall(*proxy, media);
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(GatedCall(*proxy, "/hls/cam/s2.ts?hcs=x").status, 200);
  EXPECT_EQ(upstream_.Count("/live/cam/video.m3u8 401"), 1);
  EXPECT_EQ(upstream_.Count("/live/cam/index.m3u8 200"), 2) << "one renewal";
  EXPECT_EQ(upstream_.Count("/live/cam/s2.ts 401"), 0) << "the segment went with the new session";
}

TEST_P(GatedUpstreamTest, RejectionsAtOnceShareOneRenewal) {
  std::unique_ptr<Origin> proxy = MakeProxy();
  std::string seen;
  const std::string media = StartWatching(*proxy, seen);
  ASSERT_EQ(GatedCall(*proxy, media).status, 200);
  upstream_.ForgetSessions();
  clock_.Advance(std::chrono::seconds(2));
  // Three different fetches, all rejected with the old session.
  std::vector<std::future<HttpResponse>> answers;
  for (const std::string& target :
       {media, std::string("/hls/cam/s1.ts?hcs=x"), std::string("/hls/cam/s2.ts?hcs=x")}) {
    answers.push_back(
        std::async(std::launch::async, [&proxy, target] { return GatedCall(*proxy, target); }));
  }
  for (std::future<HttpResponse>& answer : answers) EXPECT_EQ(answer.get().status, 200);
  EXPECT_EQ(upstream_.Count("/live/cam/index.m3u8 200"), 2) << "one renewal for all of them";
}

TEST_P(GatedUpstreamTest, AnUpstreamRejectingEverySessionIsABadGatewayNamingItsStatus) {
  std::unique_ptr<Origin> proxy = MakeProxy();
  std::string seen;
  const std::string media = StartWatching(*proxy, seen);
  upstream_.RejectEverySession();
  const HttpResponse answer = GatedCall(*proxy, media);
  EXPECT_EQ(answer.status, 502);
  EXPECT_THAT(answer.body, HasSubstr("upstream answered HTTP 401"));
  // One renewal and one retry, not a loop.
  EXPECT_EQ(upstream_.Count("/live/cam/video.m3u8 401"), 2);
  EXPECT_EQ(upstream_.Count("/live/cam/index.m3u8 200"), 2);
}

INSTANTIATE_TEST_SUITE_P(CookieAndQuerySessions, GatedUpstreamTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Cookie" : "Query";
                         });

}  // namespace gated_upstream_test
}  // namespace headcount
