// Tests of EventFeed, the /api/events stream: what a new, a narrowed and a
// reconnecting client receives, what every open stream gets after a tick,
// the cap on open streams and the answer's headers. The streams are read
// as the server would send them (HttpStream::Take); http_stream_test.cc
// covers the sending.
#include "server/event_feed.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "server/http_stream.h"

namespace headcount {
namespace {

using json = nlohmann::json;
using std::chrono::seconds;

constexpr std::int64_t kFirstBucket = 1796614080;  // a minute's start

// The snapshot LiveState gives after the tick of `bucket`: channel "a" with
// `a_viewers` now, and "b" (offline) with 3.
LiveSnapshot SnapshotAt(std::int64_t bucket, std::int64_t a_viewers) {
  LiveSnapshot s;
  LastTick tick;
  tick.bucket = Seconds{seconds{bucket}};
  tick.at = tick.bucket + seconds{2};
  s.last_tick = tick;
  for (const auto& [id, viewers, live] :
       {std::tuple<const char*, std::int64_t, bool>{"a", a_viewers, true}, {"b", 3, false}}) {
    LiveChannel c;
    c.summary.channel = id;
    c.summary.at = tick.bucket;
    c.summary.counts = {1, 1, 1, 1, viewers};
    c.summary.trend = Trend::kRising;
    c.live = live;
    s.channels.push_back(c);
  }
  return s;
}

struct Event {
  std::string id;
  std::string type;
  json data;
};

// Parses what a stream holds as the EventSource standard does (fields of
// one event up to a blank line; comments and retry: skipped).
std::vector<Event> Events(const std::string& text) {
  std::vector<Event> out;
  Event current;
  bool any = false;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = text.find('\n', start);
    const std::string line = text.substr(start, end - start);
    start = end == std::string::npos ? text.size() : end + 1;
    if (line.empty()) {
      if (any) out.push_back(current);
      current = {};
      any = false;
    } else if (line.starts_with("id: ")) {
      current.id = line.substr(4);
      any = true;
    } else if (line.starts_with("event: ")) {
      current.type = line.substr(7);
      any = true;
    } else if (line.starts_with("data: ")) {
      current.data = json::parse(line.substr(6));
      any = true;
    }
  }
  return out;
}

HttpRequest EventsRequest(const std::string& channel = "", const std::string& last_event_id = "") {
  HttpRequest r;
  r.method = "GET";
  r.path = "/api/events";
  if (!channel.empty()) r.query.emplace("channel", channel);
  if (!last_event_id.empty()) r.headers.emplace("last-event-id", last_event_id);
  return r;
}

std::string Pending(const HttpResponse& r) { return r.stream ? r.stream->Take().Joined() : ""; }

std::string FeedHeader(const HttpResponse& r, const std::string& name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return "";
}

TEST(EventFeedTest, NewStreamStartsWithRetryAndTheNewestTick) {
  EventFeed feed;
  feed.Publish(SnapshotAt(kFirstBucket, 5));
  feed.Publish(SnapshotAt(kFirstBucket + 60, 9));
  const HttpResponse r = feed.Subscribe(EventsRequest());
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/event-stream; charset=utf-8");
  EXPECT_EQ(FeedHeader(r, "Cache-Control"), "no-store");
  EXPECT_EQ(FeedHeader(r, "X-Accel-Buffering"), "no");
  const std::string text = Pending(r);
  EXPECT_TRUE(text.starts_with("retry: 3000\n\n")) << text;
  const auto events = Events(text);
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].id, std::to_string(kFirstBucket + 60));
  EXPECT_EQ(events[0].type, "tick");
  // The /api/channels document of that tick.
  EXPECT_EQ(events[0].data["bucket_seconds"], 60);
  ASSERT_EQ(events[0].data["channels"].size(), 2U);
  EXPECT_EQ(events[0].data["channels"][0]["id"], "a");
  EXPECT_EQ(events[0].data["channels"][0]["viewers"], 9);
  EXPECT_EQ(events[0].data["channels"][0]["live"], true);
  EXPECT_EQ(events[0].data["channels"][1]["live"], false);
  EXPECT_EQ(events[0].data["channels"][0]["trend"], "rising");
}

TEST(EventFeedTest, BeforeAnyTickOnlyRetry) {
  EventFeed feed;
  const HttpResponse r = feed.Subscribe(EventsRequest());
  EXPECT_EQ(Pending(r), "retry: 3000\n\n");
}

TEST(EventFeedTest, EachTickReachesEveryOpenStreamNarrowedToItsChannel) {
  EventFeed feed;
  const HttpResponse all = feed.Subscribe(EventsRequest());
  const HttpResponse only_b = feed.Subscribe(EventsRequest("b"));
  Pending(all);
  Pending(only_b);
  feed.Publish(SnapshotAt(kFirstBucket, 7));
  const auto to_all = Events(Pending(all));
  ASSERT_EQ(to_all.size(), 1U);
  EXPECT_EQ(to_all[0].data["channels"].size(), 2U);
  const auto to_b = Events(Pending(only_b));
  ASSERT_EQ(to_b.size(), 1U);
  ASSERT_EQ(to_b[0].data["channels"].size(), 1U);
  EXPECT_EQ(to_b[0].data["channels"][0]["id"], "b");
  EXPECT_EQ(to_b[0].id, std::to_string(kFirstBucket));
}

TEST(EventFeedTest, ReconnectingClientGetsOnlyTheTicksAfterItsLastEventId) {
  EventFeedOptions options;
  options.resume_events = 3;
  EventFeed feed(options);
  for (int i = 0; i < 5; ++i) feed.Publish(SnapshotAt(kFirstBucket + std::int64_t{60} * i, i));

  auto ids = [&](const std::string& last) {
    std::vector<std::string> out;
    for (const Event& e : Events(Pending(feed.Subscribe(EventsRequest("", last))))) {
      out.push_back(e.id);
    }
    return out;
  };
  const auto id = [](int i) { return std::to_string(kFirstBucket + std::int64_t{60} * i); };
  EXPECT_EQ(ids(id(2)), (std::vector{id(3), id(4)}));
  EXPECT_EQ(ids(id(4)), std::vector<std::string>{}) << "it missed nothing";
  // Older than what is kept: all that is kept (the 3 newest).
  EXPECT_EQ(ids(id(0)), (std::vector{id(2), id(3), id(4)}));
  // Not an id this feed gives out: as a new client.
  EXPECT_EQ(ids("x1"), std::vector{id(4)});
}

TEST(EventFeedTest, StreamsBeyondTheCapGet503UntilOneCloses) {
  EventFeedOptions options;
  options.max_streams = 2;
  EventFeed feed(options);
  HttpResponse first = feed.Subscribe(EventsRequest());
  const HttpResponse second = feed.Subscribe(EventsRequest());
  EXPECT_EQ(feed.open_streams(), 2U);
  const HttpResponse third = feed.Subscribe(EventsRequest());
  EXPECT_EQ(third.status, 503);
  EXPECT_EQ(third.stream, nullptr);
  EXPECT_EQ(FeedHeader(third, "Retry-After"), std::to_string(EventFeed::kRetryAfterFull.count()));
  first.stream->Abort();  // its client left
  EXPECT_EQ(feed.open_streams(), 1U);
  EXPECT_EQ(feed.Subscribe(EventsRequest()).status, 200);
}

TEST(EventFeedTest, StreamNobodyHoldsIsForgotten) {
  EventFeed feed;
  {
    const HttpResponse dropped = feed.Subscribe(EventsRequest());  // never sent (connection gone)
  }
  EXPECT_EQ(feed.open_streams(), 0U);
  const HttpResponse head = feed.Subscribe([] {
    HttpRequest r = EventsRequest();
    r.method = "HEAD";
    return r;
  }());
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(feed.open_streams(), 0U) << "a HEAD is answered, not subscribed";
}

TEST(EventFeedTest, BadChannelIs400) {
  EventFeed feed;
  for (const char* bad : {"a/b", "..", "x y", "arn:aws:ivs:x"}) {
    const HttpResponse r = feed.Subscribe(EventsRequest(bad));
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_EQ(r.stream, nullptr);
  }
  EXPECT_EQ(feed.Subscribe(EventsRequest("arn:aws:ivs:us-west-2:123456789012:channel/abcd")).status,
            200);
}

}  // namespace
}  // namespace headcount
