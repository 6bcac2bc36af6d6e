// Tests of the Prometheus registry and headcount's metrics: the text format
// as a scraper parses it.
#include "server/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <thread>

namespace headcount {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// One sample line: name, labels (unescaped), value text.
struct Line {
  std::string name;
  MetricLabels labels;
  std::string value;
};

// Parses a sample line of text format 0.0.4; fails the test on bad syntax.
Line ParseLine(const std::string& text) {
  Line line;
  std::size_t i = 0;
  while (i < text.size() && text[i] != '{' && text[i] != ' ') line.name += text[i++];
  if (i < text.size() && text[i] == '{') {
    ++i;
    while (i < text.size() && text[i] != '}') {
      std::string name;
      while (i < text.size() && text[i] != '=') name += text[i++];
      EXPECT_EQ(text.substr(i, 2), "=\"") << text;
      i += 2;
      std::string value;
      for (; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\') {
          ++i;
          EXPECT_LT(i, text.size()) << text;
          const char c = text[i];
          EXPECT_TRUE(c == '\\' || c == '"' || c == 'n') << "bad escape in " << text;
          value += c == 'n' ? '\n' : c;
        } else {
          EXPECT_NE(text[i], '\n');
          value += text[i];
        }
      }
      ++i;  // closing quote
      line.labels[name] = value;
      if (i < text.size() && text[i] == ',') ++i;
    }
    ++i;  // '}'
  }
  EXPECT_EQ(text[i], ' ') << text;
  line.value = text.substr(i + 1);
  EXPECT_FALSE(line.value.empty()) << text;
  return line;
}

// Every sample line of `text`; checks HELP/TYPE lines come before a family.
std::vector<Line> Samples(const std::string& text) {
  std::vector<Line> out;
  std::istringstream in(text);
  std::string line;
  EXPECT_TRUE(text.empty() || text.back() == '\n');
  while (std::getline(in, line)) {
    if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) continue;
    EXPECT_NE(line.front(), '#') << line;
    out.push_back(ParseLine(line));
  }
  return out;
}

// The value of the series `name` with exactly `labels`, or "" if absent.
std::string ValueOf(const std::string& text, const std::string& name, const MetricLabels& labels) {
  for (const Line& l : Samples(text)) {
    if (l.name == name && l.labels == labels) return l.value;
  }
  return "";
}

TEST(MetricsRegistryTest, CountersAndGaugesWithLabels) {
  MetricsRegistry r;
  r.DeclareCounter("c_total", "A counter.");
  r.DeclareGauge("g", "A gauge.");
  r.Add("c_total", {{"a", "x"}});
  r.Add("c_total", {{"a", "x"}}, 2);
  r.Add("c_total", {{"a", "y"}});
  r.Set("g", {}, 1.5);
  r.Set("g", {}, -3);
  const std::string text = r.Render();
  EXPECT_THAT(text, HasSubstr("# HELP c_total A counter.\n# TYPE c_total counter\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE g gauge\n"));
  EXPECT_EQ(ValueOf(text, "c_total", {{"a", "x"}}), "3");
  EXPECT_EQ(ValueOf(text, "c_total", {{"a", "y"}}), "1");
  EXPECT_EQ(ValueOf(text, "g", {}), "-3");
  EXPECT_THAT(text, HasSubstr("\ng -3\n"));  // no braces without labels
}

TEST(MetricsRegistryTest, EscapesLabelValuesAndHelp) {
  MetricsRegistry r;
  r.DeclareGauge("g", "Help with \\ and\nnewline.");
  const std::string nasty = "a\\b\"c\nd}e,f=g";
  r.Set("g", {{"channel", nasty}}, 1);
  const std::string text = r.Render();
  EXPECT_THAT(text, HasSubstr(R"(g{channel="a\\b\"c\nd}e,f=g"} 1)"));
  EXPECT_THAT(text, HasSubstr("# HELP g Help with \\\\ and\\nnewline.\n"));
  EXPECT_EQ(ValueOf(text, "g", {{"channel", nasty}}), "1");
}

TEST(MetricsRegistryTest, HistogramBucketsAreCumulativeWithInf) {
  MetricsRegistry r;
  r.DeclareHistogram("h_seconds", "A histogram.", {0.1, 1, 10});
  for (const double v : {0.05, 0.1, 0.5, 2.0, 100.0}) r.Observe("h_seconds", v);
  const std::string text = r.Render();
  EXPECT_THAT(text, HasSubstr("# TYPE h_seconds histogram\n"));
  EXPECT_EQ(ValueOf(text, "h_seconds_bucket", {{"le", "0.1"}}), "2");  // le is inclusive
  EXPECT_EQ(ValueOf(text, "h_seconds_bucket", {{"le", "1"}}), "3");
  EXPECT_EQ(ValueOf(text, "h_seconds_bucket", {{"le", "10"}}), "4");
  EXPECT_EQ(ValueOf(text, "h_seconds_bucket", {{"le", "+Inf"}}), "5");
  EXPECT_EQ(ValueOf(text, "h_seconds_count", {}), "5");
  EXPECT_DOUBLE_EQ(std::stod(ValueOf(text, "h_seconds_sum", {})), 102.65);
  // Buckets come in ascending order, +Inf last, then _sum and _count.
  EXPECT_LT(text.find("le=\"0.1\""), text.find("le=\"1\""));
  EXPECT_LT(text.find("le=\"10\""), text.find("le=\"+Inf\""));
  EXPECT_LT(text.find("le=\"+Inf\""), text.find("h_seconds_sum"));
  EXPECT_LT(text.find("h_seconds_sum"), text.find("h_seconds_count"));
}

TEST(MetricsRegistryTest, ReplaceAllDropsOldSeriesAndCallbackWins) {
  MetricsRegistry r;
  r.DeclareGauge("v", "Viewers.");
  r.DeclareGauge("s", "Sessions.");
  r.ReplaceAll("v", {{{{"channel", "a"}}, 1}, {{{"channel", "b"}}, 2}});
  r.ReplaceAll("v", {{{{"channel", "b"}}, 3}});
  int calls = 0;
  r.SetCallback("s", [&] { return static_cast<double>(++calls * 10); });
  const std::string text = r.Render();
  EXPECT_EQ(ValueOf(text, "v", {{"channel", "a"}}), "");
  EXPECT_EQ(ValueOf(text, "v", {{"channel", "b"}}), "3");
  EXPECT_EQ(ValueOf(text, "s", {}), "10");
  EXPECT_EQ(ValueOf(r.Render(), "s", {}), "20");  // asked at every render
}

TEST(MetricsRegistryTest, ConcurrentUpdatesAreCounted) {
  MetricsRegistry r;
  r.DeclareCounter("c_total", "A counter.");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) r.Add("c_total", {{"k", "v"}});
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ValueOf(r.Render(), "c_total", {{"k", "v"}}), "4000");
}

TickReport SampleReport() {
  TickReport report;
  report.seen = 3;
  report.stored = 3;
  report.published = 2;
  report.skipped.push_back({"c", "publish", "quota"});
  report.duration = std::chrono::milliseconds(42);
  Summary a;
  a.channel = "a";
  a.counts = {1, 2, 3, 4, 12};
  Summary b;
  b.channel = "b";
  b.counts = {1, 2, 3, 4, std::nullopt};  // newest minute unknown
  report.summaries = {a, b};
  return report;
}

TEST(MetricsTest, RecordTickSetsEverySeries) {
  Metrics m;
  m.RecordTick(SampleReport());
  TickReport failed = SampleReport();
  failed.failed.push_back({"d", "store", "disk full"});
  failed.duration = std::chrono::milliseconds(2500);
  Summary only_c;
  only_c.channel = "c";
  only_c.counts = {std::nullopt, std::nullopt, std::nullopt, std::nullopt, 7};
  failed.summaries = {only_c};
  m.RecordTick(failed);

  const std::string text = m.Render();
  EXPECT_EQ(ValueOf(text, "headcount_ticks_total", {{"result", "ok"}}), "1");
  EXPECT_EQ(ValueOf(text, "headcount_ticks_total", {{"result", "failed"}}), "1");
  EXPECT_EQ(ValueOf(text, "headcount_tick_duration_seconds_count", {}), "2");
  EXPECT_EQ(ValueOf(text, "headcount_tick_duration_seconds_bucket", {{"le", "0.05"}}), "1");
  EXPECT_EQ(ValueOf(text, "headcount_tick_duration_seconds_bucket", {{"le", "2.5"}}), "2");
  EXPECT_EQ(ValueOf(text, "headcount_tick_duration_seconds_bucket", {{"le", "0.001"}}), "0");
  EXPECT_EQ(ValueOf(text, "headcount_tick_duration_seconds_bucket", {{"le", "60"}}), "2");
  EXPECT_DOUBLE_EQ(std::stod(ValueOf(text, "headcount_tick_duration_seconds_sum", {})), 2.542);
  EXPECT_EQ(ValueOf(text, "headcount_tick_channels", {{"kind", "seen"}}), "3");
  EXPECT_EQ(ValueOf(text, "headcount_tick_channels", {{"kind", "published"}}), "2");
  EXPECT_EQ(ValueOf(text, "headcount_tick_channels", {{"kind", "skipped"}}), "1");
  EXPECT_EQ(ValueOf(text, "headcount_tick_channels", {{"kind", "failed"}}), "1");
  // The viewers set is replaced as a whole: a and b went offline.
  EXPECT_EQ(ValueOf(text, "headcount_channel_viewers", {{"channel", "a"}}), "");
  EXPECT_EQ(ValueOf(text, "headcount_channel_viewers", {{"channel", "c"}}), "7");
}

TEST(MetricsTest, ViewersLeaveOutAGapInsteadOfZero) {
  Metrics m;
  m.RecordTick(SampleReport());
  const std::string text = m.Render();
  EXPECT_EQ(ValueOf(text, "headcount_channel_viewers", {{"channel", "a"}}), "12");
  EXPECT_THAT(text, Not(HasSubstr("channel=\"b\"")));
}

TEST(MetricsTest, FreshMetricsRenderZeroTicksAndNoSessionsWithoutCallback) {
  Metrics m;
  const std::string text = m.Render();
  EXPECT_EQ(ValueOf(text, "headcount_ticks_total", {{"result", "ok"}}), "0");
  EXPECT_EQ(ValueOf(text, "headcount_ticks_total", {{"result", "failed"}}), "0");
  EXPECT_EQ(ValueOf(text, "headcount_tick_duration_seconds_bucket", {{"le", "+Inf"}}), "0");
  EXPECT_EQ(ValueOf(text, "headcount_sessions_active", {}), "");
  for (const char* family :
       {"headcount_ticks_total counter", "headcount_tick_duration_seconds histogram",
        "headcount_tick_channels gauge", "headcount_channel_viewers gauge",
        "headcount_sessions_active gauge", "headcount_heartbeat_viewers_active gauge",
        "headcount_event_streams_open gauge", "headcount_http_requests_total counter"}) {
    EXPECT_THAT(text, HasSubstr(std::string("# TYPE ") + family + "\n"));
  }
}

TEST(MetricsTest, SessionsCallbackAndHttpRequests) {
  Metrics m;
  m.SetSessionsCallback([] { return std::int64_t{17}; });
  m.SetHeartbeatViewersCallback([] { return std::int64_t{4}; });
  m.SetEventStreamsCallback([] { return std::int64_t{3}; });
  m.CountRequest(HttpRoute::kApi, 200);
  m.CountRequest(ClassifyRoute("/api/channels"), 200);
  m.CountRequest("hls_segment", 404);
  m.CountRequest("/some/raw/path", 200);  // not a route name: "other"
  const std::string text = m.Render();
  EXPECT_EQ(ValueOf(text, "headcount_sessions_active", {}), "17");
  EXPECT_EQ(ValueOf(text, "headcount_heartbeat_viewers_active", {}), "4");
  EXPECT_EQ(ValueOf(text, "headcount_event_streams_open", {}), "3");
  EXPECT_EQ(ValueOf(text, "headcount_http_requests_total", {{"route", "api"}, {"code", "200"}}),
            "2");
  EXPECT_EQ(
      ValueOf(text, "headcount_http_requests_total", {{"route", "hls_segment"}, {"code", "404"}}),
      "1");
  EXPECT_EQ(ValueOf(text, "headcount_http_requests_total", {{"route", "other"}, {"code", "200"}}),
            "1");
  EXPECT_THAT(text, Not(HasSubstr("/some/raw/path")));
}

TEST(MetricsTest, CmcdReportsBadLinesAndSidsPerChannelAskedAtRenderTime) {
  Metrics m;
  std::string text = m.Render();
  for (const char* family :
       {"headcount_cmcd_reports_total counter", "headcount_cmcd_bad_lines_total counter",
        "headcount_cmcd_active_sids gauge"}) {
    EXPECT_THAT(text, HasSubstr(std::string("# TYPE ") + family + "\n"));
  }
  std::uint64_t reports = 3;
  std::map<std::string, std::int64_t> sids = {{"a", 2}, {"b\"", 1}};
  m.SetCmcdCallbacks([&] { return reports; }, [] { return std::uint64_t{1}; },
                     [&] { return sids; });
  text = m.Render();
  EXPECT_EQ(ValueOf(text, "headcount_cmcd_reports_total", {}), "3");
  EXPECT_EQ(ValueOf(text, "headcount_cmcd_bad_lines_total", {}), "1");
  EXPECT_EQ(ValueOf(text, "headcount_cmcd_active_sids", {{"channel", "a"}}), "2");
  EXPECT_THAT(text, HasSubstr("headcount_cmcd_active_sids{channel=\"b\\\"\"} 1\n"));
  reports = 5;
  sids.erase("a");
  text = m.Render();
  EXPECT_EQ(ValueOf(text, "headcount_cmcd_reports_total", {}), "5");
  EXPECT_THAT(text, Not(HasSubstr("channel=\"a\"")));  // a channel without sids is gone
}

TEST(MetricsTest, DistinctFlushesByResultAndSketchesWaitingAskedAtRenderTime) {
  Metrics m;
  std::string text = m.Render();
  EXPECT_EQ(ValueOf(text, "headcount_distinct_sketches_pending", {}), "");  // no sketches here
  std::int64_t pending = 4;
  m.SetDistinctCallbacks([&] { return pending; }, [] { return std::uint64_t{2}; });
  m.CountDistinctFlush(false);
  m.CountDistinctFlush(true);
  m.CountDistinctFlush(true);
  text = m.Render();
  EXPECT_EQ(ValueOf(text, "headcount_distinct_flushes_total", {{"result", "ok"}}), "2");
  EXPECT_EQ(ValueOf(text, "headcount_distinct_flushes_total", {{"result", "failed"}}), "1");
  EXPECT_EQ(ValueOf(text, "headcount_distinct_sketches_pending", {}), "4");
  EXPECT_EQ(ValueOf(text, "headcount_distinct_sketches_dropped_total", {}), "2");
  pending = 0;
  EXPECT_EQ(ValueOf(m.Render(), "headcount_distinct_sketches_pending", {}), "0");
}

TEST(MetricsTest, UpstreamFetchesAndLookupsByKind) {
  Metrics m;
  m.CountUpstreamFetch("media", "2xx");
  m.CountUpstreamFetch("media", "2xx");
  m.CountUpstreamFetch("playlist", "timeout");
  m.CountUpstreamLookup("media", "hit");
  m.CountUpstreamLookup("media", "shared");
  const std::string text = m.Render();
  EXPECT_EQ(
      ValueOf(text, "headcount_upstream_fetches_total", {{"kind", "media"}, {"outcome", "2xx"}}),
      "2");
  EXPECT_EQ(ValueOf(text, "headcount_upstream_fetches_total",
                    {{"kind", "playlist"}, {"outcome", "timeout"}}),
            "1");
  EXPECT_EQ(
      ValueOf(text, "headcount_upstream_lookups_total", {{"kind", "media"}, {"result", "hit"}}),
      "1");
  EXPECT_EQ(
      ValueOf(text, "headcount_upstream_lookups_total", {{"kind", "media"}, {"result", "shared"}}),
      "1");
}

TEST(ClassifyRouteTest, MapsPathsToTheFixedSet) {
  EXPECT_EQ(ClassifyRoute("/hls/demo/stream.m3u8"), HttpRoute::kHlsPlaylist);
  EXPECT_EQ(ClassifyRoute("/hls/demo/seg_00001.ts"), HttpRoute::kHlsSegment);
  EXPECT_EQ(ClassifyRoute("/api/channels/demo/history"), HttpRoute::kApi);
  EXPECT_EQ(ClassifyRoute("/metrics"), HttpRoute::kMetrics);
  EXPECT_EQ(ClassifyRoute("/healthz"), HttpRoute::kHealthz);
  EXPECT_EQ(ClassifyRoute("/"), HttpRoute::kWeb);
  EXPECT_EQ(ClassifyRoute("/watch/demo"), HttpRoute::kWeb);
  EXPECT_EQ(ClassifyRoute("/app.js"), HttpRoute::kWeb);
  EXPECT_EQ(ClassifyRoute("/wp-login.php"), HttpRoute::kOther);
  EXPECT_EQ(ClassifyRoute(""), HttpRoute::kOther);
  EXPECT_EQ(HttpRouteName(HttpRoute::kHlsPlaylist), "hls_playlist");
}

}  // namespace
}  // namespace headcount
