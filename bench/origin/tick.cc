// The cost of one tick of the embedded pipeline over many origin channels:
// <root>/<channel>/stream.m3u8 for N channels, each with a few viewer
// sessions, then TickRunner(Origin source, SQLite store, Origin publisher)
// for consecutive minutes. Prints the first tick (empty history) and the
// median of the following ones (a full 5-minute window to read).
//
//   bench_origin_tick CHANNELS TICKS     e.g. 1000 6
#include "core/tick.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/clock.h"
#include "origin/origin.h"
#include "origin/sessions.h"
#include "server/http.h"
#include "store/sqlite/sqlite_store.h"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr int kSessionsPerChannel = 10;
constexpr std::string_view kPlaylist =
    "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:1\n"
    "#EXTINF:1.000000,\n#EXT-X-PROGRAM-DATE-TIME:2026-11-25T12:25:31.006+0000\nseg_00001.ts\n";

double Millis(std::chrono::microseconds d) { return double(d.count()) / 1000.0; }

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 || std::atoi(argv[1]) <= 0 || std::atoi(argv[2]) < 2) {
    std::fprintf(stderr, "usage: bench_origin_tick CHANNELS TICKS(>=2)\n");
    return 2;
  }
  const int channels = std::atoi(argv[1]);
  const int ticks = std::atoi(argv[2]);

  std::string dir = (fs::temp_directory_path() / "headcount-tick.XXXXXX").string();
  if (mkdtemp(dir.data()) == nullptr) return 1;
  const fs::path root = fs::path(dir) / "hls";
  for (int c = 0; c < channels; ++c) {
    const fs::path channel = root / ("ch" + std::to_string(c));
    fs::create_directories(channel);
    std::ofstream(channel / "stream.m3u8") << kPlaylist;
    std::ofstream(channel / "seg_00001.ts") << "x";
  }

  // The playlists were just written: the clock starts now, and the live
  // timeout covers every tick of the run.
  headcount::FakeClock clock(std::chrono::system_clock::now());
  const std::string key(headcount::kSessionKeyBytes, 'k');
  headcount::OriginOptions options;
  options.hls_root = root;
  options.session_key = key;
  options.live_timeout = std::chrono::seconds(3600);
  options.session_idle_timeout = std::chrono::seconds(3600);
  options.max_sessions_per_client = 0;
  headcount::Origin origin(options, clock);
  const headcount::ViewerSessions minter(headcount::SessionOptions{.key = key});
  for (int c = 0; c < channels; ++c) {
    const std::string channel = "ch" + std::to_string(c);
    for (int s = 0; s < kSessionsPerChannel; ++s) {
      headcount::HttpRequest r;
      r.method = "GET";
      r.path = "/hls/" + channel + "/seg_00001.ts";
      r.query.emplace("hcs", *minter.Mint(channel));
      r.client_address = "127.0.0.1";
      if (origin.Handle(r).status != 200) return 1;
    }
  }

  auto store = headcount::SqliteStore::Open(fs::path(dir) / "headcount.db");
  if (!store.ok()) {
    std::fprintf(stderr, "cannot open the database: %s\n", store.error().ToString().c_str());
    return 1;
  }
  headcount::TickRunner runner(origin, **store, origin, clock);
  std::vector<double> later_ms;
  double first_ms = 0;
  for (int t = 0; t < ticks; ++t) {
    const auto started = std::chrono::steady_clock::now();
    const headcount::TickReport report = runner.Run(clock.Now(), headcount::TickOptions{});
    const auto wall = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - started);
    if (!report.ok() || report.published != std::size_t(channels)) {
      std::fprintf(stderr, "tick %d: %s\n", t, report.ToJson().c_str());
      return 1;
    }
    (t == 0 ? first_ms : later_ms.emplace_back()) = Millis(wall);
    clock.Advance(60s);
  }
  fs::remove_all(dir);
  std::sort(later_ms.begin(), later_ms.end());
  const double median = later_ms[later_ms.size() / 2];
  // One line, "key=value" pairs, for bench/origin/run.
  std::printf("channels=%d first_tick_ms=%.1f steady_tick_ms=%.1f per_channel_us=%.1f\n", channels,
              first_ms, median, median * 1000.0 / channels);
  return 0;
}
