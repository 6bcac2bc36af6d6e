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
#include "net/url.h"

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
      CLI::Option* option =
          cmd->add_option(spec.flag, values[spec.key], spec.help + " [env " + spec.env + "]");
      // Given again, the values are joined by newlines (CLI11's Join), as
      // the setting reads them.
      if (spec.repeatable) option->multi_option_policy(CLI::MultiOptionPolicy::Join);
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

// The --config files of one command line, and loading the configuration
// with them.
struct ConfigFiles {
  std::string top;  // --config before the subcommand, or HEADCOUNT_CONFIG
  std::string sub;  // --config after the subcommand: wins over `top`

  // The configuration from the file, the environment and the flags given to
  // `cmd` (out of `values`).
  Result<Config> Load(CLI::App* cmd, const std::map<std::string, std::string>& values) const {
    ConfigSource source;
    if (!sub.empty()) {
      source.file = sub;
    } else if (!top.empty()) {
      source.file = top;
    }
    source.flags = GivenFlags(cmd, values);
    source.getenv = RealGetenv;
    return LoadConfig(source);
  }
};

int ConfigError(const Error& e) {
  std::cerr << "headcount: config error: " << e.message() << "\n";
  return kExitUsage;
}

// One subcommand each: its CLI11 command and the values its flags write
// into. CLI11 keeps pointers to these members, so each lives in Main's frame.
struct ServeCommand {
  CLI::App* cmd = nullptr;
  std::map<std::string, std::string> flags;
};
struct TickCommand {
  CLI::App* cmd = nullptr;
  std::map<std::string, std::string> flags;
  std::string server_url;
  std::string timeout = "60s";
};
struct HistoryCommand {
  CLI::App* cmd = nullptr;
  std::map<std::string, std::string> flags;
  HistoryArgs args;
  std::string since = "1h";
};
struct ReportCommand {
  CLI::App* cmd = nullptr;
  std::map<std::string, std::string> flags;
  ReportArgs args;
  std::string since = "7d";
};
struct ViewersCommand {
  CLI::App* cmd = nullptr;
  ViewersArgs args;
  std::string ramp = "0s";
  std::string duration = "0s";
  std::string log_level = "info";
};

void AddServe(CLI::App& app, ServeCommand& c, std::string& sub_config) {
  c.cmd = app.add_subcommand(
      "serve",
      "Run the pipeline as a daemon: a tick at the start of every interval, the HTTP API,\n"
      "the dashboard (/) and, with --source origin (the default), the HLS origin (counts\n"
      "viewers, carries the metadata in its playlists and segments, player at\n"
      "/watch/{channel}). With --source ivs the ticks read Amazon IVS ListStreams and send\n"
      "PutMetadata, as `headcount tick --source ivs` does (AWS_* variables; no /hls/\n"
      "routes). Store: --store sqlite (default), dynamodb or postgres (with --postgres-url URI).\n"
      "Several nodes, one count: --cluster redis://host:port (rediss:// for TLS) with a shared\n"
      "store.");
  AddConfigFlag(c.cmd, sub_config);
  AddSettingFlags(c.cmd, c.flags,
                  {"server.listen",
                   "server.trusted_proxies",
                   "server.cors_origins",
                   "server.max_event_streams",
                   "origin.hls_root",
                   "origin.count",
                   "origin.cmcd",
                   "origin.cmcd_timeout",
                   "origin.upstream",
                   "origin.channels",
                   "origin.upstream_timeout",
                   "origin.upstream_cache_size",
                   "origin.upstream_ca_file",
                   "origin.upstream_headers",
                   "origin.upstream_query",
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
                   "store.postgres_url",
                   "cluster.redis",
                   "cluster.redis_ca_file",
                   "cluster.key_prefix",
                   "dynamodb.table",
                   "dynamodb.create_table",
                   "ivs.channels",
                   "ivs.channel_tag",
                   "ivs.include_offline",
                   "ivs.metadata_format",
                   "ivs.account_tps",
                   "ivs.burst",
                   "ivs.channel_tps",
                   "ivs.publish_concurrency"});
}

void AddTick(CLI::App& app, TickCommand& c, std::string& sub_config) {
  c.cmd = app.add_subcommand(
      "tick",
      "Run one tick now and print its report as JSON; exit code 1 when it failed for any\n"
      "channel. With --source origin (the default) the running `headcount serve` runs it;\n"
      "with --source ivs it runs here: Amazon IVS ListStreams -> store -> PutMetadata,\n"
      "with AWS credentials, region and endpoints from the standard AWS_* variables.");
  c.cmd->add_option("--server", c.server_url,
                    "base URL of the running server (default: http://<server.listen>)");
  c.cmd->add_option("--timeout", c.timeout, "give up after this long (default 60s)");
  AddConfigFlag(c.cmd, sub_config);
  AddSettingFlags(
      c.cmd, c.flags,
      {"server.listen", "log.level", "tick.source", "tick.interval", "store.kind", "store.database",
       "store.postgres_url", "store.retention", "dynamodb.table", "dynamodb.create_table",
       "ivs.channels", "ivs.channel_tag", "ivs.include_offline", "ivs.metadata_format",
       "ivs.account_tps", "ivs.burst", "ivs.channel_tps", "ivs.publish_concurrency"});
}

void AddHistory(CLI::App& app, HistoryCommand& c, std::string& sub_config) {
  c.cmd = app.add_subcommand(
      "history", "Print the stored per-bucket viewer counts of one channel (reads the database).");
  c.cmd->add_option("--channel", c.args.channel, "channel id (its folder name) or IVS channel ARN")
      ->required();
  c.cmd->add_option("--since", c.since, "how far back, e.g. 1h, 24h, 7d (default 1h)");
  c.cmd->add_option("--format", c.args.format, "csv or json (default csv)")
      ->check(CLI::IsMember({"csv", "json"}));
  AddConfigFlag(c.cmd, sub_config);
  AddSettingFlags(c.cmd, c.flags,
                  {"store.kind", "store.database", "store.postgres_url", "dynamodb.table",
                   "tick.interval", "log.level"});
}

void AddReport(CLI::App& app, ReportCommand& c, std::string& sub_config) {
  c.cmd = app.add_subcommand(
      "report",
      "Print audience summaries from the database: per channel and UTC day (or hour), the\n"
      "peak concurrent viewers and when, the average while live, viewer-minutes, live\n"
      "minutes and distinct viewers (where the store has them), then a total per channel.\n"
      "Every channel with samples in the range, or those named with --channel (which the\n"
      "dynamodb store needs: it cannot list them).");
  c.cmd->add_option("--channel", c.args.channels,
                    "channel id or IVS channel ARN (repeatable; default: every stored channel)");
  c.cmd->add_option("--since", c.since, "how far back, e.g. 24h, 7d, 30d (default 7d)");
  c.cmd->add_option("--by", c.args.by, "day or hour (default day)")
      ->check(CLI::IsMember({"day", "hour"}));
  c.cmd->add_option("--format", c.args.format, "table, csv or json (default table)")
      ->check(CLI::IsMember({"table", "csv", "json"}));
  AddConfigFlag(c.cmd, sub_config);
  AddSettingFlags(c.cmd, c.flags,
                  {"store.kind", "store.database", "store.postgres_url", "dynamodb.table",
                   "tick.interval", "log.level"});
}

void AddViewers(CLI::App& app, ViewersCommand& c) {
  c.cmd = app.add_subcommand(
      "viewers",
      "Simulate N HLS players watching a stream (playlist reloads at the target-duration\n"
      "pace, every new segment fetched once), with --heartbeat also reporting themselves\n"
      "as headcount.js does, with --cmcd as a CMCD v2 player does: for demos, tests and\n"
      "benchmarks (also through a CDN).");
  c.cmd->add_option("--url", c.args.url, "playlist URL (http://...m3u8)")->required();
  c.cmd->add_option("--count", c.args.count, "number of players (1-100000)")
      ->required()
      ->check(CLI::Range(1, 100000));
  c.cmd->add_option("--ramp", c.ramp, "start the players evenly over this long (default 0s)");
  c.cmd->add_option("--duration", c.duration, "stop after this long (default 0s: until Ctrl-C)");
  c.cmd->add_flag("--heartbeat", c.args.heartbeat,
                  "each player also reports itself through the heartbeat API of the URL's server "
                  "(a token, then a heartbeat every heartbeat_s), as headcount.js does");
  c.cmd->add_flag("--cmcd", c.args.cmcd,
                  "each player also reports CMCD v2 events (CTA-5004-B) to the URL's server, "
                  "POST /api/channels/<channel>/cmcd: playing, then one every 10 s, as hls.js "
                  "1.7 does with an event target there");
  c.cmd->add_option("--channel", c.args.channel,
                    "the heartbeats' and CMCD reports' channel (default: the folder after /hls/ "
                    "in --url)");
  c.cmd->add_option("--log-level", c.log_level, "trace, debug, info, warn, error or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
}

CLI::App* AddLambda(CLI::App& app, std::string& sub_config) {
  CLI::App* cmd = app.add_subcommand(
      "lambda",
      "Run as an AWS Lambda custom runtime (the `bootstrap`): one tick per invocation from\n"
      "the Runtime API at AWS_LAMBDA_RUNTIME_API, its report as the response, one JSON log\n"
      "line per tick on stdout. Settings come from HEADCOUNT_* and AWS_* variables and the\n"
      "TOML file of HEADCOUNT_CONFIG (or --config); tick.source must be ivs. Bad\n"
      "configuration is reported through init/error.");
  AddConfigFlag(cmd, sub_config);
  return cmd;
}

// http://<server.listen>, with a wildcard address replaced by loopback.
std::string LocalServerUrl(const Config& config) {
  std::string host = config.listen_address;
  if (host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";
  return "http://" + HostPort(host, config.listen_port);
}

int RunServeCommand(const ServeCommand& c, const ConfigFiles& files) {
  auto config = files.Load(c.cmd, c.flags);
  if (!config.ok()) return ConfigError(config.error());
  SetupLogging(config->log_level);
  return RunServe(*config);
}

int RunTickCommand(const TickCommand& c, const ConfigFiles& files) {
  auto config = files.Load(c.cmd, c.flags);
  if (!config.ok()) return ConfigError(config.error());
  SetupLogging(config->log_level);
  auto timeout = DurationFlag("--timeout", c.timeout);
  if (!timeout.ok()) return ConfigError(timeout.error());
  const std::string url = c.server_url.empty() ? LocalServerUrl(*config) : c.server_url;
  return RunTick(*config, url, std::chrono::duration_cast<std::chrono::seconds>(*timeout));
}

// --since of history and report: a positive duration, whole seconds.
Result<std::chrono::seconds> SinceFlag(const std::string& text) {
  auto d = DurationFlag("--since", text);
  if (!d.ok()) return d.error();
  if (d->count() <= 0) return Error::InvalidArgument("--since: must be positive");
  return std::chrono::duration_cast<std::chrono::seconds>(*d);
}

// history and report: the config and logging, then --since into the
// command's arguments, then `run` (RunHistory, RunReport) with both.
template <typename Command, typename Run>
int RunSinceCommand(Command& c, const ConfigFiles& files, Run run) {
  auto config = files.Load(c.cmd, c.flags);
  if (!config.ok()) return ConfigError(config.error());
  SetupLogging(config->log_level);
  auto since = SinceFlag(c.since);
  if (!since.ok()) return ConfigError(since.error());
  c.args.since = *since;
  return run(*config, c.args);
}

int RunLambdaCommand(CLI::App* cmd, const ConfigFiles& files) {
  // RunLambda logs a config error and reports it to Lambda (init/error).
  auto config = files.Load(cmd, {});
  SetupLogging(config.ok() ? config->log_level : "info");
  return RunLambda(config);
}

int RunViewersCommand(ViewersCommand& c) {
  SetupLogging(c.log_level);
  auto r = DurationFlag("--ramp", c.ramp);
  if (!r.ok()) return ConfigError(r.error());
  auto d = DurationFlag("--duration", c.duration);
  if (!d.ok()) return ConfigError(d.error());
  c.args.ramp = *r;
  c.args.duration = *d;
  return RunViewers(c.args);
}

int Main(int argc, char** argv) {
  CLI::App app{kDescription, "headcount"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "headcount 0.1.0");
  ConfigFiles files;
  app.add_option("--config", files.top, "TOML configuration file")
      ->envname("HEADCOUNT_CONFIG")
      ->check(CLI::ExistingFile);

  ServeCommand serve;
  AddServe(app, serve, files.sub);
  TickCommand tick;
  AddTick(app, tick, files.sub);
  HistoryCommand history;
  AddHistory(app, history, files.sub);
  ReportCommand report;
  AddReport(app, report, files.sub);
  ViewersCommand viewers;
  AddViewers(app, viewers);
  CLI::App* lambda = AddLambda(app, files.sub);

  // Set last: a subcommand copies its parent's footer when it is created, and
  // `viewers` takes no settings.
  for (CLI::App* cmd : {&app, serve.cmd, tick.cmd, history.cmd, report.cmd, lambda}) {
    cmd->footer(kSettingsFooter);
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }

  if (serve.cmd->parsed()) return RunServeCommand(serve, files);
  if (tick.cmd->parsed()) return RunTickCommand(tick, files);
  if (history.cmd->parsed()) return RunSinceCommand(history, files, RunHistory);
  if (report.cmd->parsed()) return RunSinceCommand(report, files, RunReport);
  if (lambda->parsed()) return RunLambdaCommand(lambda, files);
  if (viewers.cmd->parsed()) return RunViewersCommand(viewers);
  return kExitUsage;
}

}  // namespace
}  // namespace headcount

int main(int argc, char** argv) { return headcount::Main(argc, argv); }
