#include "cli/serial_ticks.h"

#include <spdlog/spdlog.h>

#include <optional>
#include <vector>

#include "core/time_text.h"

namespace headcount {
namespace {

// How many per-channel problems one tick logs before summarising the rest.
constexpr std::size_t kMaxLoggedNotes = 10;

}  // namespace

void LogTick(const TickReport& r) {
  const auto level = r.ok() ? spdlog::level::info : spdlog::level::warn;
  std::int64_t viewers = 0;
  for (const auto& s : r.summaries) viewers += s.counts.back().value_or(0);
  spdlog::log(level,
              "tick {}: {} viewers on {} live channel{}; {} stored, {} published, {} skipped, {} "
              "failed in {:.1f} ms",
              FormatRfc3339(r.bucket), viewers, r.seen, r.seen == 1 ? "" : "s", r.stored,
              r.published, r.skipped.size(), r.failed.size(),
              std::chrono::duration<double, std::milli>(r.duration).count());
  std::size_t logged = 0;
  for (const auto& n : r.failed) {
    if (logged++ == kMaxLoggedNotes) break;
    spdlog::warn("tick {}: channel \"{}\" failed at {}: {}", FormatRfc3339(r.bucket), n.channel,
                 n.stage, n.reason);
  }
  if (r.failed.size() > kMaxLoggedNotes) {
    spdlog::warn("tick {}: and {} more failures", FormatRfc3339(r.bucket),
                 r.failed.size() - kMaxLoggedNotes);
  }
  for (const auto& n : r.skipped) {
    spdlog::debug("tick {}: channel \"{}\" skipped at {}: {}", FormatRfc3339(r.bucket), n.channel,
                  n.stage, n.reason);
  }
}

TickReport SerialTicks::Run(WallTime now) {
  std::lock_guard lock(mu_);
  // A scheduled tick starts at its bucket's start and, like `headcount
  // tick`, may take nine tenths of the interval; the deadline is counted
  // from the bucket's start so that no tick (a late or an asked-for one)
  // runs into the next scheduled one.
  const WallTime deadline = WallTime{BucketStart(now, interval_)} + interval_ - interval_ / 10;
  std::optional<TickReport> report =
      cluster_ != nullptr ? cluster_->Run(now, deadline)
                          : RunPipelineTick(parts_, runner_, now, deadline, interval_);
  if (!report) {
    TickReport none;
    none.bucket = BucketStart(now, interval_);
    return none;
  }
  RefreshDirectory(*report, deadline);
  live_.Update(*report, parts_.directory());
  events_.Publish(live_.Snapshot());
  metrics_.RecordTick(*report);
  LogTick(*report);
  return std::move(*report);
}

void SerialTicks::RefreshDirectory(const TickReport& report, WallTime deadline) {
  ChannelDirectory* directory = parts_.directory();
  if (directory == nullptr || report.summaries.empty()) return;
  std::vector<ChannelId> channels;
  channels.reserve(report.summaries.size());
  for (const Summary& s : report.summaries) channels.push_back(s.channel);
  if (Status st = directory->Refresh(channels, deadline); !st.ok()) {
    spdlog::warn("cannot look up the channels' names and playback URLs: {}", st.error().ToString());
  }
}

}  // namespace headcount
