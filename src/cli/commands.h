// The subcommands of the headcount binary, one function each, called by
// main.cc after the configuration is loaded. Each returns the process exit
// code: 0 success, 1 failure at run time, 2 bad input (kExitUsage).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "cli/config.h"

namespace headcount {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// Sets the process-wide log level and format (UTC timestamps, to stderr).
void SetupLogging(const std::string& level);

// `headcount serve`: scheduler + origin + HTTP API until SIGINT/SIGTERM.
int RunServe(const Config& config);

// `headcount tick`: one tick now, its report printed as JSON; exit 1 when the
// tick failed for any channel. With tick.source "origin" the running server
// at `server_url` runs it (its origin holds the viewer sessions); with "ivs"
// it runs in this process against Amazon IVS and the configured store.
int RunTick(const Config& config, const std::string& server_url, std::chrono::seconds timeout);

struct HistoryArgs {
  std::string channel;
  std::chrono::seconds since{3600};
  std::string format = "csv";  // csv or json
};
// `headcount history`: prints stored samples of one channel from the database.
int RunHistory(const Config& config, const HistoryArgs& args);

struct ReportArgs {
  std::vector<std::string> channels;  // empty = every channel stored in the range
  std::chrono::seconds since{7 * 86400};
  std::string by = "day";        // hour or day
  std::string format = "table";  // table, csv or json
};
// `headcount report`: audience summaries of stored channels (cli/report.h).
int RunReport(const Config& config, const ReportArgs& args);

struct ViewersArgs {
  std::string url;
  int count = 1;
  std::chrono::milliseconds ramp{0};
  std::chrono::milliseconds duration{0};
  bool heartbeat = false;  // also send heartbeats (SimulatorOptions::heartbeat)
  bool cmcd = false;       // also send CMCD v2 event reports (SimulatorOptions::cmcd)
  std::string channel;     // their channel; empty = from the URL
};
// `headcount viewers`: N simulated HLS players until the duration ends or SIGINT/SIGTERM.
int RunViewers(const ViewersArgs& args);

}  // namespace headcount
