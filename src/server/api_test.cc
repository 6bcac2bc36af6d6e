// Tests of the HTTP API as a handler without sockets: JSON shapes, CSV, the
// errors a client sees (400/404/405/503), and history queries on the worker
// pool under their cap, with a fake store and a fake clock.
#include "server/api.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/time_text.h"
#include "server/testing/answer.h"
#include "server/testing/request.h"

namespace headcount {
namespace {

using http_testing::MakeRequest;
using nlohmann::json;
using std::chrono::minutes;
using std::chrono::seconds;
using ::testing::HasSubstr;

// How long a test waits for an answer that should come.
constexpr std::chrono::seconds kAnswerTimeout{10};

Seconds At(const char* rfc3339) { return std::chrono::floor<seconds>(*ParseRfc3339(rfc3339)); }

// A HistoryReader over a fixed list of samples, able to fail on demand; it
// records the range it was asked for, and the thread. With `hold` set, each
// query waits until it is released (a slow store).
class FakeHistory final : public HistoryReader {
 public:
  Result<std::vector<Sample>> History(const ChannelId& channel, Seconds from, Seconds to) override {
    thread = std::this_thread::get_id();
    ++queries_started;
    if (hold) hold->wait();
    asked_from = from;
    asked_to = to;
    if (history_error) return *history_error;
    std::vector<Sample> out;
    for (const Sample& s : samples) {
      if (s.channel == channel && s.bucket >= from && s.bucket <= to) out.push_back(s);
    }
    return out;
  }
  Result<bool> HasChannel(const ChannelId& channel) override {
    if (has_error) return *has_error;
    for (const Sample& s : samples) {
      if (s.channel == channel) return true;
    }
    return false;
  }

  std::vector<Sample> samples;
  std::optional<Error> history_error;
  std::optional<Error> has_error;
  std::optional<std::shared_future<void>> hold;
  std::atomic<int> queries_started{0};
  std::thread::id thread;
  Seconds asked_from{};
  Seconds asked_to{};
};

using http_testing::Answer;
using http_testing::HasHeader;
using http_testing::RespondTo;

// Calls api.Handle; the answer lands in the returned Answer.
std::shared_ptr<Answer> Ask(Api& api, const HttpRequest& request) {
  auto answer = std::make_shared<Answer>();
  api.Handle(request, RespondTo(answer));
  return answer;
}

class ApiTest : public ::testing::Test {
 protected:
  ApiTest() : clock_(*ParseRfc3339("2026-11-25T12:03:30Z")), live_(clock_) {}

  ~ApiTest() override {
    ReleaseStore();
    if (releaser_.joinable()) releaser_.join();
    pool_.Stop();  // no query runs once the Api is gone
  }

  // Makes every store query wait until ReleaseStore(), or `at_most` (so that
  // a query run on the test's own thread delays the test instead of hanging it).
  void HoldStore(std::chrono::milliseconds at_most = std::chrono::seconds(2)) {
    history_.hold = release_.get_future().share();
    releaser_ = std::thread([this, at_most] {
      std::unique_lock lock(release_mu_);
      release_cv_.wait_for(lock, at_most, [this] { return released_; });
      release_.set_value();
    });
  }
  void ReleaseStore() {
    {
      std::lock_guard lock(release_mu_);
      released_ = true;
    }
    release_cv_.notify_all();
  }

  // Asks the Api and waits for its answer (history comes from a worker).
  HttpResponse Get(const std::string& target, std::map<std::string, std::string> headers = {},
                   const std::string& method = "GET") {
    const auto answer = Ask(api_, MakeRequest(target, method, std::move(headers)));
    if (!answer->Ready(kAnswerTimeout)) {
      ADD_FAILURE() << "no answer to " << target;
      return HttpResponse::Text(0, "no answer");
    }
    return answer->future.get();
  }

  static json Body(const HttpResponse& r) {
    EXPECT_EQ(r.content_type, "application/json");
    return json::parse(r.body);
  }

  // A tick at 12:03 with "demo" (rising) and "alpha" (a gap in its newest minute).
  void TickWithTwoChannels() {
    TickReport report;
    report.bucket = At("2026-11-25T12:03:00Z");
    Summary demo;
    demo.channel = "demo";
    demo.at = At("2026-11-25T12:03:00Z");
    demo.counts = {8, 9, std::nullopt, 11, 12};
    demo.trend = Trend::kRising;
    Summary alpha;
    alpha.channel = "alpha";
    alpha.at = At("2026-11-25T12:03:00Z");
    alpha.counts = {3, 3, 3, 3, std::nullopt};
    alpha.trend = Trend::kSteady;
    report.summaries = {demo, alpha};
    live_.Update(report);
  }

  FakeClock clock_;
  LiveState live_;
  FakeHistory history_;
  Metrics metrics_;
  WorkerPool pool_{WorkerPoolOptions{.threads = 4}};
  Api api_{live_, history_, metrics_, clock_, pool_};

  std::promise<void> release_;
  std::thread releaser_;
  std::mutex release_mu_;
  std::condition_variable release_cv_;
  bool released_ = false;  // guarded by release_mu_
};

TEST_F(ApiTest, ChannelsBeforeAnyTick) {
  const HttpResponse r = Get("/api/channels");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Body(r), json::parse(R"({"bucket_seconds":60,"updated":null,"channels":[]})"));
}

TEST_F(ApiTest, ChannelsShowTheLatestSummariesSortedById) {
  TickWithTwoChannels();
  const HttpResponse r = Get("/api/channels");
  ASSERT_EQ(r.status, 200);
  const json expected = json::parse(R"({
    "bucket_seconds": 60,
    "updated": "2026-11-25T12:03:30Z",
    "channels": [
      {"id": "alpha", "live": true, "viewers": null, "at": "2026-11-25T12:03:00Z",
       "buckets": [{"start": "2026-11-25T11:59:00Z", "viewers": 3},
                   {"start": "2026-11-25T12:00:00Z", "viewers": 3},
                   {"start": "2026-11-25T12:01:00Z", "viewers": 3},
                   {"start": "2026-11-25T12:02:00Z", "viewers": 3},
                   {"start": "2026-11-25T12:03:00Z", "viewers": null}],
       "trend": "steady"},
      {"id": "demo", "live": true, "viewers": 12, "at": "2026-11-25T12:03:00Z",
       "buckets": [{"start": "2026-11-25T11:59:00Z", "viewers": 8},
                   {"start": "2026-11-25T12:00:00Z", "viewers": 9},
                   {"start": "2026-11-25T12:01:00Z", "viewers": null},
                   {"start": "2026-11-25T12:02:00Z", "viewers": 11},
                   {"start": "2026-11-25T12:03:00Z", "viewers": 12}],
       "trend": "rising"}
    ]})");
  EXPECT_EQ(Body(r), expected) << r.body;
  EXPECT_THAT(r.headers, ::testing::Contains(
                             std::pair<std::string, std::string>("Cache-Control", "no-store")));
}

TEST_F(ApiTest, ChannelsMissingFromTheLastTickAreOffline) {
  TickWithTwoChannels();
  clock_.Advance(minutes(1));
  live_.Update(TickReport{});
  const json body = Body(Get("/api/channels"));
  ASSERT_EQ(body["channels"].size(), 2u);
  EXPECT_EQ(body["channels"][1]["id"], "demo");
  EXPECT_EQ(body["channels"][1]["live"], false);
  EXPECT_EQ(body["updated"], "2026-11-25T12:04:30Z");
}

TEST_F(ApiTest, HistoryAsJsonDefaultsToTheLastHour) {
  history_.samples = {{"demo", At("2026-11-25T11:00:00Z"), 1},  // before the hour
                      {"demo", At("2026-11-25T11:03:00Z"), 5},
                      {"demo", At("2026-11-25T12:02:00Z"), 7},
                      {"other", At("2026-11-25T12:02:00Z"), 100}};
  const HttpResponse r = Get("/api/channels/demo/history");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r), json::parse(R"({"channel":"demo","from":"2026-11-25T11:03:00Z",
    "to":"2026-11-25T12:03:00Z","bucket_seconds":60,
    "points":[{"start":"2026-11-25T11:03:00Z","viewers":5},
              {"start":"2026-11-25T12:02:00Z","viewers":7}]})"));
  EXPECT_EQ(history_.asked_from, At("2026-11-25T11:03:00Z"));
  EXPECT_EQ(history_.asked_to, At("2026-11-25T12:03:00Z"));
}

TEST_F(ApiTest, SummaryByHourOrDayWithTheTotal) {
  history_.samples = {
      {"demo", At("2026-11-24T11:00:00Z"), 99},  // before the 24 h
      {"demo", At("2026-11-24T23:30:00Z"), 4},   {"demo", At("2026-11-25T11:00:00Z"), 10},
      {"demo", At("2026-11-25T11:01:00Z"), 30},  {"demo", At("2026-11-25T12:02:00Z"), 20},
      {"other", At("2026-11-25T12:02:00Z"), 100}};
  const HttpResponse r = Get("/api/channels/demo/summary");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r), json::parse(R"({"channel":"demo","from":"2026-11-24T12:03:00Z",
    "to":"2026-11-25T12:03:00Z","by":"hour","bucket_seconds":60,
    "periods":[
      {"start":"2026-11-24T23:00:00Z","peak":4,"peak_at":"2026-11-24T23:30:00Z","average":4.0,
       "viewer_minutes":4.0,"live_minutes":1.0,"distinct_viewers":null},
      {"start":"2026-11-25T11:00:00Z","peak":30,"peak_at":"2026-11-25T11:01:00Z","average":20.0,
       "viewer_minutes":40.0,"live_minutes":2.0,"distinct_viewers":null},
      {"start":"2026-11-25T12:00:00Z","peak":20,"peak_at":"2026-11-25T12:02:00Z","average":20.0,
       "viewer_minutes":20.0,"live_minutes":1.0,"distinct_viewers":null}],
    "total":{"peak":30,"peak_at":"2026-11-25T11:01:00Z","average":16.0,"viewer_minutes":64.0,
             "live_minutes":4.0,"distinct_viewers":null}})"));

  const json days = Body(Get("/api/channels/demo/summary?since=2d&by=day"));
  ASSERT_EQ(days["periods"].size(), 2U);
  EXPECT_EQ(days["periods"][0]["start"], "2026-11-24T00:00:00Z");
  EXPECT_EQ(days["periods"][0]["peak"], 99);
  EXPECT_EQ(days["periods"][1]["peak"], 30);
  EXPECT_EQ(days["total"]["peak"], 99);

  EXPECT_EQ(Get("/api/channels/demo/summary?by=week").status, 400);
  EXPECT_EQ(Get("/api/channels/demo/summary?format=csv").status, 400);
  EXPECT_EQ(Get("/api/channels/demo/summary?since=0s").status, 400);
  EXPECT_EQ(Get("/api/channels/nobody/summary").status, 404);
  EXPECT_EQ(Get("/api/channels/demo/summary", {}, "POST").status, 405);
}

TEST_F(ApiTest, HistorySinceIsParsedAndBounded) {
  history_.samples = {{"demo", At("2026-11-25T12:02:00Z"), 7}};
  EXPECT_EQ(Get("/api/channels/demo/history?since=90m").status, 200);
  EXPECT_EQ(history_.asked_from, At("2026-11-25T10:33:00Z"));
  EXPECT_EQ(Get("/api/channels/demo/history?since=366d").status, 200);
  for (const char* bad : {"0s", "367d", "abc", "-1h", "", "1x"}) {
    const HttpResponse r = Get(std::string("/api/channels/demo/history?since=") + bad);
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_THAT(Body(r)["error"].get<std::string>(), HasSubstr("since")) << bad;
  }
}

TEST_F(ApiTest, HistoryAsCsvByParameterOrAccept) {
  history_.samples = {{"demo", At("2026-11-25T12:01:00Z"), 6},
                      {"demo", At("2026-11-25T12:02:00Z"), 7}};
  const std::string csv = "start,viewers\n2026-11-25T12:01:00Z,6\n2026-11-25T12:02:00Z,7\n";
  HttpResponse r = Get("/api/channels/demo/history?format=csv");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/csv; charset=utf-8");
  EXPECT_EQ(r.body, csv);

  r = Get("/api/channels/demo/history", {{"accept", "text/csv"}});
  EXPECT_EQ(r.content_type, "text/csv; charset=utf-8");
  EXPECT_EQ(r.body, csv);
  r = Get("/api/channels/demo/history", {{"accept", "application/json;q=0.5, text/csv"}});
  EXPECT_EQ(r.content_type, "text/csv; charset=utf-8");

  r = Get("/api/channels/demo/history", {{"accept", "text/csv;q=0.5, application/json"}});
  EXPECT_EQ(r.content_type, "application/json");
  r = Get("/api/channels/demo/history?format=json", {{"accept", "text/csv"}});
  EXPECT_EQ(r.content_type, "application/json");  // the parameter wins
  r = Get("/api/channels/demo/history", {{"accept", "*/*"}});
  EXPECT_EQ(r.content_type, "application/json");
}

TEST_F(ApiTest, HistoryRefusesAnUnknownFormat) {
  history_.samples = {{"demo", At("2026-11-25T12:02:00Z"), 7}};
  const HttpResponse r = Get("/api/channels/demo/history?format=xml");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(Body(r)["error"].get<std::string>(), HasSubstr("format"));
}

TEST_F(ApiTest, HistoryRefusesBadChannelIds) {
  for (const std::string& id :
       std::vector<std::string>{"bad.id", "a%20b", std::string(65, 'x'), "%C3%A9t%C3%A9"}) {
    const HttpResponse r = Get("/api/channels/" + id + "/history");
    EXPECT_EQ(r.status, 400) << id;
    EXPECT_THAT(Body(r)["error"].get<std::string>(), HasSubstr("channel id")) << id;
  }
  EXPECT_EQ(Get("/api/channels/" + std::string(64, 'x') + "/history").status, 404);
}

constexpr const char* kArn = "arn:aws:ivs:us-west-2:123456789012:channel/abcdEFGH1234";
// kArn as encodeURIComponent writes it: one path segment.
constexpr const char* kEncodedArn =
    "arn%3Aaws%3Aivs%3Aus-west-2%3A123456789012%3Achannel%2FabcdEFGH1234";

TEST_F(ApiTest, HistoryOfAnIvsChannelByItsEncodedArn) {
  history_.samples = {{kArn, At("2026-11-25T12:01:00Z"), 6},
                      {kArn, At("2026-11-25T12:02:00Z"), 7},
                      {"demo", At("2026-11-25T12:02:00Z"), 100}};
  HttpResponse r = Get(std::string("/api/channels/") + kEncodedArn + "/history?since=1h");
  ASSERT_EQ(r.status, 200) << r.body;
  const json body = Body(r);
  EXPECT_EQ(body["channel"], kArn);
  EXPECT_EQ(body["points"], json::parse(R"([{"start":"2026-11-25T12:01:00Z","viewers":6},
                                            {"start":"2026-11-25T12:02:00Z","viewers":7}])"));

  // ':' needs no escape in a path; only the '/' must be %2F (either case).
  r = Get("/api/channels/arn:aws:ivs:us-west-2:123456789012:channel%2fabcdEFGH1234/history");
  EXPECT_EQ(r.status, 200) << r.body;
  r = Get(std::string("/api/channels/") + kEncodedArn + "/history?format=csv");
  EXPECT_EQ(r.body, "start,viewers\n2026-11-25T12:01:00Z,6\n2026-11-25T12:02:00Z,7\n");
}

TEST_F(ApiTest, HistoryOfAnIvsChannelSeenLiveButNotStoredIsEmpty) {
  TickReport report;
  report.bucket = At("2026-11-25T12:03:00Z");
  Summary s;
  s.channel = kArn;
  s.at = report.bucket;
  report.summaries = {s};
  live_.Update(report);
  const HttpResponse r = Get(std::string("/api/channels/") + kEncodedArn + "/history");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r)["points"], json::array());
}

TEST_F(ApiTest, AnUnencodedArnIsABadRequestThatSaysToEncodeIt) {
  // A raw '/' splits the ARN into two segments: the README promises a 400
  // that says how to send it, not a 404 that reads as "no such channel".
  history_.samples = {{kArn, At("2026-11-25T12:02:00Z"), 7}};
  const HttpResponse r =
      Get("/api/channels/arn:aws:ivs:us-west-2:123456789012:channel/abcdEFGH1234/history");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(Body(r)["error"].get<std::string>().find("percent-encode"), std::string::npos);
}

TEST_F(ApiTest, HistoryRefusesIdsThatAreNeitherOriginIdsNorChannelArns) {
  for (const std::string id : {
           "arn%3Aaws%3Aivs%3Aus-west-2%3A123456789012%3Astream-key%2Fabc",  // not a channel
           "arn%3Aaws%3As3%3Aus-west-2%3A123456789012%3Achannel%2Fabc",      // not IVS
           "arn%3Aaws%3Aivs%3Aus-west-2%3A123456789012%3Achannel%2Fa%2Fb",   // '/' in the id
           "arn%3Aaws%3Aivs%3Aus-west-2%3A123456789012%3Achannel%2F",        // no id
           "a%2Fb",                                                          // an encoded '/'
           "%2E%2E",                                                         // ".."
           "demo%ZZ",                                                        // bad escape
       }) {
    HttpRequest req;
    req.method = "GET";
    req.target = "/api/channels/" + id + "/history";
    req.path = req.target;  // the server's decoded path does not matter here
    const auto answer = Ask(api_, req);
    ASSERT_TRUE(answer->arrived) << id;  // refused at once
    const HttpResponse r = answer->future.get();
    EXPECT_EQ(r.status, 400) << id;
    EXPECT_THAT(Body(r)["error"].get<std::string>(), HasSubstr("invalid channel id")) << id;
  }
}

TEST_F(ApiTest, HistoryOfAnUnknownChannelIs404) {
  const HttpResponse r = Get("/api/channels/nobody/history");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(Body(r), json::parse(R"({"error":"unknown channel"})"));
}

TEST_F(ApiTest, HistoryOfALiveChannelWithNothingStoredIsEmpty) {
  TickWithTwoChannels();
  const HttpResponse r = Get("/api/channels/demo/history");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(Body(r)["points"], json::array());
}

TEST_F(ApiTest, StoreErrorsAre503) {
  history_.samples = {{"demo", At("2026-11-25T12:02:00Z"), 7}};
  history_.has_error = Error::Unavailable("database is locked");
  HttpResponse r = Get("/api/channels/demo/history");
  EXPECT_EQ(r.status, 503);
  EXPECT_TRUE(Body(r).contains("error"));
  EXPECT_THAT(r.body, ::testing::Not(HasSubstr("locked")));  // no internals to clients

  history_.has_error.reset();
  history_.history_error = Error::Io("disk I/O error");
  r = Get("/api/channels/demo/history");
  EXPECT_EQ(r.status, 503);
  EXPECT_TRUE(Body(r).contains("error"));
}

TEST_F(ApiTest, OnlyGetAndHead) {
  for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS"}) {
    const HttpResponse r = Get("/api/channels", {}, method);
    EXPECT_EQ(r.status, 405) << method;
    EXPECT_THAT(r.headers,
                ::testing::Contains(std::pair<std::string, std::string>("Allow", "GET, HEAD")));
    EXPECT_TRUE(Body(r).contains("error"));
  }
  EXPECT_EQ(Get("/healthz", {}, "POST").status, 405);
  EXPECT_EQ(Get("/api/channels", {}, "HEAD").status, 200);
}

TEST_F(ApiTest, UnknownPathsAre404Json) {
  for (const char* path :
       {"/api", "/api/", "/api/nope", "/api/channels/demo", "/api/channels/demo/history/x",
        "/api/channels//history", "/api/channels/", "/nothing"}) {
    const HttpResponse r = Get(path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_TRUE(Body(r).contains("error")) << path;
  }
  EXPECT_EQ(Get("/api/nope", {}, "POST").status, 404);
}

TEST_F(ApiTest, Healthz) {
  EXPECT_EQ(Body(Get("/healthz")), json::parse(R"({"status":"ok","last_tick":null})"));
  TickWithTwoChannels();
  const HttpResponse r = Get("/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Body(r), json::parse(R"({"status":"ok","last_tick":"2026-11-25T12:03:30Z"})"));
}

TEST_F(ApiTest, HealthzSaysWhyANodeIsDegraded) {
  std::optional<std::string> why = "kUnavailable: Redis at cache:6379: Connection refused";
  ApiOptions options;
  options.degraded = [&why] { return why; };
  Api api(live_, history_, metrics_, clock_, pool_, options);
  const auto degraded = Ask(api, MakeRequest("/healthz", "GET", {}));
  ASSERT_TRUE(degraded->Ready(kAnswerTimeout));
  const HttpResponse r = degraded->future.get();
  EXPECT_EQ(r.status, 200);  // it still serves
  EXPECT_EQ(Body(r),
            json::parse(R"({"status":"degraded","last_tick":null,)"
                        R"("degraded":"kUnavailable: Redis at cache:6379: Connection refused"})"));
  why.reset();
  const auto back = Ask(api, MakeRequest("/healthz", "GET", {}));
  ASSERT_TRUE(back->Ready(kAnswerTimeout));
  EXPECT_EQ(Body(back->future.get()), json::parse(R"({"status":"ok","last_tick":null})"));
}

TEST_F(ApiTest, Metrics) {
  TickReport report;
  metrics_.RecordTick(report);
  const HttpResponse r = Get("/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_THAT(r.body, HasSubstr("headcount_ticks_total{result=\"ok\"} 1\n"));
}

TEST_F(ApiTest, HistoryIsQueriedOnAWorkerAndAnsweredFromThere) {
  TickWithTwoChannels();
  HoldStore();
  const auto answer = Ask(api_, MakeRequest("/api/channels/demo/history"));
  // Handle returned while the store is still busy: the caller (an I/O
  // thread) is free.
  EXPECT_FALSE(answer->Ready());
  ReleaseStore();
  ASSERT_TRUE(answer->Ready(kAnswerTimeout));
  EXPECT_EQ(answer->future.get().status, 200);
  EXPECT_NE(history_.thread, std::this_thread::get_id());
}

TEST_F(ApiTest, EverythingButHistoryIsAnsweredBeforeHandleReturns) {
  TickWithTwoChannels();
  for (const char* target :
       {"/api/channels", "/healthz", "/metrics", "/nothing", "/api/channels/demo/history?since=0s",
        "/api/channels/demo/history?format=xml", "/api/channels/a%2Fb/history"}) {
    const auto answer = Ask(api_, MakeRequest(target));
    EXPECT_TRUE(answer->arrived) << target;
  }
  EXPECT_EQ(history_.queries_started, 0);
}

TEST_F(ApiTest, HistoryQueriesPastTheCapAre503WithRetryAfter) {
  TickWithTwoChannels();
  HoldStore();
  Api api(live_, history_, metrics_, clock_, pool_, ApiOptions{.max_history_queries = 2});
  const auto first = Ask(api, MakeRequest("/api/channels/demo/history"));
  const auto second = Ask(api, MakeRequest("/api/channels/alpha/history?format=csv"));

  const auto third = Ask(api, MakeRequest("/api/channels/demo/history?since=24h"));
  ASSERT_TRUE(third->arrived);  // at once, not queued behind the two
  const HttpResponse busy = third->future.get();
  EXPECT_EQ(busy.status, 503);
  EXPECT_TRUE(HasHeader(busy, "Retry-After", "5"));
  EXPECT_TRUE(HasHeader(busy, "Cache-Control", "no-store"));
  EXPECT_THAT(busy.body, HasSubstr("too many history queries"));
  EXPECT_TRUE(Ask(api, MakeRequest("/api/channels"))->arrived);  // other routes are not capped

  ReleaseStore();
  ASSERT_TRUE(first->Ready(kAnswerTimeout));
  ASSERT_TRUE(second->Ready(kAnswerTimeout));
  EXPECT_EQ(first->future.get().status, 200);
  EXPECT_EQ(second->future.get().status, 200);
  // Both permits are back: two more are taken.
  const auto again = Ask(api, MakeRequest("/api/channels/demo/history"));
  const auto again2 = Ask(api, MakeRequest("/api/channels/alpha/history"));
  ASSERT_TRUE(again->Ready(kAnswerTimeout));
  ASSERT_TRUE(again2->Ready(kAnswerTimeout));
  EXPECT_EQ(again->future.get().status, 200);
  EXPECT_EQ(again2->future.get().status, 200);
  pool_.Stop();  // before `api` goes
}

TEST(ApiServesTest, KnowsItsPaths) {
  EXPECT_TRUE(Api::Serves("/api/channels"));
  EXPECT_TRUE(Api::Serves("/healthz"));
  EXPECT_TRUE(Api::Serves("/metrics"));
  EXPECT_FALSE(Api::Serves("/hls/demo/stream.m3u8"));
  EXPECT_FALSE(Api::Serves("/apis"));
}

TEST(AcceptPrefersCsvTest, ComparesQualities) {
  EXPECT_TRUE(AcceptPrefersCsv("text/csv"));
  EXPECT_TRUE(AcceptPrefersCsv("Text/CSV; charset=utf-8"));
  EXPECT_TRUE(AcceptPrefersCsv("text/*, application/json;q=0.9"));
  EXPECT_TRUE(AcceptPrefersCsv("text/csv;q=0.8, */*;q=0.1"));
  EXPECT_FALSE(AcceptPrefersCsv(""));
  EXPECT_FALSE(AcceptPrefersCsv("*/*"));
  EXPECT_FALSE(AcceptPrefersCsv("application/json, text/csv"));  // a tie keeps JSON
  EXPECT_FALSE(AcceptPrefersCsv("text/csv;q=0, */*"));
  EXPECT_FALSE(AcceptPrefersCsv("text/html"));
}

}  // namespace
}  // namespace headcount
