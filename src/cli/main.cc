// headcount's command line: parses flags with CLI11, loads the configuration
// and hands over to one subcommand. Wiring only; the work is in the components.
#include <CLI/CLI.hpp>
#include <iostream>
#include <map>
#include <string>

#include "cli/commands.h"
#include "cli/config.h"
#include "cli/lambda.h"
#include "core/time_text.h"

namespace headcount {
namespace {

constexpr const char* kDescription =
    "headcount shows the people who watch a live stream how many others are watching,\n"
    "minute by minute, inside the stream: every tick it reads each live channel's viewer\n"
    "count, stores it, and sends the last 5 minutes into the stream as timed metadata.\n"
    "Exit codes: 0 ok, 1 failed, 2 bad command line or configuration.";

constexpr const char* kSettingsFooter =
    "Every setting can also come from a TOML file (--config or HEADCOUNT_CONFIG) and from\n"
    "HEADCOUNT_* environment variables; flags override the environment, which overrides\n"
    "the file. See README.md#configuration.";

// Adds the flag of every listed setting to `cmd`, writing given values into `values`.
void AddSettingFlags(CLI::App* cmd, std::map<std::string, std::string>& values,
                     std::initializer_list<std::string_view> keys) {
  for (const auto& spec : Settings()) {
    for (const auto key : keys) {
      if (spec.key != key) continue;
      cmd->add_option(spec.flag, values[spec.key], spec.help + " [env " + spec.env + "]");
    }
  }
}

// Adds --config to a subcommand, so that `headcount serve --config f.toml`
// works as `headcount --config f.toml serve` does. Without the environment
// variable: HEADCOUNT_CONFIG is read by the top-level option, and a flag
// given here overrides it.
void AddConfigFlag(CLI::App* cmd, std::string& file) {
  cmd->add_option("--config", file, "TOML configuration file [env HEADCOUNT_CONFIG]")
      ->check(CLI::ExistingFile);
}

// Keeps only the flags the user actually gave.
std::map<std::string, std::string> GivenFlags(CLI::App* cmd,
                                              const std::map<std::string, std::string>& values) {
  std::map<std::string, std::string> out;
  for (const auto& spec : Settings()) {
    const auto it = values.find(spec.key);
    if (it == values.end()) continue;
    const CLI::Option* opt = cmd->get_option_no_throw(spec.flag);
    if (opt != nullptr && opt->count() > 0) out[spec.key] = it->second;
  }
  return out;
}

Result<std::chrono::milliseconds> DurationFlag(const std::string& flag, const std::string& text) {
  auto d = ParseDuration(text);
  if (!d.ok()) return Error::InvalidArgument(flag + ": " + d.error().message());
  return *d;
}

int Main(int argc, char** argv) {
  CLI::App app{kDescription, "headcount"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "headcount 0.1.0");
  std::string config_file;      // --config before the subcommand, or HEADCOUNT_CONFIG
  std::string sub_config_file;  // --config after the subcommand: wins over config_file
  app.add_option("--config", config_file, "TOML configuration file")
      ->envname("HEADCOUNT_CONFIG")
      ->check(CLI::ExistingFile);

  std::map<std::string, std::string> serve_flags;
  CLI::App* serve = app.add_subcommand(
      "serve",
      "Run the pipeline as a daemon: a tick at the start of every interval, the HTTP API,\n"
      "the dashboard (/) and, with --source origin (the default), the HLS origin (counts\n"
      "viewers, carries the metadata in its playlists and segments, player at\n"
      "/watch/{channel}). With --source ivs the ticks read Amazon IVS ListStreams and send\n"
      "PutMetadata, as `headcount tick --source ivs` does (AWS_* variables; no /hls/\n"
      "routes). Store: --store sqlite (default) or dynamodb.");
  AddConfigFlag(serve, sub_config_file);
  AddSettingFlags(serve, serve_flags,
                  {"server.listen",
                   "origin.hls_root",
                   "origin.session_idle_timeout",
                   "origin.live_timeout",
                   "origin.max_sessions_per_client",
                   "origin.segment_metadata",
                   "origin.session_key_file",
                   "store.database",
                   "store.retention",
                   "tick.interval",
                   "log.level",
                   "tick.source",
                   "store.kind",
                   "dynamodb.table",
                   "dynamodb.create_table",
                   "ivs.channels",
                   "ivs.channel_tag",
                   "ivs.include_offline",
                   "ivs.metadata_format",
                   "ivs.account_tps",
                   "ivs.channel_tps",
                   "ivs.publish_concurrency"});

  std::map<std::string, std::string> tick_flags;
  std::string server_url;
  std::string tick_timeout = "60s";
  CLI::App* tick = app.add_subcommand(
      "tick",
      "Run one tick now and print its report as JSON; exit code 1 when it failed for any\n"
      "channel. With --source origin (the default) the running `headcount serve` runs it;\n"
      "with --source ivs it runs here: Amazon IVS ListStreams -> store -> PutMetadata,\n"
      "with AWS credentials, region and endpoints from the standard AWS_* variables.");
  tick->add_option("--server", server_url,
                   "base URL of the running server (default: http://<server.listen>)");
  tick->add_option("--timeout", tick_timeout, "give up after this long (default 60s)");
  AddConfigFlag(tick, sub_config_file);
  AddSettingFlags(tick, tick_flags,
                  {"server.listen", "log.level", "tick.source", "tick.interval", "store.kind",
                   "store.database", "store.retention", "dynamodb.table", "dynamodb.create_table",
                   "ivs.channels", "ivs.channel_tag", "ivs.include_offline", "ivs.metadata_format",
                   "ivs.account_tps", "ivs.channel_tps", "ivs.publish_concurrency"});

  std::map<std::string, std::string> history_flags;
  HistoryArgs history_args;
  std::string since = "1h";
  CLI::App* history = app.add_subcommand(
      "history", "Print the stored per-bucket viewer counts of one channel (reads the database).");
  history
      ->add_option("--channel", history_args.channel,
                   "channel id (its folder name) or IVS channel ARN")
      ->required();
  history->add_option("--since", since, "how far back, e.g. 1h, 24h, 7d (default 1h)");
  history->add_option("--format", history_args.format, "csv or json (default csv)")
      ->check(CLI::IsMember({"csv", "json"}));
  AddConfigFlag(history, sub_config_file);
  AddSettingFlags(history, history_flags,
                  {"store.kind", "store.database", "dynamodb.table", "tick.interval", "log.level"});

  ViewersArgs viewers_args;
  std::string ramp = "0s";
  std::string duration = "0s";
  std::string viewers_log = "info";
  CLI::App* viewers = app.add_subcommand(
      "viewers",
      "Simulate N HLS players watching a stream (playlist reloads at the target-duration\n"
      "pace, every new segment fetched once): for demos, tests and benchmarks.");
  viewers->add_option("--url", viewers_args.url, "playlist URL (http://...m3u8)")->required();
  viewers->add_option("--count", viewers_args.count, "number of players (1-100000)")
      ->required()
      ->check(CLI::Range(1, 100000));
  viewers->add_option("--ramp", ramp, "start the players evenly over this long (default 0s)");
  viewers->add_option("--duration", duration, "stop after this long (default 0s: until Ctrl-C)");
  viewers->add_option("--log-level", viewers_log, "trace, debug, info, warn, error or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));

  CLI::App* lambda = app.add_subcommand(
      "lambda",
      "Run as an AWS Lambda custom runtime (the `bootstrap`): one tick per invocation from\n"
      "the Runtime API at AWS_LAMBDA_RUNTIME_API, its report as the response, one JSON log\n"
      "line per tick on stdout. Settings come from HEADCOUNT_* and AWS_* variables and the\n"
      "TOML file of HEADCOUNT_CONFIG (or --config); tick.source must be ivs. Bad\n"
      "configuration is reported through init/error.");
  AddConfigFlag(lambda, sub_config_file);

  // Set last: a subcommand copies its parent's footer when it is created, and
  // `viewers` takes no settings.
  for (CLI::App* cmd : {&app, serve, tick, history, lambda}) cmd->footer(kSettingsFooter);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }

  auto load = [&](CLI::App* cmd, const std::map<std::string, std::string>& values) {
    ConfigSource source;
    if (!sub_config_file.empty()) {
      source.file = sub_config_file;
    } else if (!config_file.empty()) {
      source.file = config_file;
    }
    source.flags = GivenFlags(cmd, values);
    source.getenv = RealGetenv;
    return LoadConfig(source);
  };
  auto config_error = [](const Error& e) {
    std::cerr << "headcount: config error: " << e.message() << "\n";
    return kExitUsage;
  };

  if (serve->parsed()) {
    auto config = load(serve, serve_flags);
    if (!config.ok()) return config_error(config.error());
    SetupLogging(config->log_level);
    return RunServe(*config);
  }
  if (tick->parsed()) {
    auto config = load(tick, tick_flags);
    if (!config.ok()) return config_error(config.error());
    SetupLogging(config->log_level);
    auto timeout = DurationFlag("--timeout", tick_timeout);
    if (!timeout.ok()) return config_error(timeout.error());
    if (server_url.empty()) {
      const bool v6 = config->listen_address.find(':') != std::string::npos;
      std::string host = config->listen_address == "0.0.0.0" ? "127.0.0.1" : config->listen_address;
      if (v6) host = host == "::" ? "[::1]" : "[" + host + "]";
      server_url = "http://" + host + ":" + std::to_string(config->listen_port);
    }
    return RunTick(*config, server_url, std::chrono::duration_cast<std::chrono::seconds>(*timeout));
  }
  if (history->parsed()) {
    auto config = load(history, history_flags);
    if (!config.ok()) return config_error(config.error());
    SetupLogging(config->log_level);
    auto d = DurationFlag("--since", since);
    if (!d.ok()) return config_error(d.error());
    if (d->count() <= 0) return config_error(Error::InvalidArgument("--since: must be positive"));
    history_args.since = std::chrono::duration_cast<std::chrono::seconds>(*d);
    return RunHistory(*config, history_args);
  }
  if (lambda->parsed()) {
    // RunLambda logs a config error and reports it to Lambda (init/error).
    auto config = load(lambda, {});
    SetupLogging(config.ok() ? config->log_level : "info");
    return RunLambda(config);
  }
  if (viewers->parsed()) {
    SetupLogging(viewers_log);
    auto r = DurationFlag("--ramp", ramp);
    if (!r.ok()) return config_error(r.error());
    auto d = DurationFlag("--duration", duration);
    if (!d.ok()) return config_error(d.error());
    viewers_args.ramp = *r;
    viewers_args.duration = *d;
    return RunViewers(viewers_args);
  }
  return kExitUsage;
}

}  // namespace
}  // namespace headcount

int main(int argc, char** argv) { return headcount::Main(argc, argv); }
