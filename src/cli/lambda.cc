// `headcount lambda`: get the next invocation -> run one tick -> post its
// report, for ever. The pipeline is built once, at init, so its HTTP clients
// keep their connections across invocations. Single-threaded loop.
#include "cli/lambda.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <nlohmann/json.hpp>

#include "aws/http_transport.h"
#include "cli/commands.h"
#include "cli/pipeline.h"
#include "cli/signals.h"
#include "core/tick.h"
#include "core/time_text.h"
#include "core/window_cache.h"
#include "http_client/beast_transport.h"
#include "lambda/runtime_client.h"

namespace headcount {
namespace {

// The tick stops starting work this long before Lambda's deadline, leaving
// time to post the report (and for a call already started to finish).
constexpr std::chrono::milliseconds kDeadlineSafetyMargin{1500};
// Consecutive failed /invocation/next calls after which the process exits
// (Lambda then starts a fresh sandbox).
constexpr int kMaxNextFailures = 3;
// The errorType values this runtime reports.
constexpr std::string_view kConfigErrorType = "Headcount.ConfigError";
constexpr std::string_view kInitErrorType = "Headcount.InitError";
constexpr std::string_view kInternalErrorType = "Headcount.InternalError";

// Writes one structured log line to stdout (CloudWatch keeps each line as an
// event). Callers never put credentials into `line`.
void Log(const nlohmann::json& line) {
  std::cout << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n"
            << std::flush;
}

void LogError(std::string_view msg, const Error& error, const std::string& request_id = {}) {
  nlohmann::json line = {{"level", "error"}, {"msg", msg}, {"error", error.ToString()}};
  if (!request_id.empty()) line["request_id"] = request_id;
  Log(line);
}

nlohmann::json NotesJson(const std::vector<ChannelNote>& notes) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& n : notes) {
    out.push_back({{"channel", n.channel}, {"stage", n.stage}, {"reason", n.reason}});
  }
  return out;
}

// Reports an init failure to the Runtime API and returns the exit code.
int InitFailed(lambda::RuntimeClient& client, std::string_view type, const Error& error) {
  LogError("init failed", error);
  if (Status st = client.PostInitError(type, error.message()); !st.ok()) {
    LogError("cannot report the init error", st.error());
  }
  return error.code() == ErrorCode::kInvalidArgument ? kExitUsage : kExitFailure;
}

// The instant the tick stops starting work: the invocation's deadline minus
// the safety margin, and never later than a scheduled tick may run (nine
// tenths of the interval).
WallTime TickDeadline(const lambda::Invocation& invocation, WallTime now,
                      std::chrono::seconds interval) {
  return std::min<WallTime>(
      invocation.deadline - kDeadlineSafetyMargin,
      now + std::chrono::duration_cast<std::chrono::nanoseconds>(interval) * 9 / 10);
}

// Runs one tick for `invocation` and posts its report (or an error).
void HandleInvocation(const lambda::Invocation& invocation, const Config& config,
                      Pipeline& pipeline, TickRunner& runner, const WindowCache& window,
                      const Clock& clock, lambda::RuntimeClient& client) {
  const std::string& id = invocation.request_id;
  if (invocation.deadline_clamped) {
    Log({{"level", "warn"},
         {"msg", "missing or absurd Lambda-Runtime-Deadline-Ms, clamped"},
         {"request_id", id},
         {"deadline", FormatRfc3339Millis(invocation.deadline)}});
  }
  const WallTime now = clock.Now();
  const WallTime deadline = TickDeadline(invocation, now, config.tick_interval);
  TickReport report;
  std::string body;
  try {
    report = RunPipelineTick(pipeline, runner, now, deadline, config.tick_interval);
    body = report.ToJson();
  } catch (const std::exception& e) {
    // TickRunner promises not to throw; if it does anyway, the invocation fails.
    const Error error = Error::Internal(std::string("tick threw: ") + e.what());
    LogError("invocation failed", error, id);
    if (Status st = client.PostError(id, kInternalErrorType, error.message()); !st.ok()) {
      LogError("cannot post the invocation error", st.error(), id);
    }
    return;
  }
  Log({{"level", "info"},
       {"msg", "tick"},
       {"request_id", id},
       {"bucket", FormatRfc3339(report.bucket)},
       {"seen", report.seen},
       {"stored", report.stored},
       {"published", report.published},
       {"skipped", report.skipped.size()},
       {"failed", report.failed.size()},
       {"window_from_memory", window.last_window().from_memory},
       {"window_from_store", window.last_window().from_store},
       {"duration_ms", std::chrono::duration<double, std::milli>(report.duration).count()}});
  if (!report.ok()) {
    // The function did its job (a tick that failed for some channels is a
    // result, retried by the next tick), so Lambda gets the report, not an
    // error; the failures are logged for the alarms.
    Log({{"level", "warn"},
         {"msg", "tick failed for some channels"},
         {"request_id", id},
         {"failed", NotesJson(report.failed)}});
  }
  if (Status st = client.PostResponse(id, body); !st.ok()) {
    LogError("cannot post the invocation response", st.error(), id);
  }
}

}  // namespace

int RunLambda(const Result<Config>& config) {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): read at start-up, before any thread
  const char* api = std::getenv("AWS_LAMBDA_RUNTIME_API");
  if (api == nullptr || *api == '\0') {
    std::cerr << "headcount: AWS_LAMBDA_RUNTIME_API is not set: `headcount lambda` runs inside "
                 "AWS Lambda (or against a Runtime API emulator)\n";
    return kExitUsage;
  }
  // Set while the loop waits in /invocation/next, where there is nothing to
  // finish: a SIGTERM then ends the process at once. During a tick it only
  // sets `stop`, and the loop ends after the report is posted.
  std::atomic<bool> idle{false};
  std::atomic<bool> stop{false};
  // Before any other thread starts (the HTTP transport's I/O thread, the publisher's pool).
  SignalWatcher signals([&](int) {
    stop = true;
    if (idle) {
      std::fflush(stdout);
      std::_Exit(kExitOk);
    }
  });

  SystemClock clock;
  http_client::BeastTransport transport;
  lambda::RuntimeClient client(api, transport, clock);
  if (!config.ok()) return InitFailed(client, kConfigErrorType, config.error());
  if (config->source != SourceKind::kIvs) {
    return InitFailed(client, kConfigErrorType,
                      Error::InvalidArgument("tick.source (HEADCOUNT_SOURCE) must be \"ivs\" for "
                                             "`headcount lambda`, not \"" +
                                             std::string(SourceKindName(config->source)) + "\""));
  }
  auto pipeline = MakePipeline(*config, clock, /*with_source=*/true, /*read_only_store=*/false);
  if (!pipeline.ok()) {
    const bool bad_config = pipeline.error().code() == ErrorCode::kInvalidArgument;
    return InitFailed(client, bad_config ? kConfigErrorType : kInitErrorType, pipeline.error());
  }
  // A warm sandbox runs tick after tick: it reads the window back from what
  // it wrote, with no Query, once it has written all of it (docs/dynamodb.md).
  WindowCache window((*pipeline)->store(), config->tick_interval);
  TickRunner runner(*(*pipeline)->source(), window, *(*pipeline)->publisher(), clock);
  Log({{"level", "info"},
       {"msg", "ready"},
       {"store", StoreKindName(config->store)},
       {"interval_s", config->tick_interval.count()}});

  int next_failures = 0;
  while (!stop) {
    idle = true;
    if (stop) break;  // a SIGTERM between the loop test and `idle`
    auto invocation = client.Next();
    idle = false;
    if (!invocation.ok()) {
      LogError("cannot get the next invocation", invocation.error());
      if (++next_failures >= kMaxNextFailures) return kExitFailure;
      continue;
    }
    next_failures = 0;
    HandleInvocation(*invocation, *config, **pipeline, runner, window, clock, client);
  }
  Log({{"level", "info"}, {"msg", "stopping on SIGTERM"}});
  return kExitOk;
}

}  // namespace headcount
