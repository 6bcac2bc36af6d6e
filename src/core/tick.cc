#include "core/tick.h"

#include <array>
#include <exception>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <unordered_set>

#include "core/failed_batch.h"
#include "core/payload.h"
#include "core/time_text.h"

namespace headcount {
namespace {

// The stage names of ChannelNote.
constexpr std::string_view kSourceStage = "source";
constexpr std::string_view kStoreStage = "store";
constexpr std::string_view kWindowStage = "window";
constexpr std::string_view kPublishStage = "publish";

// Runs `f` (returning a Status or a Result), turning an exception that
// escapes it, std::exception or not, into an internal error, so one bad
// adapter cannot take the tick (and the other channels) down with it. The one
// guard of this file: every stage of a tick and every Publish call.
template <typename F>
auto Guard(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::exception& e) {
    return Error::Internal(std::string("unexpected exception: ") + e.what());
  } catch (...) {
    return Error::Internal("unexpected exception");
  }
}

nlohmann::json NotesJson(const std::vector<ChannelNote>& notes) {
  auto out = nlohmann::json::array();
  for (const auto& n : notes) {
    out.push_back({{"channel", n.channel}, {"stage", n.stage}, {"reason", n.reason}});
  }
  return out;
}

}  // namespace

std::string TickReport::ToJson() const {
  const nlohmann::json j = {
      {"bucket", FormatRfc3339(bucket)},
      {"ok", ok()},
      {"seen", seen},
      {"stored", stored},
      {"published", published},
      {"skipped", NotesJson(skipped)},
      {"failed", NotesJson(failed)},
      {"duration_ms", std::chrono::duration<double, std::milli>(duration).count()},
  };
  return j.dump();
}

const Deadline& Deadline::None() {
  static const SystemClock kClock;
  static const Deadline kNone(kClock, std::nullopt);
  return kNone;
}

RecordOutcome Store::RecordEach(std::span<const Sample> samples) {
  Result<std::size_t> written = Record(samples);
  if (!written.ok()) return AllFailed<RecordOutcome>(samples.size(), written.error());
  RecordOutcome outcome;
  outcome.written = *written;
  return outcome;
}

WindowOutcome Store::WindowEach(std::span<const ChannelId> channels, Seconds from, Seconds to) {
  Result<std::vector<Sample>> window = Window(channels, from, to);
  if (!window.ok()) return AllFailed<WindowOutcome>(channels.size(), window.error());
  WindowOutcome outcome;
  outcome.samples = std::move(window).value();
  return outcome;
}

std::vector<Result<PublishOutcome>> Publisher::PublishAll(std::span<const PublishItem> items,
                                                          const Deadline& deadline) {
  std::vector<Result<PublishOutcome>> out;
  out.reserve(items.size());
  for (const auto& item : items) {
    if (deadline.Expired()) {
      out.emplace_back(PublishOutcome::Skipped(std::string(kDeadlineReason)));
    } else {
      out.push_back(Guard([&] { return Publish(*item.summary, *item.payload); }));
    }
  }
  return out;
}

// One Run's working state. Each stage reads what the ones before it left
// here and adds its own part.
struct TickRunner::Pass {
  Pass(WallTime at, const TickOptions& options, const Clock& clock)
      : started(clock.Now()),
        now(at),
        len(options.bucket_length),
        deadline(clock, options.deadline) {
    report.bucket = BucketStart(now, len);
  }

  // The first bucket of the window: kWindowBuckets buckets ending with this one.
  Seconds oldest() const { return report.bucket - (kWindowBuckets - 1) * len; }

  // Fails, at `stage`, every channel that stage works on and has not failed
  // yet: for the source one note without a channel, for the store the
  // channels with a sample, for the later stages every live channel.
  void FailAll(std::string_view stage, const Error& error);

  const WallTime started;
  const WallTime now;
  const std::chrono::seconds len;
  const Deadline deadline;
  TickReport report;
  std::vector<ChannelId> channels;              // live, once each, in the source's order
  std::vector<Sample> samples;                  // this bucket's readings with a known count
  std::vector<Sample> window;                   // stored samples read for the window
  std::unordered_set<ChannelId> window_failed;  // channels whose window could not be read
  std::vector<std::string> payloads;            // payloads[i] encodes report.summaries[i]
};

void TickRunner::Pass::FailAll(std::string_view stage, const Error& error) {
  const std::string reason = error.ToString();
  if (stage == kSourceStage) {
    report.failed.push_back({"", std::string(stage), reason});
    return;
  }
  std::vector<ChannelId> affected;
  if (stage == kStoreStage) {
    for (const Sample& s : samples) affected.push_back(s.channel);
  } else {
    affected = channels;
  }
  std::unordered_set<ChannelId> done;  // already failed at this stage
  for (const ChannelNote& n : report.failed) {
    if (n.stage == stage) done.insert(n.channel);
  }
  for (const ChannelId& c : affected) {
    if (done.insert(c).second) report.failed.push_back({c, std::string(stage), reason});
  }
  if (stage == kWindowStage) {  // nothing read is known to be right
    window.clear();
    window_failed.insert(channels.begin(), channels.end());
  }
}

bool TickRunner::Guarded(Pass& pass, std::string_view name, Stage stage) {
  const Status status = Guard([&] { return (this->*stage)(pass); });
  if (status.ok()) return true;
  pass.FailAll(name, status.error());
  return false;
}

TickReport TickRunner::Run(WallTime now, const TickOptions& options) {
  Pass pass(now, options, clock_);
  if (Guarded(pass, kSourceStage, &TickRunner::Poll)) {
    // A channel whose reading could not be stored, or whose window could not
    // be read, is still published with this bucket's reading.
    Guarded(pass, kStoreStage, &TickRunner::Record);
    Guarded(pass, kWindowStage, &TickRunner::ReadWindow);
    if (Guarded(pass, kPublishStage, &TickRunner::Summarize)) {
      Guarded(pass, kPublishStage, &TickRunner::Publish);
    }
  }
  pass.report.duration =
      std::chrono::duration_cast<std::chrono::microseconds>(clock_.Now() - pass.started);
  return std::move(pass.report);
}

Status TickRunner::Poll(Pass& pass) {
  Result<std::vector<ChannelReading>> polled = source_.Poll(pass.now, pass.deadline);
  if (!polled.ok()) return polled.status();
  TickReport& report = pass.report;

  // One reading per channel; the first wins if a source repeats itself.
  std::vector<ChannelReading> readings;
  readings.reserve(polled->size());
  std::unordered_set<ChannelId> seen;
  for (auto& r : *polled) {
    if (r.channel.empty()) {
      report.skipped.push_back({"", std::string(kSourceStage), "reading without a channel id"});
    } else if (!seen.insert(r.channel).second) {
      report.skipped.push_back({r.channel, std::string(kSourceStage), "duplicate reading"});
    } else {
      readings.push_back(std::move(r));
    }
  }
  report.seen = readings.size();

  pass.samples.reserve(readings.size());
  pass.channels.reserve(readings.size());
  for (const auto& r : readings) {
    pass.channels.push_back(r.channel);
    if (r.viewers && *r.viewers >= 0) {
      pass.samples.push_back({r.channel, report.bucket, *r.viewers});
    } else {
      report.skipped.push_back(
          {r.channel, std::string(kStoreStage), "viewer count unknown: this bucket is a gap"});
    }
  }
  return Status();
}

Status TickRunner::Record(Pass& pass) {
  if (pass.samples.empty()) return Status();
  // Some samples may be stored although others failed: report exactly the rest.
  const RecordOutcome stored = store_.RecordEach(pass.samples);
  pass.report.stored = stored.written;
  const std::string reason = stored.error ? stored.error->ToString() : "not stored";
  for (const std::size_t i : stored.failed) {
    if (i < pass.samples.size()) {
      pass.report.failed.push_back({pass.samples[i].channel, std::string(kStoreStage), reason});
    }
  }
  return Status();
}

Status TickRunner::ReadWindow(Pass& pass) {
  // A channel whose read failed is reported; the others keep their windows.
  WindowOutcome window = store_.WindowEach(pass.channels, pass.oldest(), pass.report.bucket);
  const std::string reason = window.error ? window.error->ToString() : "not read";
  for (const std::size_t i : window.failed) {
    if (i < pass.channels.size() && pass.window_failed.insert(pass.channels[i]).second) {
      pass.report.failed.push_back({pass.channels[i], std::string(kWindowStage), reason});
    }
  }
  pass.window = std::move(window.samples);
  return Status();
}

Status TickRunner::Summarize(Pass& pass) {
  const Seconds bucket = pass.report.bucket;
  const Seconds oldest = pass.oldest();
  // counts[channel][i]: bucket i of the window, oldest first.
  using Counts = std::array<std::optional<std::int64_t>, kWindowBuckets>;
  std::unordered_map<ChannelId, Counts> counts;
  counts.reserve(pass.channels.size());
  for (const auto& c : pass.channels) counts[c];
  for (const auto& s : pass.window) {
    const auto it = counts.find(s.channel);
    if (it == counts.end() || pass.window_failed.contains(s.channel)) continue;
    if (s.bucket < oldest || s.bucket > bucket) continue;
    if ((s.bucket - oldest) % pass.len != std::chrono::seconds{0}) continue;  // not a bucket start
    it->second[static_cast<std::size_t>((s.bucket - oldest) / pass.len)] = s.viewers;
  }
  // The reading of this tick is real even when storing it failed.
  for (const auto& s : pass.samples) counts[s.channel][kWindowBuckets - 1] = s.viewers;

  std::vector<Summary> summaries;
  std::vector<std::string> payloads;
  summaries.reserve(pass.channels.size());
  payloads.reserve(pass.channels.size());
  for (const auto& c : pass.channels) {
    Summary summary{c, bucket, pass.len, counts[c], Trend::kUnknown};
    summary.trend = ComputeTrend(summary.counts);
    payloads.push_back(EncodePayloadV1(summary));
    summaries.push_back(std::move(summary));
  }
  pass.report.summaries = std::move(summaries);
  pass.payloads = std::move(payloads);
  return Status();
}

Status TickRunner::Publish(Pass& pass) {
  const std::vector<Summary>& summaries = pass.report.summaries;
  std::vector<PublishItem> items;
  items.reserve(summaries.size());
  for (std::size_t i = 0; i < summaries.size(); ++i) {
    items.push_back({&summaries[i], &pass.payloads[i]});
  }
  const std::vector<Result<PublishOutcome>> outcomes = publisher_.PublishAll(items, pass.deadline);
  TickReport& report = pass.report;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const ChannelId& c = items[i].summary->channel;
    const std::string stage(kPublishStage);
    if (i >= outcomes.size()) {
      report.failed.push_back({c, stage, "publisher returned no outcome"});
    } else if (!outcomes[i].ok()) {
      report.failed.push_back({c, stage, outcomes[i].error().ToString()});
    } else if (outcomes[i]->published) {
      ++report.published;
    } else {
      report.skipped.push_back({c, stage, outcomes[i]->skip_reason});
    }
  }
  return Status();
}

}  // namespace headcount
