// bench/cluster: what one Redis absorbs from a cluster's nodes
// (cluster/shared_viewers.h), against a redis-server bench/cluster/run starts.
//   bench_cluster_redis URL throughput NODES VIEWERS_PER_NODE SECONDS
//     NODES threads, each a node with its own connection pool, each round
//     marking every one of its viewers seen (as its media requests do) and
//     flushing: prints {"updates_per_s", "flushes_per_s", "flush_ms_mean"}.
//   bench_cluster_redis URL memory VIEWERS CHANNELS
//     one node's VIEWERS viewers over CHANNELS channels flushed into an empty
//     Redis: prints {"bytes_per_viewer", "used_memory_bytes", "count_ms"}
//     (count_ms: one tick's count of every channel).
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "cluster/redis_client.h"
#include "cluster/redis_url.h"
#include "cluster/shared_viewers.h"

namespace headcount {
namespace {

using Steady = std::chrono::steady_clock;

SessionTable::Key ViewerKey(std::uint32_t node, std::uint32_t viewer) {
  SessionTable::Key key{};
  for (int i = 0; i < 4; ++i) {
    key[i] = static_cast<unsigned char>(viewer >> (8 * i));
    key[4 + i] = static_cast<unsigned char>(node >> (8 * i));
  }
  return key;
}

RedisOptions Options(const std::string& url) {
  Result<RedisEndpoint> endpoint = ParseRedisUrl(url);
  if (!endpoint.ok()) {
    std::fprintf(stderr, "%s\n", endpoint.error().message().c_str());
    std::exit(2);
  }
  RedisOptions options;
  options.endpoint = *endpoint;
  options.io_timeout = std::chrono::seconds(30);
  return options;
}

std::int64_t UsedMemory(Redis& redis) {
  const Result<RedisReply> info = redis.RunOne({"INFO", "memory"});
  if (!info.ok()) return -1;
  const std::size_t at = info->text.find("used_memory:");
  return at == std::string::npos ? -1 : std::atoll(info->text.c_str() + at + 12);
}

int Throughput(const std::string& url, int nodes, int viewers, int seconds) {
  std::atomic<std::int64_t> updates{0}, flushes{0}, flush_us{0};
  std::atomic<bool> failed{false};
  const auto until = Steady::now() + std::chrono::seconds(seconds);
  std::vector<std::thread> threads;
  for (int n = 0; n < nodes; ++n) {
    threads.emplace_back([&, n] {
      RedisPool redis(Options(url));
      SharedViewers shared(redis, {});
      while (Steady::now() < until) {
        const WallTime now = std::chrono::system_clock::now();
        for (int v = 0; v < viewers; ++v) {
          shared.Seen(ViewerSink::Kind::kSession, "bench-" + std::to_string(v % 10),
                      ViewerKey(n, v), now);
        }
        const auto start = Steady::now();
        if (!shared.Flush().ok()) failed = true;
        flush_us +=
            std::chrono::duration_cast<std::chrono::microseconds>(Steady::now() - start).count();
        updates += viewers;
        ++flushes;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  if (failed) return 1;
  std::printf("{\"updates_per_s\":%.0f,\"flushes_per_s\":%.1f,\"flush_ms_mean\":%.2f}\n",
              double(updates) / seconds, double(flushes) / seconds,
              double(flush_us) / 1000.0 / double(std::max<std::int64_t>(1, flushes)));
  return 0;
}

int Memory(const std::string& url, int viewers, int channels) {
  RedisPool redis(Options(url));
  if (!redis.RunOne({"FLUSHALL"}).ok()) return 1;
  const std::int64_t before = UsedMemory(redis);
  SharedViewers shared(redis, {});
  const WallTime now = std::chrono::system_clock::now();
  std::vector<ChannelId> names;
  for (int c = 0; c < channels; ++c) names.push_back("bench-" + std::to_string(c));
  for (int v = 0; v < viewers; ++v) {
    shared.Seen(ViewerSink::Kind::kSession, names[v % channels], ViewerKey(0, v), now);
  }
  if (!shared.Flush().ok()) return 1;
  const std::int64_t after = UsedMemory(redis);
  const auto start = Steady::now();
  const auto counts = shared.Count(names, now);
  const double count_ms = std::chrono::duration<double, std::milli>(Steady::now() - start).count();
  if (!counts.ok()) return 1;
  std::printf("{\"bytes_per_viewer\":%.0f,\"used_memory_bytes\":%lld,\"count_ms\":%.1f}\n",
              double(after - before) / viewers, static_cast<long long>(after - before), count_ms);
  return 0;
}

}  // namespace
}  // namespace headcount

int main(int argc, char** argv) {
  const std::string mode = argc > 2 ? argv[2] : "";
  if (mode == "throughput" && argc == 6) {
    return headcount::Throughput(argv[1], std::atoi(argv[3]), std::atoi(argv[4]),
                                 std::atoi(argv[5]));
  }
  if (mode == "memory" && argc == 5) {
    return headcount::Memory(argv[1], std::atoi(argv[3]), std::atoi(argv[4]));
  }
  std::fprintf(stderr,
               "usage: bench_cluster_redis URL throughput NODES VIEWERS_PER_NODE SECONDS\n"
               "       bench_cluster_redis URL memory VIEWERS CHANNELS\n");
  return 2;
}
