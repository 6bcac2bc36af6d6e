#include "core/tick.h"

#include <exception>
#include <nlohmann/json.hpp>
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
    auto stored = Guard([&] { return store_.Record(samples); });
    if (stored.ok()) {
      report.stored = *stored;
    } else {
      for (const auto& s : samples) {
        report.failed.push_back({s.channel, "store", stored.error().ToString()});
      }
    }
  }

  // counts[channel][i]: bucket i of the window, oldest first.
  using Counts = std::array<std::optional<std::int64_t>, kWindowBuckets>;
  std::unordered_map<ChannelId, Counts> counts;
  counts.reserve(channels.size());
  for (const auto& c : channels) counts[c];
  const Seconds oldest = report.bucket - (kWindowBuckets - 1) * len;
  auto window = Guard([&] { return store_.Window(channels, oldest, report.bucket); });
  if (window.ok()) {
    for (const auto& s : *window) {
      const auto it = counts.find(s.channel);
      if (it == counts.end() || s.bucket < oldest || s.bucket > report.bucket) continue;
      const auto offset = (s.bucket - oldest) / len;
      if ((s.bucket - oldest) % len != std::chrono::seconds{0}) continue;  // not a bucket start
      it->second[static_cast<std::size_t>(offset)] = s.viewers;
    }
  } else {
    for (const auto& c : channels) {
      report.failed.push_back({c, "window", window.error().ToString()});
    }
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
