// Memory of the origin's viewer sessions: starts N sessions through
// Origin::Handle (a segment request carrying a freshly minted id, each from
// its own client address, as N real viewers would) and prints the growth of
// the process's resident memory, per session. Single-threaded.
//
//   bench_origin_sessions N      e.g. 10000 or 100000
#include "origin/sessions.h"

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/clock.h"
#include "origin/origin.h"
#include "server/http.h"

namespace {

namespace fs = std::filesystem;
using headcount::Activity;
using headcount::HttpRequest;
using headcount::Origin;
using headcount::OriginOptions;

constexpr std::string_view kChannel = "bench";

// Resident set size in bytes, from /proc/self/statm.
std::int64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  std::int64_t pages_total = 0;
  std::int64_t pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return pages_resident * sysconf(_SC_PAGESIZE);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 || std::atol(argv[1]) <= 0) {
    std::fprintf(stderr, "usage: bench_origin_sessions N\n");
    return 2;
  }
  const std::size_t n = std::size_t(std::atol(argv[1]));

  std::string dir = (fs::temp_directory_path() / "headcount-sessions.XXXXXX").string();
  if (mkdtemp(dir.data()) == nullptr) return 1;
  fs::create_directories(fs::path(dir) / kChannel);
  std::ofstream(fs::path(dir) / kChannel / "seg_00001.ts") << std::string(1000, 'x');

  const std::string key(headcount::kSessionKeyBytes, 'k');
  headcount::FakeClock clock(headcount::WallTime{} + std::chrono::hours(24 * 365 * 57));
  OriginOptions options;
  options.hls_root = dir;
  options.session_key = key;
  options.max_sessions_per_client = headcount::kDefaultMaxSessionsPerClient;
  Origin origin(options, clock);
  // Mints the ids the origin hands out in its playlists (same key: the same
  // ids), before measuring, so that only the table's memory is counted.
  const headcount::ViewerSessions minter(headcount::SessionOptions{.key = key});
  std::vector<HttpRequest> requests(n);
  for (std::size_t i = 0; i < n; ++i) {
    HttpRequest& r = requests[i];
    r.method = "GET";
    r.path = "/hls/bench/seg_00001.ts";
    const std::string id = *minter.Mint(kChannel);
    r.target = r.path + "?hcs=" + id;
    r.query.emplace("hcs", id);
    r.client_address = "10." + std::to_string((i >> 16) & 255) + "." +
                       std::to_string((i >> 8) & 255) + "." + std::to_string(i & 255);
  }

  const std::int64_t before = ResidentBytes();
  const auto start = std::chrono::steady_clock::now();
  for (const HttpRequest& r : requests) {
    if (origin.Handle(r).status != 200) return 1;
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  const std::int64_t after = ResidentBytes();
  const std::int64_t active = origin.ActiveSessions(clock.Now());
  fs::remove_all(dir);
  if (active != std::int64_t(n)) {
    std::fprintf(stderr, "expected %zu sessions, the origin counts %lld\n", n,
                 static_cast<long long>(active));
    return 1;
  }
  const double ns_per_session =
      double(std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count()) / double(n);
  // One line, "key=value" pairs, for bench/origin/run.
  std::printf("sessions=%zu rss_growth_bytes=%lld bytes_per_session=%.0f ns_per_new_session=%.0f\n",
              n, static_cast<long long>(after - before), double(after - before) / double(n),
              ns_per_session);
  return 0;
}
