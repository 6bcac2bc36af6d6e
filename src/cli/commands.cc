// `headcount tick`, `history` and `viewers`: small commands around the
// components (serve has its own file).
#include "cli/commands.h"

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/signals.h"
#include "core/time_text.h"
#include "server/api.h"
#include "store/sqlite/sqlite_store.h"
#include "viewers/simulator.h"

namespace headcount {
namespace {

// The longest tick report `headcount tick` accepts from the server.
constexpr std::size_t kMaxReportBytes = 64 * 1024 * 1024;

std::size_t AppendBody(char* data, std::size_t size, std::size_t n, void* out) {
  auto* body = static_cast<std::string*>(out);
  if (body->size() + size * n > kMaxReportBytes) return 0;  // aborts the transfer
  body->append(data, size * n);
  return size * n;
}

}  // namespace

int RunTick(const std::string& server_url, std::chrono::seconds timeout) {
  const std::string url = server_url + "/api/tick";
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    std::cerr << "headcount: cannot start libcurl\n";
    return kExitFailure;
  }
  std::string body;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count() * 1000));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  const CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) {
    std::cerr << "headcount: cannot reach " << url << ": " << curl_easy_strerror(rc)
              << " (is `headcount serve` running there?)\n";
    return kExitFailure;
  }
  const auto report = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (status != 200 || !report.is_object() || !report.contains("ok")) {
    std::cerr << "headcount: " << url << " answered HTTP " << status << ": " << body.substr(0, 512)
              << "\n";
    return kExitFailure;
  }
  std::cout << report.dump() << "\n";
  return report["ok"] == true ? kExitOk : kExitFailure;
}

int RunHistory(const Config& config, const HistoryArgs& args) {
  if (!IsValidChannelId(args.channel)) {
    std::cerr << "headcount: --channel: \"" << args.channel.substr(0, 64)
              << "\" is not a channel id (letters, digits, - and _, at most 64)\n";
    return kExitUsage;
  }
  SqliteStoreOptions options;
  options.read_only = true;
  auto store = SqliteStore::Open(config.database, options);
  if (!store.ok()) {
    std::cerr << "headcount: " << store.error().message() << "\n";
    return kExitFailure;
  }
  const Seconds to = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  const Seconds from = to - args.since;
  auto samples = (*store)->History(args.channel, from, to);
  if (!samples.ok()) {
    std::cerr << "headcount: " << samples.error().message() << "\n";
    return kExitFailure;
  }
  if (args.format == "json") {
    std::cout << HistoryJson(args.channel, from, to, config.tick_interval, *samples) << "\n";
  } else {
    std::cout << HistoryCsv(*samples);
  }
  return kExitOk;
}

int RunViewers(const ViewersArgs& args) {
  SimulatorOptions options;
  options.url = args.url;
  options.count = args.count;
  options.ramp = args.ramp;
  options.duration = args.duration;
  ViewerSimulator simulator(options);
  SignalWatcher signals([&](int) { simulator.Stop(); });
  if (Status st = simulator.Run(); !st.ok()) {
    std::cerr << "headcount: " << st.error().message() << "\n";
    return st.error().code() == ErrorCode::kInvalidArgument ? kExitUsage : kExitFailure;
  }
  return kExitOk;
}

}  // namespace headcount
