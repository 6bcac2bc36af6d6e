// headcount-ivs-emulator: serves IvsEmulator over HTTP until SIGINT/SIGTERM.
// Wiring only: flags -> EmulatorOptions -> HttpServer.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>

#include "ivs_emulator/emulator.h"
#include "net/url.h"
#include "server/http_server.h"

namespace headcount::ivs_emulator {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
constexpr int kMaxThreads = 64;

constexpr const char* kDescription =
    "headcount-ivs-emulator: a local Amazon IVS for tests, benchmarks and development without\n"
    "an AWS account. Speaks ListChannels, ListStreams, GetStream and PutMetadata as the IVS\n"
    "REST API does (SigV4-verified, PutMetadata quotas enforced), over N channels whose viewer\n"
    "counts follow a model. Prints `listening on http://HOST:PORT` as its first line.\n"
    "Test endpoints (unsigned, loopback only): GET /_emulator/metadata[?channelArn=],\n"
    "GET /_emulator/stats, GET /_emulator/channels, POST /_emulator/channels/{id},\n"
    "POST /_emulator/reset. See docs/ivs-emulator.md.";

struct ListenAddress {
  std::string host;
  std::uint16_t port = 0;
};

// "127.0.0.1:8787", "[::1]:0".
Result<ListenAddress> ParseListen(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return Error::InvalidArgument("--listen: expected HOST:PORT, not '" + text + "'");
  }
  ListenAddress out;
  out.host = text.substr(0, colon);
  if (out.host.size() > 2 && out.host.front() == '[' && out.host.back() == ']') {
    out.host = out.host.substr(1, out.host.size() - 2);
  }
  try {
    std::size_t used = 0;
    const int port = std::stoi(text.substr(colon + 1), &used);
    if (used != text.size() - colon - 1 || port < 0 || port > 65535) throw std::out_of_range("");
    out.port = static_cast<std::uint16_t>(port);
  } catch (const std::exception&) {
    return Error::InvalidArgument("--listen: bad port in '" + text + "'");
  }
  return out;
}

// What the command line sets: the emulator's options, and the text of the
// flags parsed after CLI11 (ResolveFlags).
struct Flags {
  EmulatorOptions options;
  std::string listen = "127.0.0.1:8787";
  std::string viewers = "random:100:5";
  std::string log_level = "warn";
  int threads = 2;
  std::vector<std::string> tag_rules;
};

// The flags of `app`, writing into `f` (which must outlive parsing).
void AddFlags(CLI::App& app, Flags& f) {
  EmulatorOptions& options = f.options;
  app.add_option("--listen", f.listen, "HOST:PORT to listen on; port 0 picks a free one")
      ->capture_default_str();
  app.add_option("--channels", options.channels.count, "number of channels")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{0}, kMaxChannels));
  app.add_option("--region", options.channels.region, "region of the ARNs and the SigV4 scope")
      ->capture_default_str();
  app.add_option("--account-id", options.channels.account_id, "account id in the ARNs")
      ->capture_default_str();
  app.add_option("--access-key-id", options.access_key_id,
                 "the access key id whose signatures are accepted")
      ->envname("AWS_ACCESS_KEY_ID")
      ->capture_default_str();
  app.add_option("--secret-access-key", options.secret_access_key,
                 "its secret (default test; never printed)")
      ->envname("AWS_SECRET_ACCESS_KEY");
  app.add_option("--viewers", f.viewers,
                 "viewer counts of live channels: fixed:N, random:START:STEP (a step every 10 s),\n"
                 "or script:T=N,T=N,... (T in seconds since start)")
      ->capture_default_str();
  app.add_option("--offline-fraction", options.channels.offline_fraction,
                 "fraction of channels that start offline (chosen by the seed)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--put-metadata-tps-per-channel", options.put_metadata_tps_per_channel,
                 "PutMetadata quota per channel, requests/s (burst = rate; 0 disables)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--put-metadata-tps-per-account", options.put_metadata_tps_per_account,
                 "PutMetadata quota per account, requests/s (burst = rate; 0 disables)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--seed", options.channels.seed,
                 "seed of channel ids, offline channels and random walks")
      ->capture_default_str();
  app.add_option("--tag-every", f.tag_rules,
                 "N:key=value: tag every N-th channel (channel-0000N, -2N, ...) with key=value\n"
                 "in ListChannels' tags; repeatable (default: no tags)");
  app.add_option("--metadata-log-capacity", options.metadata_log_capacity,
                 "accepted PutMetadata calls kept for GET /_emulator/metadata")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option(
         "--playback-dir", options.playback_dir,
         "serve DIR/<channel-id>/stream.m3u8 (e.g. from ffmpeg) at /playback/<channel-id>.m3u8\n"
         "with every PutMetadata payload in it as ID3 timed metadata, as IVS plays it")
      ->check(CLI::ExistingDirectory);
  app.add_option("--threads", f.threads, "HTTP server threads")
      ->capture_default_str()
      ->check(CLI::Range(1, kMaxThreads));
  app.add_option("--log-level", f.log_level, "trace, debug, info, warn, error or off")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
}

// Parses the flags CLI11 leaves as text into f.options and validates them;
// returns the address to listen on, or the error to print.
Result<ListenAddress> ResolveFlags(Flags& f) {
  auto model = ViewerModel::Parse(f.viewers);
  if (!model.ok()) return model.error();
  f.options.channels.viewers = *model;
  for (const std::string& text : f.tag_rules) {
    auto rule = TagRule::Parse(text);
    if (!rule.ok()) return Error::InvalidArgument("--tag-every: " + rule.error().message());
    f.options.channels.tag_rules.push_back(std::move(*rule));
  }
  if (const Status s = f.options.Validate(); !s.ok()) return s.error();
  return ParseListen(f.listen);
}

// Serves the emulator until SIGINT or SIGTERM.
int Serve(const EmulatorOptions& options, const ListenAddress& address, int threads) {
  // Block the stop signals in every thread (the server's threads inherit the
  // mask), so this thread can wait for them with sigwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  SystemClock clock;
  IvsEmulator emulator(options, clock);
  HttpServerOptions server_options;
  server_options.address = address.host;
  server_options.port = address.port;
  server_options.threads = threads;
  HttpServer server(server_options,
                    [&emulator](const HttpRequest& request) { return emulator.Handle(request); });
  if (const Status s = server.Start(); !s.ok()) {
    std::cerr << "headcount-ivs-emulator: " << s.error().message() << "\n";
    return kExitFailed;
  }
  std::cout << "listening on http://" << HostPort(address.host, server.port()) << std::endl;
  spdlog::info(
      "ivs emulator: {} channels in {} (account {}), PutMetadata quotas {}/s per channel, "
      "{}/s per account",
      options.channels.count, options.channels.region, options.channels.account_id,
      options.put_metadata_tps_per_channel, options.put_metadata_tps_per_account);

  int signo = 0;
  sigwait(&stop_signals, &signo);
  spdlog::info("ivs emulator: signal {}, stopping", signo);
  server.Stop();
  return kExitOk;
}

int Main(int argc, char** argv) {
  CLI::App app{kDescription, "headcount-ivs-emulator"};
  Flags flags;
  AddFlags(app, flags);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  auto address = ResolveFlags(flags);
  if (!address.ok()) {
    std::cerr << "headcount-ivs-emulator: " << address.error().message() << "\n";
    return kExitUsage;
  }
  spdlog::set_level(spdlog::level::from_str(flags.log_level));
  spdlog::set_default_logger(spdlog::default_logger());
  return Serve(flags.options, *address, flags.threads);
}

}  // namespace
}  // namespace headcount::ivs_emulator

int main(int argc, char** argv) { return headcount::ivs_emulator::Main(argc, argv); }
