// Test fakes for the tick's seams: a scripted Source, an in-memory Store and a
// recording Publisher, each able to fail on demand. Not thread-safe; for tests.
#pragma once

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <utility>
#include <vector>

#include "core/distinct_store.h"
#include "core/history.h"
#include "core/tick.h"

namespace headcount::testing {

class ScriptedSource final : public Source {
 public:
  Result<std::vector<ChannelReading>> Poll(WallTime /*now*/,
                                           const Deadline& /*deadline*/) override {
    ++polls;
    if (error) return *error;
    return readings;
  }

  std::vector<ChannelReading> readings;
  std::optional<Error> error;
  int polls = 0;
};

class MemoryStore final : public Store, public HistoryReader {
 public:
  Result<std::size_t> Record(std::span<const Sample> samples) override {
    ++record_calls;
    if (record_error) return *record_error;
    for (const auto& s : samples) rows[{s.channel, s.bucket}] = s.viewers;
    return samples.size();
  }

  // Fails the samples of record_fail_channels (the others are stored).
  RecordOutcome RecordEach(std::span<const Sample> samples) override {
    if (record_fail_channels.empty()) return Store::RecordEach(samples);
    ++record_calls;
    RecordOutcome out;
    for (std::size_t i = 0; i < samples.size(); ++i) {
      if (record_fail_channels.count(samples[i].channel)) {
        out.failed.push_back(i);
      } else {
        rows[{samples[i].channel, samples[i].bucket}] = samples[i].viewers;
        ++out.written;
      }
    }
    if (!out.failed.empty()) out.error = Error::Unavailable("lost some writes");
    return out;
  }

  Result<std::vector<Sample>> Window(std::span<const ChannelId> channels, Seconds from,
                                     Seconds to) override {
    ++window_calls;
    window_channels_asked += channels.size();
    if (window_error) return *window_error;
    std::vector<Sample> out;
    for (const auto& c : channels) {
      for (auto it = rows.lower_bound({c, from});
           it != rows.end() && it->first.first == c && it->first.second <= to; ++it) {
        out.push_back({c, it->first.second, it->second});
      }
    }
    return out;
  }

  // Fails the channels of window_fail_channels (the others are read).
  WindowOutcome WindowEach(std::span<const ChannelId> channels, Seconds from, Seconds to) override {
    if (window_fail_channels.empty()) return Store::WindowEach(channels, from, to);
    WindowOutcome out;
    std::vector<ChannelId> read;
    for (std::size_t i = 0; i < channels.size(); ++i) {
      if (window_fail_channels.count(channels[i])) {
        out.failed.push_back(i);
      } else {
        read.push_back(channels[i]);
      }
    }
    Result<std::vector<Sample>> samples = Window(read, from, to);
    if (!samples.ok()) return Store::WindowEach(channels, from, to);
    out.samples = std::move(samples).value();
    if (!out.failed.empty()) out.error = Error::DeadlineExceeded("some reads failed");
    return out;
  }

  Result<std::vector<Sample>> History(const ChannelId& channel, Seconds from, Seconds to) override {
    return Window(std::span(&channel, 1), from, to);
  }

  Result<bool> HasChannel(const ChannelId& channel) override {
    return std::any_of(rows.begin(), rows.end(),
                       [&](const auto& row) { return row.first.first == channel; });
  }

  std::map<std::pair<ChannelId, Seconds>, std::int64_t> rows;
  std::optional<Error> record_error;
  std::optional<Error> window_error;
  std::set<ChannelId> record_fail_channels;
  std::set<ChannelId> window_fail_channels;
  int record_calls = 0;
  int window_calls = 0;                   // Window calls (History and WindowEach included)
  std::size_t window_channels_asked = 0;  // channels asked of Window, in all
};

// Distinct viewers' sketches in memory, merged as a store merges them;
// fails every call while `error` is set.
class MemoryDistinctStore final : public DistinctStore {
 public:
  Status MergeSketches(std::span<const HourSketch> sketches) override {
    ++merge_calls;
    if (error) return *error;
    for (const HourSketch& s : sketches) rows[{s.channel, s.hour, s.table}].Merge(s.sketch);
    return {};
  }
  Result<std::vector<HourSketch>> Sketches(const ChannelId& channel, Seconds from,
                                           Seconds to) override {
    if (error) return *error;
    std::vector<HourSketch> out;
    for (const auto& [at, sketch] : rows) {
      const auto& [c, hour, table] = at;
      if (c == channel && from <= hour && hour <= to) out.push_back({c, hour, table, sketch});
    }
    return out;
  }

  std::map<std::tuple<ChannelId, Seconds, std::uint8_t>, HyperLogLog> rows;
  std::optional<Error> error;
  int merge_calls = 0;
};

class RecordingPublisher final : public Publisher {
 public:
  Result<PublishOutcome> Publish(const Summary& summary, const std::string& payload) override {
    if (fail_channels.count(summary.channel)) return Error::Rejected("publisher said no");
    if (skip_channels.count(summary.channel)) return PublishOutcome::Skipped("not broadcasting");
    published.emplace_back(summary, payload);
    return PublishOutcome::Published();
  }

  std::vector<std::pair<Summary, std::string>> published;
  std::set<ChannelId> fail_channels;
  std::set<ChannelId> skip_channels;
};

}  // namespace headcount::testing
