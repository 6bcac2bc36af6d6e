// The origin's proxy mode streaming media as it arrives, against an upstream
// that sends a segment in steps (testing/raw_upstream.h): the viewer's
// first bytes before the upstream has finished, viewers joining a fetch in
// flight, a body broken off mid-way, the finished segment cached, fMP4's
// emsg written into a segment that is still arriving.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>
#include <map>
#include <mutex>

#include "hls/id3_ts.h"
#include "hls/testing/fmp4_fixture.h"
#include "hls/testing/ts_fixture.h"
#include "origin/origin.h"
#include "origin/testing/drained.h"
#include "origin/testing/origin_calls.h"
#include "origin/testing/raw_upstream.h"

namespace headcount {
namespace upstream_stream_test {

using namespace std::chrono_literals;
using testing::Drain;
using testing::DrainAtLeast;
using testing::Drained;
using testing::RawUpstream;

// The whole head of an answer of `length` bytes (none: chunked).
std::string Head(std::optional<std::size_t> length, const std::string& type = "video/mp2t") {
  std::string head = "HTTP/1.1 200 OK\r\nContent-Type: " + type + "\r\nConnection: close\r\n";
  head += length ? "Content-Length: " + std::to_string(*length) + "\r\n"
                 : std::string("Transfer-Encoding: chunked\r\n");
  return head + "\r\n";
}

// `bytes` as one chunk of chunked coding.
std::string Chunk(const std::string& bytes) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", bytes.size());
  return size + bytes + "\r\n";
}

HttpRequest Get(const std::string& target) { return testing::GetRequest(target, "10.0.0.1"); }

using testing::Start;

// The answer, which must come within `wait`.
HttpResponse Answer(std::future<HttpResponse>& f, std::chrono::milliseconds wait = 5s) {
  EXPECT_EQ(f.wait_for(wait), std::future_status::ready) << "no answer in time";
  return f.get();
}

class UpstreamStreamTest : public ::testing::Test {
 protected:
  std::unique_ptr<Origin> MakeProxy(std::chrono::milliseconds timeout = 5s,
                                    bool segment_metadata = false) {
    OriginOptions options;
    options.session_key = "upstream-stream-test-key";
    options.segment_metadata = segment_metadata;
    options.upstream = *UpstreamTemplate::Parse(
        "http://127.0.0.1:" + std::to_string(upstream_.port()) + "/live/{channel}/");
    UpstreamFetcherOptions fetcher_options;
    fetcher_options.timeout = timeout;
    fetcher_options.on_lookup = [this](UpstreamKind kind, std::string_view result) {
      std::lock_guard lock(mu_);
      ++lookups_[std::string(UpstreamKindName(kind)) + " " + std::string(result)];
    };
    auto fetcher = UpstreamFetcher::Create(fetcher_options, clock_);
    EXPECT_TRUE(fetcher.ok());
    return std::make_unique<Origin>(options, clock_, std::move(*fetcher));
  }

  int Lookups(const std::string& key) {
    std::lock_guard lock(mu_);
    return lookups_[key];
  }

  // A segment of `size` bytes that tells its bytes apart.
  static std::string Segment(std::size_t size) {
    std::string s(size, '\0');
    for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>('a' + (i * 7) % 26);
    return s;
  }

  FakeClock clock_{WallTime{std::chrono::hours(24 * 20000)}};
  RawUpstream upstream_;
  std::mutex mu_;
  std::map<std::string, int> lookups_;
};

TEST_F(UpstreamStreamTest, ViewerGetsTheFirstBytesBeforeTheUpstreamHasSentTheRest) {
  const std::string segment = Segment(200'000);
  upstream_.Put("/live/cam/s1.ts", {.head = Head(segment.size()),
                                    .first = segment.substr(0, 50'000),
                                    .rest = segment.substr(50'000),
                                    .held = true});
  auto proxy = MakeProxy();
  std::future<HttpResponse> answer = Start(*proxy, Get("/hls/cam/s1.ts"));
  // The upstream holds the rest of the segment until released: the
  // answer and its first bytes come anyway.
  const HttpResponse r = Answer(answer);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "video/mp2t");
  ASSERT_TRUE(r.stream) << "the answer streams";
  EXPECT_EQ(r.stream->options().content_length, segment.size()) << "the upstream's length";
  std::string got;
  ASSERT_TRUE(DrainAtLeast(r, 50'000, got));
  EXPECT_EQ(got, segment.substr(0, 50'000));
  upstream_.Release();
  const Drained rest = Drain(r);
  EXPECT_TRUE(rest.complete);
  EXPECT_EQ(got + rest.bytes, segment);
}

TEST_F(UpstreamStreamTest, ViewersOfASegmentInFlightShareOneFetchAndTheFinishedOneIsCached) {
  const std::string segment = Segment(300'000);
  upstream_.Put("/live/cam/s1.ts", {.head = Head(segment.size()),
                                    .first = segment.substr(0, 100'000),
                                    .rest = segment.substr(100'000),
                                    .held = true});
  auto proxy = MakeProxy();
  std::future<HttpResponse> first_answer = Start(*proxy, Get("/hls/cam/s1.ts?hcs=a"));
  const HttpResponse first = Answer(first_answer);
  std::string first_bytes;
  ASSERT_TRUE(DrainAtLeast(first, 100'000, first_bytes));
  // A second viewer joins while the upstream still holds the rest: it gets
  // the bytes so far at once, then follows.
  std::future<HttpResponse> second_answer = Start(*proxy, Get("/hls/cam/s1.ts?hcs=b"));
  const HttpResponse second = Answer(second_answer);
  ASSERT_TRUE(second.stream);
  std::string second_bytes;
  ASSERT_TRUE(DrainAtLeast(second, 100'000, second_bytes));
  EXPECT_EQ(Lookups("media shared"), 1);
  upstream_.Release();
  const Drained first_rest = Drain(first);
  const Drained second_rest = Drain(second);
  EXPECT_TRUE(first_rest.complete);
  EXPECT_TRUE(second_rest.complete);
  EXPECT_EQ(first_bytes + first_rest.bytes, segment);
  EXPECT_EQ(second_bytes + second_rest.bytes, segment);
  EXPECT_EQ(upstream_.RequestsFor("/live/cam/s1.ts"), 1);

  // Finished: a third viewer is answered from the cache, whole.
  std::future<HttpResponse> third_answer = Start(*proxy, Get("/hls/cam/s1.ts"));
  const HttpResponse third = Answer(third_answer);
  EXPECT_FALSE(third.stream);
  EXPECT_EQ(third.BodyView(), segment);
  EXPECT_EQ(Lookups("media hit"), 1);
  EXPECT_EQ(upstream_.RequestsFor("/live/cam/s1.ts"), 1);
}

TEST_F(UpstreamStreamTest, UpstreamDyingMidBodyBreaksTheResponseOffAndNothingIsCached) {
  const std::string segment = Segment(100'000);
  upstream_.Put("/live/cam/s1.ts", {.head = Head(segment.size()),
                                    .first = segment.substr(0, 30'000),
                                    .rest = "",
                                    .held = true,
                                    .hang_up = true});
  auto proxy = MakeProxy();
  std::future<HttpResponse> answer = Start(*proxy, Get("/hls/cam/s1.ts"));
  const HttpResponse r = Answer(answer);
  ASSERT_EQ(r.status, 200) << "the head went out before the upstream died";
  std::string got;
  ASSERT_TRUE(DrainAtLeast(r, 30'000, got));
  upstream_.Release();  // the upstream hangs up
  const Drained rest = Drain(r);
  EXPECT_FALSE(rest.complete) << "broken off (the server closes the connection), not ended";
  EXPECT_EQ(got + rest.bytes, segment.substr(0, 30'000));
  // Not cached: the next viewer costs a new fetch.
  std::future<HttpResponse> again = Start(*proxy, Get("/hls/cam/s1.ts"));
  EXPECT_FALSE(Drain(Answer(again)).complete);
  EXPECT_EQ(upstream_.RequestsFor("/live/cam/s1.ts"), 2);
}

TEST_F(UpstreamStreamTest, UpstreamStallingMidBodyPastTheTimeoutBreaksTheResponseOff) {
  const std::string segment = Segment(50'000);
  upstream_.Put("/live/cam/s1.ts", {.head = Head(segment.size()),
                                    .first = segment.substr(0, 10'000),
                                    .rest = segment.substr(10'000),
                                    .held = true});
  auto proxy = MakeProxy(/*timeout=*/500ms);
  std::future<HttpResponse> answer = Start(*proxy, Get("/hls/cam/s1.ts"));
  const HttpResponse r = Answer(answer);
  ASSERT_EQ(r.status, 200);
  const Drained got = Drain(r, 5s);
  EXPECT_FALSE(got.complete);
  EXPECT_EQ(got.bytes, segment.substr(0, 10'000));
  upstream_.Release();
}

TEST_F(UpstreamStreamTest, ChunkedUpstreamIsStreamedChunkedAndCachedWhole) {
  const std::string segment = Segment(40'000);
  upstream_.Put("/live/cam/p1.m4s", {.head = Head(std::nullopt, "video/iso.segment"),
                                     .first = Chunk(segment.substr(0, 15'000)),
                                     .rest = Chunk(segment.substr(15'000)) + "0\r\n\r\n",
                                     .held = true});
  auto proxy = MakeProxy();
  std::future<HttpResponse> answer = Start(*proxy, Get("/hls/cam/p1.m4s"));
  const HttpResponse r = Answer(answer);
  ASSERT_TRUE(r.stream);
  EXPECT_FALSE(r.stream->options().content_length) << "no length to pass on";
  EXPECT_TRUE(r.stream->options().chunked);
  std::string got;
  ASSERT_TRUE(DrainAtLeast(r, 15'000, got)) << "a part held open by the upstream flows";
  upstream_.Release();
  const Drained rest = Drain(r);
  EXPECT_TRUE(rest.complete);
  EXPECT_EQ(got + rest.bytes, segment);
  std::future<HttpResponse> again = Start(*proxy, Get("/hls/cam/p1.m4s"));
  EXPECT_EQ(Answer(again).BodyView(), segment);
  EXPECT_EQ(upstream_.RequestsFor("/live/cam/p1.m4s"), 1);
}

TEST_F(UpstreamStreamTest, TsSegmentGetsItsId3StreamWhileTheRestIsStillArriving) {
  std::string segment = testing::MakeSegment();
  for (int i = 1; i <= 40; ++i) segment += testing::MakeSegment(900000 + 9000 * i);
  const std::size_t half = segment.size() / 2 + 77;  // not on a packet boundary
  upstream_.Put("/live/cam/s1.ts", {.head = Head(segment.size()),
                                    .first = segment.substr(0, half),
                                    .rest = segment.substr(half),
                                    .held = true});
  auto proxy = MakeProxy(5s, /*segment_metadata=*/true);
  Summary summary;
  summary.channel = "cam";
  summary.at = std::chrono::floor<std::chrono::seconds>(clock_.Now());
  ASSERT_TRUE(proxy->Publish(summary, R"({"v":1,"m":[7]})").ok());

  std::future<HttpResponse> first_answer = Start(*proxy, Get("/hls/cam/s1.ts?hcs=a"));
  const HttpResponse first = Answer(first_answer);
  ASSERT_EQ(first.status, 200);
  ASSERT_TRUE(first.stream);
  std::string first_bytes;
  ASSERT_TRUE(DrainAtLeast(first, half - half % kTsPacketBytes, first_bytes))
      << "the rewritten head goes out before the upstream sent the rest";
  std::future<HttpResponse> second_answer = Start(*proxy, Get("/hls/cam/s1.ts?hcs=b"));
  const HttpResponse second = Answer(second_answer);
  upstream_.Release();
  const Drained first_rest = Drain(first);
  const Drained second_rest = Drain(second);
  ASSERT_TRUE(first_rest.complete);
  ASSERT_TRUE(second_rest.complete);
  const std::string body = first_bytes + first_rest.bytes;
  EXPECT_EQ(second_rest.bytes, body) << "one rewrite, the same bytes for both";
  ASSERT_TRUE(first.stream->options().content_length);
  EXPECT_EQ(*first.stream->options().content_length, body.size());
  const testing::ParsedTs ts = testing::ParseTs(body);
  ASSERT_TRUE(ts.ok) << ts.problem;
  const Result<std::string> whole = InjectId3(segment, {Id3TxxxTag("", R"({"v":1,"m":[7]})")});
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(body, *whole) << "as the whole segment is rewritten";
  EXPECT_TRUE(ts.crc_ok);
  EXPECT_TRUE(ts.metadata_descriptor);
  EXPECT_EQ(ts.pmts, 41U) << "every PMT declares the metadata stream";
  ASSERT_EQ(ts.metadata.size(), 1U);
  ASSERT_EQ(ts.metadata[0].frames.size(), 1U);
  EXPECT_EQ(ts.metadata[0].frames[0].value, R"({"v":1,"m":[7]})");
  EXPECT_EQ(upstream_.RequestsFor("/live/cam/s1.ts"), 1);
  // From the cache: the same bytes, whole.
  std::future<HttpResponse> third_answer = Start(*proxy, Get("/hls/cam/s1.ts?hcs=c"));
  const HttpResponse third = Answer(third_answer);
  EXPECT_FALSE(third.stream);
  EXPECT_EQ(third.BodyView(), body);
}

TEST_F(UpstreamStreamTest, HeadOfASegmentInFlightIsAnsweredOnceItIsWhole) {
  const std::string segment = Segment(20'000);
  upstream_.Put("/live/cam/s1.ts", {.head = Head(segment.size()),
                                    .first = segment.substr(0, 5'000),
                                    .rest = segment.substr(5'000),
                                    .held = true});
  auto proxy = MakeProxy();
  std::future<HttpResponse> get = Start(*proxy, Get("/hls/cam/s1.ts"));
  const HttpResponse streamed = Answer(get);
  HttpRequest head = Get("/hls/cam/s1.ts");
  head.method = "HEAD";
  std::future<HttpResponse> head_answer = Start(*proxy, head);
  EXPECT_EQ(head_answer.wait_for(200ms), std::future_status::timeout)
      << "its length is known only once the body is whole";
  upstream_.Release();
  const HttpResponse r = Answer(head_answer);
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(r.stream);
  EXPECT_EQ(r.BodyView().size(), segment.size()) << "what the server's Content-Length says";
  EXPECT_TRUE(Drain(streamed).complete);
  EXPECT_EQ(upstream_.RequestsFor("/live/cam/s1.ts"), 1);
}

TEST_F(UpstreamStreamTest, Fmp4SegmentGetsItsEmsgWhileTheRestIsStillArriving) {
  const std::string init = testing::MakeInit();
  const std::string segment = testing::MakeMediaSegment(900000, 480000);
  const std::size_t moof_at = segment.find("moof") - 4;
  const std::size_t moof_end =
      moof_at + ((std::size_t{static_cast<unsigned char>(segment[moof_at])} << 24) |
                 (std::size_t{static_cast<unsigned char>(segment[moof_at + 1])} << 16) |
                 (std::size_t{static_cast<unsigned char>(segment[moof_at + 2])} << 8) |
                 std::size_t{static_cast<unsigned char>(segment[moof_at + 3])});
  ASSERT_LT(moof_end + 4, segment.size());
  const std::string playlist =
      "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:1,\nseg_1.m4s\n";
  upstream_.Put("/live/cam/index.m3u8",
                {.head = Head(playlist.size(), "application/vnd.apple.mpegurl"),
                 .first = playlist,
                 .rest = ""});
  upstream_.Put("/live/cam/init.mp4",
                {.head = Head(init.size(), "video/mp4"), .first = init, .rest = ""});
  upstream_.Put("/live/cam/seg_1.m4s", {.head = Head(segment.size(), "video/iso.segment"),
                                        .first = segment.substr(0, moof_end + 4),
                                        .rest = segment.substr(moof_end + 4),
                                        .held = true});
  auto proxy = MakeProxy(5s, /*segment_metadata=*/true);
  Summary summary;
  summary.channel = "cam";
  summary.at = std::chrono::floor<std::chrono::seconds>(clock_.Now());
  ASSERT_TRUE(proxy->Publish(summary, R"({"v":1})").ok());
  std::future<HttpResponse> listed = Start(*proxy, Get("/hls/cam/index.m3u8"));
  ASSERT_EQ(Answer(listed).status, 200);  // the map is known

  std::future<HttpResponse> answer = Start(*proxy, Get("/hls/cam/seg_1.m4s"));
  const HttpResponse r = Answer(answer);
  ASSERT_EQ(r.status, 200);
  ASSERT_TRUE(r.stream);
  std::string got;
  ASSERT_TRUE(DrainAtLeast(r, moof_end + 4, got)) << "the head goes out before the rest came";
  const std::size_t emsg = got.find("emsg");
  ASSERT_NE(emsg, std::string::npos);
  EXPECT_LT(emsg, got.find("moof"));
  EXPECT_NE(got.find("aomedia.org/emsg/ID3"), std::string::npos);
  upstream_.Release();
  const Drained rest = Drain(r);
  EXPECT_TRUE(rest.complete);
  const std::string body = got + rest.bytes;
  EXPECT_EQ(body.substr(body.find("moof") - 4), segment.substr(moof_at)) << "the rest unchanged";
  ASSERT_TRUE(r.stream->options().content_length);
  EXPECT_EQ(*r.stream->options().content_length, body.size()) << "the length counts the emsg";
}

}  // namespace upstream_stream_test
}  // namespace headcount
