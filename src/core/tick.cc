#include "core/tick.h"

#include <exception>
#include <nlohmann/json.hpp>
#include <numeric>
#include <unordered_map>
#include <unordered_set>

#include "core/payload.h"
#include "core/time_text.h"

namespace headcount {
namespace {

// Runs `f`, turning an escaped exception into an internal error so one bad
// adapter cannot take the tick (and the other channels) down with it.
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
  RecordOutcome outcome;
  Result<std::size_t> written = Record(samples);
  if (written.ok()) {
    outcome.written = *written;
    return outcome;
  }
  outcome.failed.resize(samples.size());
  std::iota(outcome.failed.begin(), outcome.failed.end(), std::size_t{0});
  outcome.error = written.error();
  return outcome;
}

WindowOutcome Store::WindowEach(std::span<const ChannelId> channels, Seconds from, Seconds to) {
  WindowOutcome outcome;
  Result<std::vector<Sample>> window = Window(channels, from, to);
  if (window.ok()) {
    outcome.samples = std::move(window).value();
    return outcome;
  }
  outcome.failed.resize(channels.size());
  std::iota(outcome.failed.begin(), outcome.failed.end(), std::size_t{0});
  outcome.error = window.error();
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

TickReport TickRunner::Run(WallTime now, const TickOptions& options) {
  const WallTime started = clock_.Now();
  TickReport report;
  const auto len = options.bucket_length;
  report.bucket = BucketStart(now, len);
  auto finish = [&] {
    report.duration = std::chrono::duration_cast<std::chrono::microseconds>(clock_.Now() - started);
    return std::move(report);
  };

  const Deadline deadline(clock_, options.deadline);
  auto polled = Guard([&] { return source_.Poll(now, deadline); });
  if (!polled.ok()) {
    report.failed.push_back({"", "source", polled.error().ToString()});
    return finish();
  }

  // One reading per channel; the first wins if a source repeats itself.
  std::vector<ChannelReading> readings;
  readings.reserve(polled->size());
  std::unordered_set<ChannelId> seen;
  for (auto& r : *polled) {
    if (r.channel.empty()) {
      report.skipped.push_back({"", "source", "reading without a channel id"});
    } else if (!seen.insert(r.channel).second) {
      report.skipped.push_back({r.channel, "source", "duplicate reading"});
    } else {
      readings.push_back(std::move(r));
    }
  }
  report.seen = readings.size();

  std::vector<Sample> samples;
  std::vector<ChannelId> channels;
  samples.reserve(readings.size());
  channels.reserve(readings.size());
  for (const auto& r : readings) {
    channels.push_back(r.channel);
    if (r.viewers && *r.viewers >= 0) {
      samples.push_back({r.channel, report.bucket, *r.viewers});
    } else {
      report.skipped.push_back({r.channel, "store", "viewer count unknown: this bucket is a gap"});
    }
  }

  if (!samples.empty()) {
    // Some samples may be stored although others failed: report exactly the rest.
    RecordOutcome stored;
    std::optional<Error> thrown;
    try {
      stored = store_.RecordEach(samples);
    } catch (const std::exception& e) {
      thrown = Error::Internal(std::string("unexpected exception: ") + e.what());
    } catch (...) {
      thrown = Error::Internal("unexpected exception");
    }
    if (thrown) {  // nothing is known to be stored
      stored = RecordOutcome{};
      stored.failed.resize(samples.size());
      std::iota(stored.failed.begin(), stored.failed.end(), std::size_t{0});
      stored.error = std::move(thrown);
    }
    report.stored = stored.written;
    const std::string reason = stored.error ? stored.error->ToString() : "not stored";
    for (const std::size_t i : stored.failed) {
      if (i < samples.size()) report.failed.push_back({samples[i].channel, "store", reason});
    }
  }

  // counts[channel][i]: bucket i of the window, oldest first.
  using Counts = std::array<std::optional<std::int64_t>, kWindowBuckets>;
  std::unordered_map<ChannelId, Counts> counts;
  counts.reserve(channels.size());
  for (const auto& c : channels) counts[c];
  const Seconds oldest = report.bucket - (kWindowBuckets - 1) * len;
  // A channel whose read failed is reported and still gets its fresh reading;
  // the others keep their windows.
  WindowOutcome window;
  std::optional<Error> window_thrown;
  try {
    window = store_.WindowEach(channels, oldest, report.bucket);
  } catch (const std::exception& e) {
    window_thrown = Error::Internal(std::string("unexpected exception: ") + e.what());
  } catch (...) {
    window_thrown = Error::Internal("unexpected exception");
  }
  if (window_thrown) {  // nothing is known to be read
    window = WindowOutcome{};
    window.failed.resize(channels.size());
    std::iota(window.failed.begin(), window.failed.end(), std::size_t{0});
    window.error = std::move(window_thrown);
  }
  std::unordered_set<ChannelId> window_failed;
  {
    const std::string reason = window.error ? window.error->ToString() : "not read";
    for (const std::size_t i : window.failed) {
      if (i < channels.size() && window_failed.insert(channels[i]).second) {
        report.failed.push_back({channels[i], "window", reason});
      }
    }
  }
  for (const auto& s : window.samples) {
    const auto it = counts.find(s.channel);
    if (it == counts.end() || window_failed.contains(s.channel)) continue;
    if (s.bucket < oldest || s.bucket > report.bucket) continue;
    const auto offset = (s.bucket - oldest) / len;
    if ((s.bucket - oldest) % len != std::chrono::seconds{0}) continue;  // not a bucket start
    it->second[static_cast<std::size_t>(offset)] = s.viewers;
  }
  // The reading of this tick is real even when storing it failed.
  for (const auto& s : samples) counts[s.channel][kWindowBuckets - 1] = s.viewers;

  report.summaries.reserve(channels.size());
  for (const auto& c : channels) {
    Summary summary{c, report.bucket, len, counts[c], Trend::kUnknown};
    summary.trend = ComputeTrend(summary.counts);
    report.summaries.push_back(std::move(summary));
  }
  std::vector<std::string> payloads;
  std::vector<PublishItem> items;
  payloads.reserve(report.summaries.size());
  items.reserve(report.summaries.size());
  for (const auto& s : report.summaries) payloads.push_back(EncodePayloadV1(s));
  for (std::size_t i = 0; i < payloads.size(); ++i) {
    items.push_back({&report.summaries[i], &payloads[i]});
  }
  std::vector<Result<PublishOutcome>> outcomes;
  try {
    outcomes = publisher_.PublishAll(items, deadline);
  } catch (const std::exception& e) {
    outcomes.clear();
    for (std::size_t i = 0; i < items.size(); ++i) {
      outcomes.emplace_back(Error::Internal(std::string("unexpected exception: ") + e.what()));
    }
  }
  for (std::size_t i = 0; i < items.size(); ++i) {
    const ChannelId& c = items[i].summary->channel;
    if (i >= outcomes.size()) {
      report.failed.push_back({c, "publish", "publisher returned no outcome"});
    } else if (!outcomes[i].ok()) {
      report.failed.push_back({c, "publish", outcomes[i].error().ToString()});
    } else if (outcomes[i]->published) {
      ++report.published;
    } else {
      report.skipped.push_back({c, "publish", outcomes[i]->skip_reason});
    }
  }
  return finish();
}

}  // namespace headcount
