// bench_tick_floor: the least one IVS tick over N channels can cost on this
// machine with SQLite: headcount's IvsSource parsing the emulator's
// ListStreams pages (captured in memory first, replayed without HTTP) and
// SqliteStore writing the rows to a fresh file. Single-threaded.
//   bench_tick_floor N...   one JSON line per N:
//   {"channels":N,"pages":P,"parse_ms":…,"write_ms":…,"runs":R} (medians)
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "aws/aws_client.h"
#include "aws/credentials.h"
#include "aws/http_transport.h"
#include "core/clock.h"
#include "core/samples.h"
#include "ivs/ivs_options.h"
#include "ivs/ivs_source.h"
#include "ivs_emulator/emulator.h"
#include "ivs_emulator/testing/signed_request.h"
#include "store/sqlite/sqlite_store.h"

namespace headcount {
namespace {

using Millis = std::chrono::duration<double, std::milli>;

// Answers each request with the next captured page, in order (IvsSource asks
// for them in order). Thread-safe.
class ReplayTransport final : public aws::HttpTransport {
 public:
  explicit ReplayTransport(const std::vector<std::string>& pages) : pages_(pages) {}
  void Rewind() {
    std::lock_guard lock(mu_);
    next_ = 0;
  }
  Result<aws::HttpResponse> Send(const aws::HttpRequest& /*request*/) override {
    std::lock_guard lock(mu_);
    if (next_ >= pages_.size()) return Error::Unavailable("replay: no page left");
    return aws::HttpResponse{200, {{"Content-Type", "application/json"}}, pages_[next_++]};
  }

 private:
  const std::vector<std::string>& pages_;
  std::mutex mu_;
  // Guarded by mu_.
  std::size_t next_ = 0;
};

// Every ListStreams page of an emulator with `channels` live channels.
std::vector<std::string> CapturePages(std::size_t channels, const Clock& clock) {
  ivs_emulator::EmulatorOptions options;
  options.channels.count = channels;
  ivs_emulator::IvsEmulator emulator(options, clock);
  std::vector<std::string> pages;
  std::string token;
  do {
    nlohmann::json input = {{"maxResults", kIvsListPageSize}};
    if (!token.empty()) input["nextToken"] = token;
    HttpResponse response = emulator.Handle(
        ivs_emulator::testing::SignedRequest("ListStreams", input.dump(), clock.Now()));
    if (response.status != 200) {
      std::cerr << "bench_tick_floor: emulator answered " << response.status << ": "
                << response.body << "\n";
      std::exit(1);
    }
    const auto page = nlohmann::json::parse(response.body);
    token = page.value("nextToken", std::string{});
    pages.push_back(std::move(response.body));
  } while (!token.empty());
  return pages;
}

double Median(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  return xs.size() % 2 ? xs[xs.size() / 2] : (xs[xs.size() / 2 - 1] + xs[xs.size() / 2]) / 2;
}

int Run(std::size_t channels) {
  SystemClock clock;
  const std::vector<std::string> pages = CapturePages(channels, clock);
  ReplayTransport transport(pages);
  aws::StaticCredentialsProvider credentials(aws::Credentials("test", "test"));
  aws::AwsClientOptions client_options;
  client_options.region = "us-west-2";
  client_options.endpoint = "http://127.0.0.1:1";
  auto client =
      aws::AwsClient::Create(aws::kIvsService, client_options, credentials, transport, clock);
  if (!client.ok()) {
    std::cerr << "bench_tick_floor: " << client.error().message() << "\n";
    return 1;
  }
  IvsOptions ivs_options;
  ivs_options.region = "us-west-2";
  ivs_options.endpoint = client_options.endpoint;
  IvsSource source(**client, clock, ivs_options);

  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("headcount-floor-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const int runs = channels <= 10'000 ? 7 : 3;
  std::vector<double> parse_ms;
  std::vector<double> write_ms;
  for (int i = 0; i < runs; ++i) {
    transport.Rewind();
    const WallTime now = clock.Now();
    const auto t0 = std::chrono::steady_clock::now();
    auto readings = source.Poll(now, Deadline::None());
    if (!readings.ok() || readings->size() != channels) {
      std::cerr << "bench_tick_floor: poll: "
                << (readings.ok() ? std::to_string(readings->size()) + " readings"
                                  : readings.error().message())
                << "\n";
      return 1;
    }
    const Seconds bucket = BucketStart(now, std::chrono::minutes(1));
    std::vector<Sample> samples;
    samples.reserve(readings->size());
    for (auto& r : *readings) {
      if (r.viewers) samples.push_back(Sample{std::move(r.channel), bucket, *r.viewers});
    }
    const auto t1 = std::chrono::steady_clock::now();

    const auto db_path = dir / ("floor-" + std::to_string(i) + ".db");
    auto store = SqliteStore::Open(db_path);
    if (!store.ok()) {
      std::cerr << "bench_tick_floor: " << store.error().message() << "\n";
      return 1;
    }
    const auto t2 = std::chrono::steady_clock::now();
    auto written = (*store)->Record(samples);
    const auto t3 = std::chrono::steady_clock::now();
    if (!written.ok()) {
      std::cerr << "bench_tick_floor: record: " << written.error().message() << "\n";
      return 1;
    }
    parse_ms.push_back(Millis(t1 - t0).count());
    write_ms.push_back(Millis(t3 - t2).count());
  }
  std::filesystem::remove_all(dir);
  std::cout << nlohmann::json{{"channels", channels},
                              {"pages", pages.size()},
                              {"parse_ms", Median(parse_ms)},
                              {"write_ms", Median(write_ms)},
                              {"runs", runs}}
                   .dump()
            << std::endl;
  return 0;
}

}  // namespace
}  // namespace headcount

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);  // not the store's "migrated" lines
  if (argc < 2) {
    std::cerr << "usage: bench_tick_floor CHANNELS...\n";
    return 2;
  }
  for (int i = 1; i < argc; ++i) {
    const long n = std::strtol(argv[i], nullptr, 10);
    if (n <= 0) {
      std::cerr << "bench_tick_floor: bad channel count '" << argv[i] << "'\n";
      return 2;
    }
    if (const int rc = headcount::Run(static_cast<std::size_t>(n)); rc != 0) return rc;
  }
  return 0;
}
