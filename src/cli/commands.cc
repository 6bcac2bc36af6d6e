// `headcount tick`, `history` and `viewers`: small commands around the
// components (serve has its own file).
#include "cli/commands.h"

#include <spdlog/spdlog.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "aws/http_transport.h"
#include "cli/pipeline.h"
#include "cli/report.h"
#include "cli/signals.h"
#include "core/tick.h"
#include "core/time_text.h"
#include "http_client/beast_transport.h"
#include "ivs/ivs_options.h"
#include "server/api.h"
#include "viewers/simulator.h"

namespace headcount {
namespace {

// How long `headcount history` waits for a remote store.
constexpr std::chrono::seconds kHistoryTimeout{30};
// The most channels `headcount report` lists without --channel.
constexpr std::size_t kMaxReportChannels = 10'000;
// The longest tick report `headcount tick` accepts from the server.
constexpr std::size_t kMaxReportBytes = std::size_t{64} * 1024 * 1024;

// One tick in this process: IVS as source and publisher, the configured store.
int RunTickHere(const Config& config, std::chrono::seconds timeout) {
  SystemClock clock;
  auto pipeline = MakePipeline(config, clock, /*with_source=*/true, /*read_only_store=*/false);
  if (!pipeline.ok()) {
    std::cerr << "headcount: " << pipeline.error().message() << "\n";
    return pipeline.error().code() == ErrorCode::kInvalidArgument ? kExitUsage : kExitFailure;
  }
  const WallTime now = clock.Now();
  // Like a scheduled tick, a tick here may take nine tenths of the interval
  // (whenever in the bucket it starts), or --timeout if that is shorter.
  const WallTime deadline =
      now + std::min<std::chrono::nanoseconds>(config.tick_interval * 9 / 10, timeout);
  TickRunner runner(*(*pipeline)->source(), (*pipeline)->store(), *(*pipeline)->publisher(), clock);
  const TickReport report =
      RunPipelineTick(**pipeline, runner, now, deadline, config.tick_interval);
  std::cout << report.ToJson() << "\n";
  return report.ok() ? kExitOk : kExitFailure;
}

// Whether `channel`, a --channel value, is a channel id or an IVS channel
// ARN; says why not on stderr.
bool CheckChannelFlag(const std::string& channel) {
  if (IsChannelIdOrArn(channel)) return true;
  std::cerr << "headcount: --channel: \"" << channel.substr(0, 128)
            << "\" is not a channel id (letters, digits, - and _, at most 64) or an IVS "
               "channel ARN\n";
  return false;
}

// The configured store, read-only, for history and report; says why not on stderr.
Result<std::unique_ptr<Pipeline>> OpenStoreToRead(const Config& config, const Clock& clock) {
  auto store = MakePipeline(config, clock, /*with_source=*/false, /*read_only_store=*/true);
  if (!store.ok()) std::cerr << "headcount: " << store.error().message() << "\n";
  return store;
}

}  // namespace

int RunTick(const Config& config, const std::string& server_url, std::chrono::seconds timeout) {
  if (config.source == SourceKind::kIvs) return RunTickHere(config, timeout);
  const std::string url = server_url + "/api/tick";
  aws::HttpRequest request;
  request.method = "POST";
  request.url = url;
  request.timeout = timeout;
  request.max_response_bytes = kMaxReportBytes;
  http_client::BeastTransport transport;
  auto response = transport.Send(request);
  if (!response.ok()) {
    std::cerr << "headcount: cannot reach " << url << ": " << response.error().message()
              << " (is `headcount serve` running there?)\n";
    return kExitFailure;
  }
  const int status = response->status;
  const std::string& body = response->body;
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
  if (!CheckChannelFlag(args.channel)) return kExitUsage;
  SystemClock clock;
  auto store = OpenStoreToRead(config, clock);
  if (!store.ok()) return kExitFailure;
  const Seconds to = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  const Seconds from = to - args.since;
  (*store)->SetDeadline(clock.Now() + kHistoryTimeout);
  auto samples = (*store)->history().History(args.channel, from, to);
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

int RunReport(const Config& config, const ReportArgs& args) {
  for (const std::string& channel : args.channels) {
    if (!CheckChannelFlag(channel)) return kExitUsage;
  }
  const auto by = ParseAudiencePeriod(args.by);
  const auto format = ParseReportFormat(args.format);
  if (!by || !format) {
    std::cerr << "headcount: --by must be hour or day, --format table, csv or json\n";
    return kExitUsage;
  }
  SystemClock clock;
  auto store = OpenStoreToRead(config, clock);
  if (!store.ok()) return kExitFailure;
  Report report;
  report.to = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  report.from = report.to - args.since;
  report.by = *by;
  report.bucket_length = config.tick_interval;
  (*store)->SetDeadline(clock.Now() + kHistoryTimeout);
  HistoryReader& history = (*store)->history();
  std::vector<ChannelId> channels(args.channels.begin(), args.channels.end());
  if (channels.empty()) {
    auto stored = history.Channels(report.from, report.to, kMaxReportChannels);
    if (!stored.ok()) {
      // kInvalidArgument: a store that cannot list them (HistoryReader).
      const bool unlisted = stored.error().code() == ErrorCode::kInvalidArgument;
      std::cerr << "headcount: " << stored.error().message()
                << (unlisted ? "; name them with --channel" : "") << "\n";
      return kExitFailure;
    }
    if (stored->size() == kMaxReportChannels) {
      spdlog::warn("report: the first {} channels only; name others with --channel",
                   kMaxReportChannels);
    }
    channels = std::move(stored).value();
  }
  for (const ChannelId& channel : channels) {
    auto periods = history.Audience(channel, report.from, report.to, report.by);
    if (!periods.ok()) {
      std::cerr << "headcount: " << channel << ": " << periods.error().message() << "\n";
      return kExitFailure;
    }
    report.channels.push_back({channel, std::move(periods).value()});
  }
  std::cout << FormatReport(report, *format);
  return kExitOk;
}

int RunViewers(const ViewersArgs& args) {
  SimulatorOptions options;
  options.url = args.url;
  options.count = args.count;
  options.ramp = args.ramp;
  options.duration = args.duration;
  options.heartbeat = args.heartbeat;
  options.cmcd = args.cmcd;
  options.channel = args.channel;
  ViewerSimulator simulator(options, SystemAlarms());
  SignalWatcher signals([&](int) { simulator.Stop(); });
  if (Status st = simulator.Run(); !st.ok()) {
    std::cerr << "headcount: " << st.error().message() << "\n";
    return st.error().code() == ErrorCode::kInvalidArgument ? kExitUsage : kExitFailure;
  }
  return kExitOk;
}

}  // namespace headcount
