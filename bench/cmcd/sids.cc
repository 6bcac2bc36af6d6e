// Memory of the CMCD collector's viewers: N sids, each from its own client
// address, reported twice through CmcdCollector::Collect (a body as hls.js
// 1.7 sends it: playing, then a time-interval report), so each is counted;
// prints the growth of the process's resident memory per sid and the time
// one report takes. With --no-address the requests carry no client
// address (not limited: no per-address count, no rate-limit bucket), which
// leaves the sid table's own share. Single-threaded.
//
//   bench_cmcd_sids N [--no-address]      e.g. 100000
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "core/client_rate_limiter.h"
#include "core/clock.h"
#include "heartbeat/cmcd_collector.h"
#include "heartbeat/heartbeat_api.h"
#include "heartbeat/heartbeat_viewers.h"
#include "server/http.h"

namespace {

using headcount::HttpRequest;

// Resident set size in bytes, from /proc/self/statm.
std::int64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  std::int64_t pages_total = 0;
  std::int64_t pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return pages_resident * sysconf(_SC_PAGESIZE);
}

HttpRequest Report(std::size_t i, std::string_view event, bool with_address) {
  HttpRequest r;
  r.method = "POST";
  r.path = "/api/channels/live/cmcd";
  r.target = r.path;
  r.headers.emplace("content-type", "application/cmcd");
  char sid[32];
  std::snprintf(sid, sizeof sid, "bench-viewer-%08zu", i);
  r.body = "bl=(3200),br=(0),cid=\"live\",e=" + std::string(event) + ",mtp=(7500),sf=h,sid=\"" +
           sid + "\",sn=4,st=l,sta=p,ts=1796614094437,v=2";
  if (with_address) {
    r.client_address = "10." + std::to_string((i >> 16) & 255) + "." +
                       std::to_string((i >> 8) & 255) + "." + std::to_string(i & 255);
  }
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  const bool with_address = argc == 2;
  if ((argc != 2 && (argc != 3 || std::string_view(argv[2]) != "--no-address")) ||
      std::atol(argv[1]) <= 0) {
    std::fprintf(stderr, "usage: bench_cmcd_sids N [--no-address]\n");
    return 2;
  }
  const std::size_t n = std::size_t(std::atol(argv[1]));
  const headcount::WallTime t0 = headcount::WallTime{} + std::chrono::hours(24 * 365 * 57);

  headcount::HeartbeatOptions options;
  options.key = std::string(32, 'k');
  options.max_viewers = n + 1;
  headcount::HeartbeatViewers viewers(options);
  // The limiter serve gives the collector (heartbeat_api.h), with its defaults.
  headcount::ClientRateLimiter limit(headcount::kHeartbeatRatePerClient,
                                     headcount::kHeartbeatBurstPerClient);
  headcount::CmcdCollector collector(viewers, limit);
  // The requests are made before measuring, so that only the table's memory counts.
  std::vector<HttpRequest> first(n);
  std::vector<HttpRequest> second(n);
  for (std::size_t i = 0; i < n; ++i) {
    first[i] = Report(i, "ps", with_address);
    second[i] = Report(i, "t", with_address);
  }

  const std::int64_t before = ResidentBytes();
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < n; ++i) {
    if (collector.Collect(first[i], "live", t0).status != 204) return 1;
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (collector.Collect(second[i], "live", t0 + std::chrono::seconds(10)).status != 204) return 1;
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  const std::int64_t after = ResidentBytes();
  const auto counted = viewers.CountSids(t0 + std::chrono::seconds(10));
  const std::int64_t live = counted.contains("live") ? counted.at("live") : 0;
  if (live != static_cast<std::int64_t>(n)) {
    std::fprintf(stderr, "bench_cmcd_sids: %lld sids counted, expected %zu\n",
                 static_cast<long long>(live), n);
    return 1;
  }
  std::printf(
      "addresses=%s sids=%zu rss_growth_bytes=%lld bytes_per_sid=%lld ns_per_report=%lld\n",
      with_address ? "own" : "none", n, static_cast<long long>(after - before),
      static_cast<long long>((after - before) / static_cast<std::int64_t>(n)),
      static_cast<long long>(std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count() /
                             static_cast<std::int64_t>(2 * n)));
  return 0;
}
