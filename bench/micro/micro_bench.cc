// Google Benchmark programs for headcount's hot paths: payload encoding,
// SigV4 signing, playlist rewriting, session ids and lookups, and the origin's
// whole request handler (files in a temporary HLS root). Run by bench/micro/run.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "aws/credentials.h"
#include "aws/sigv4.h"
#include "core/clock.h"
#include "core/payload.h"
#include "core/samples.h"
#include "origin/origin.h"
#include "hls/playlist.h"
#include "origin/sessions.h"
#include "hls/testdata.h"
#include "server/http.h"

namespace headcount {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

constexpr std::string_view kChannel = "bench";
constexpr std::string_view kClient = "127.0.0.1";
// Sessions already in the table when a lookup is measured.
constexpr int kLookupTableSessions = 100'000;

WallTime BenchNow() { return WallTime{} + std::chrono::hours(24 * 365 * 57); }

Summary BenchSummary() {
  Summary s;
  s.channel = std::string(kChannel);
  s.at = std::chrono::floor<seconds>(BenchNow());
  s.counts = {120, 134, std::nullopt, 161, 170};
  s.trend = Trend::kRising;
  return s;
}

void BM_EncodePayloadV1(benchmark::State& state) {
  const Summary summary = BenchSummary();
  for (auto _ : state) benchmark::DoNotOptimize(EncodePayloadV1(summary));
}
BENCHMARK(BM_EncodePayloadV1);

// An IVS PutMetadata request as the publisher signs it.
void BM_SigV4SignPutMetadata(benchmark::State& state) {
  const aws::Credentials credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                     "session-token-example");
  const std::string body =
      R"({"channelArn":"arn:aws:ivs:us-west-2:123456789012:channel/abcdEFGH1234",)"
      R"("metadata":"{\"v\":1,\"at\":\"2026-11-25T12:03:00Z\",\"i\":60,)"
      R"(\"m\":[120,134,null,161,170],\"trend\":\"rising\"}"})";
  aws::SigningRequest request{.method = "POST",
                              .path = "/PutMetadata",
                              .query = "",
                              .headers = {{"Host", "ivs.us-west-2.amazonaws.com"},
                                          {"Content-Type", "application/json"},
                                          {"Content-Length", std::to_string(body.size())}},
                              .body = body};
  const aws::SigningParams params{.service = "ivs", .region = "us-west-2", .time = BenchNow()};
  for (auto _ : state) {
    auto signed_request = aws::SignRequest(request, credentials, params);
    if (!signed_request.ok()) state.SkipWithError("signing failed");
    benchmark::DoNotOptimize(signed_request);
  }
}
BENCHMARK(BM_SigV4SignPutMetadata);

// ffmpeg's 6-segment live playlist, as DESIGN.md's test stream writes it.
std::string LivePlaylist() {
  std::string p =
      "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:120\n"
      "#EXT-X-INDEPENDENT-SEGMENTS\n";
  for (int i = 120; i < 126; ++i) {
    p += "#EXTINF:1.000000,\n#EXT-X-PROGRAM-DATE-TIME:2026-11-25T12:25:" + std::to_string(i - 90) +
         ".006+0000\nseg_00" + std::to_string(i) + ".ts\n";
  }
  return p;
}

DateRangeTag BenchDateRange() {
  const Summary summary = BenchSummary();
  return DateRangeTag{DateRangeId(summary.at), WallTime(summary.at),
                      EncodeDateRangePayload(EncodePayloadV1(summary))};
}

void BM_RewriteMediaPlaylist(benchmark::State& state) {
  const std::string source = LivePlaylist();
  PlaylistRewrite rewrite;
  rewrite.session_query = "hcs=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
  rewrite.daterange = BenchDateRange();
  for (auto _ : state) {
    auto out = RewritePlaylist(source, rewrite);
    if (!out.ok()) state.SkipWithError("rewrite failed");
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(std::int64_t(state.iterations()) * std::int64_t(source.size()));
}
BENCHMARK(BM_RewriteMediaPlaylist);

void BM_RewriteMultivariantPlaylist(benchmark::State& state) {
  PlaylistRewrite rewrite;
  rewrite.session_query = "hcs=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
  for (auto _ : state) {
    auto out = RewritePlaylist(testdata::kMultivariantPlaylist, rewrite);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_RewriteMultivariantPlaylist);

SessionOptions BenchSessionOptions() {
  SessionOptions o;
  o.key = std::string(kSessionKeyBytes, 'k');
  o.max_sessions_per_client = 0;
  return o;
}

void BM_SessionMint(benchmark::State& state) {
  ViewerSessions sessions(BenchSessionOptions());
  for (auto _ : state) benchmark::DoNotOptimize(sessions.Mint(kChannel));
}
BENCHMARK(BM_SessionMint);

void BM_SessionVerify(benchmark::State& state) {
  ViewerSessions sessions(BenchSessionOptions());
  const std::string id = *sessions.Mint(kChannel);
  for (auto _ : state) benchmark::DoNotOptimize(sessions.Verify(kChannel, id));
}
BENCHMARK(BM_SessionVerify);

// Refreshing a known session in a table of kLookupTableSessions: verify the
// id, then find and update its entry under the lock (what every segment and
// playlist request of a viewer costs).
void BM_SessionLookup(benchmark::State& state) {
  ViewerSessions sessions(BenchSessionOptions());
  std::vector<std::string> ids;
  ids.reserve(kLookupTableSessions);
  WallTime now = BenchNow();
  for (int i = 0; i < kLookupTableSessions; ++i) {
    ids.push_back(*sessions.Mint(kChannel));
    (void)sessions.Touch(kChannel, ids.back(), now, Activity::kMedia, kClient);
  }
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(sessions.Touch(kChannel, ids[i], now, Activity::kMedia, kClient));
    i = (i + 7919) % ids.size();  // a stride, so lookups miss the cache like real traffic
  }
}
BENCHMARK(BM_SessionLookup);

// The origin at full load: kMaxSessions sessions on one channel, built once
// for the benchmarks below (a million mints and touches take seconds).
class FullTable {
 public:
  static FullTable& Get() {
    static FullTable table;
    return table;
  }
  ViewerSessions& sessions() { return sessions_; }
  const std::string& id(std::size_t i) const { return ids_[i % ids_.size()]; }

 private:
  FullTable() : sessions_(BenchSessionOptions()) {
    ids_.reserve(kMaxSessions);
    for (std::size_t i = 0; i < kMaxSessions; ++i) {
      ids_.push_back(*sessions_.Mint(kChannel));
      (void)sessions_.Touch(kChannel, ids_.back(), BenchNow(), Activity::kMedia, kClient);
    }
  }
  ViewerSessions sessions_;
  std::vector<std::string> ids_;
};

// One count of a full table, as the tick (CountActive) and each /metrics
// scrape (ActiveTotal) ask for it; nothing has expired.
void BM_SessionCountFullTable(benchmark::State& state) {
  ViewerSessions& sessions = FullTable::Get().sessions();
  for (auto _ : state) {
    benchmark::DoNotOptimize(sessions.CountActive(BenchNow()));
    benchmark::DoNotOptimize(sessions.ActiveTotal(BenchNow()));
  }
}
BENCHMARK(BM_SessionCountFullTable)->Unit(benchmark::kMicrosecond);

// A viewer's next request (a session refresh) in a full table while another
// thread counts: a count, then kCountPause, again and again (a scrape every
// millisecond or so, far more often than Prometheus'). Requests come
// kRequestPause apart, so they meet the counts at any point. A request's time
// is the wall time of its call, waiting for the lock included (manual time:
// the pauses are not counted): the mean, and the median, 99th percentile
// and maximum in the label. (Timing from a fixed schedule of arrivals instead
// would count the benchmark thread's own scheduling delays on a loaded
// machine, which drown microseconds.)
void BM_SessionTouchDuringCounts(benchmark::State& state) {
  constexpr auto kCountPause = std::chrono::milliseconds(1);
  constexpr auto kRequestPause = std::chrono::milliseconds(2);
  using Clock = std::chrono::steady_clock;
  FullTable& table = FullTable::Get();
  ViewerSessions& sessions = table.sessions();
  std::atomic<bool> stop = false;
  std::atomic<std::int64_t> counts = 0;
  std::thread counter([&] {
    while (!stop) {
      benchmark::DoNotOptimize(sessions.CountActive(BenchNow()));
      benchmark::DoNotOptimize(sessions.ActiveTotal(BenchNow()));
      ++counts;
      std::this_thread::sleep_for(kCountPause);
    }
  });
  std::vector<double> waits_us;
  std::size_t i = 0;
  for (auto _ : state) {
    std::this_thread::sleep_for(kRequestPause);
    const Clock::time_point start = Clock::now();
    benchmark::DoNotOptimize(
        sessions.Touch(kChannel, table.id(i), BenchNow(), Activity::kMedia, kClient));
    const std::chrono::duration<double> wait = Clock::now() - start;
    state.SetIterationTime(wait.count());
    waits_us.push_back(wait.count() * 1e6);
    i += 7919;
  }
  stop = true;
  counter.join();
  std::sort(waits_us.begin(), waits_us.end());
  const auto at = [&](double q) { return waits_us[std::size_t(q * double(waits_us.size() - 1))]; };
  // A label, not counters: bench/micro/run reads CSV, whose reporter wants
  // the same counters in every benchmark.
  char label[160];
  std::snprintf(label, sizeof label, "median %.1f us, p99 %.1f us, max %.1f us, %lld counts",
                at(0.5), at(0.99), waits_us.back(), static_cast<long long>(counts.load()));
  state.SetLabel(label);
}
// 100 requests: 0.2 s, or minutes when each waits for a walk of the table.
BENCHMARK(BM_SessionTouchDuringCounts)->UseManualTime()->Iterations(100);

// The origin's whole handler for one channel folder on disk (tmpfs or not,
// wherever TMPDIR is): no sockets, no Beast.
class OriginFixture {
 public:
  OriginFixture() : root_(MakeRoot()), clock_(BenchNow()) {
    OriginOptions options;
    options.hls_root = root_;
    options.session_key = std::string(kSessionKeyBytes, 'k');
    options.max_sessions_per_client = 0;
    origin_.emplace(options, clock_);
    Summary summary = BenchSummary();
    (void)origin_->Publish(summary, EncodePayloadV1(summary));
    id_ = *ViewerSessions(BenchSessionOptions()).Mint(kChannel);
  }
  ~OriginFixture() {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  OriginFixture(const OriginFixture&) = delete;
  OriginFixture& operator=(const OriginFixture&) = delete;

  HttpRequest Request(std::string_view file, bool with_session) const {
    HttpRequest r;
    r.method = "GET";
    r.path = "/hls/" + std::string(kChannel) + "/" + std::string(file);
    r.target = r.path;
    if (with_session) {
      r.target += "?hcs=" + id_;
      r.query.emplace("hcs", id_);
    }
    r.client_address = std::string(kClient);
    return r;
  }
  Origin& origin() { return *origin_; }

 private:
  static fs::path MakeRoot() {
    std::string dir = (fs::temp_directory_path() / "headcount-micro.XXXXXX").string();
    if (mkdtemp(dir.data()) == nullptr) std::abort();
    const fs::path channel = fs::path(dir) / kChannel;
    fs::create_directories(channel);
    std::ofstream(channel / "stream.m3u8") << LivePlaylist();
    std::ofstream(channel / "seg_00120.ts") << std::string(100'000, 'x');
    return dir;
  }

  const fs::path root_;
  FakeClock clock_;
  std::optional<Origin> origin_;
  std::string id_;
};

void BM_OriginMediaPlaylist(benchmark::State& state) {
  OriginFixture f;
  const HttpRequest request = f.Request("stream.m3u8", true);
  for (auto _ : state) {
    HttpResponse r = f.origin().Handle(request);
    if (r.status != 200) state.SkipWithError("not 200");
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_OriginMediaPlaylist);

void BM_OriginSegment(benchmark::State& state) {
  OriginFixture f;
  const HttpRequest request = f.Request("seg_00120.ts", true);
  for (auto _ : state) {
    HttpResponse r = f.origin().Handle(request);
    if (r.status != 200) state.SkipWithError("not 200");
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_OriginSegment);

}  // namespace
}  // namespace headcount

BENCHMARK_MAIN();
