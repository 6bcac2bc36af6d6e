#include "core/window_cache.h"

#include <algorithm>
#include <cassert>
#include <exception>
#include <string>
#include <utility>

#include "core/failed_batch.h"

namespace headcount {

WindowCache::WindowCache(Store& inner, std::chrono::seconds bucket_length, std::size_t buckets)
    : inner_(inner), bucket_length_(bucket_length), capacity_(buckets) {
  assert(bucket_length.count() > 0);
  assert(buckets > 0);
}

void WindowCache::Clear() {
  std::lock_guard lock(mu_);
  buckets_.clear();
  first_.reset();
}

Result<std::size_t> WindowCache::Record(std::span<const Sample> samples) {
  RecordOutcome outcome = RecordEach(samples);
  if (outcome.failed.empty()) return outcome.written;
  if (outcome.error) return *outcome.error;
  return Error::Internal("Record: " + std::to_string(outcome.failed.size()) + " of " +
                         std::to_string(samples.size()) + " samples not stored");
}

RecordOutcome WindowCache::RecordEach(std::span<const Sample> samples) {
  std::vector<bool> failed(samples.size(), false);
  RecordOutcome outcome;
  std::exception_ptr thrown;
  try {
    outcome = inner_.RecordEach(samples);
    for (const std::size_t i : outcome.failed) {
      if (i < failed.size()) failed[i] = true;
    }
  } catch (...) {
    // Part of the batch may be written: nothing of it is known any more.
    failed.assign(samples.size(), true);
    thrown = std::current_exception();
  }

  {
    std::lock_guard lock(mu_);
    if (!samples.empty() && !first_) {
      first_ =
          std::max_element(samples.begin(), samples.end(), [](const Sample& a, const Sample& b) {
            return a.bucket < b.bucket;
          })->bucket;
    }
    // Stored samples first, in order (the last of a repeated key wins, as
    // in the store), then the failed ones: a key with any failed sample is
    // unknown, whatever else the batch said about it.
    for (std::size_t i = 0; i < samples.size(); ++i) {
      if (failed[i]) continue;
      Bucket& bucket = buckets_[samples[i].bucket];
      bucket.unknown.erase(samples[i].channel);
      bucket.stored[samples[i].channel] = samples[i].viewers;
    }
    for (std::size_t i = 0; i < samples.size(); ++i) {
      if (!failed[i]) continue;
      Bucket& bucket = buckets_[samples[i].bucket];
      bucket.stored.erase(samples[i].channel);
      bucket.unknown.insert(samples[i].channel);
    }
    // A bucket older than every kept one is dropped again at once.
    while (buckets_.size() > capacity_) buckets_.erase(buckets_.begin());
  }

  if (thrown) std::rethrow_exception(thrown);
  return outcome;
}

bool WindowCache::CoversLocked(Seconds from, Seconds to) const {
  // The bucket this process started in (and any before) may hold samples a
  // previous process wrote and this one does not know of.
  if (!first_ || from <= *first_) return false;
  const auto len = bucket_length_.count();
  auto rem = from.time_since_epoch().count() % len;
  if (rem < 0) rem += len;
  Seconds start = rem == 0 ? from : from + std::chrono::seconds{len - rem};
  std::size_t n = 0;
  for (; start <= to; start += bucket_length_) {
    if (++n > capacity_ || !buckets_.contains(start)) return false;
  }
  return true;
}

Result<std::vector<Sample>> WindowCache::Window(std::span<const ChannelId> channels, Seconds from,
                                                Seconds to) {
  WindowOutcome outcome = WindowEach(channels, from, to);
  if (outcome.failed.empty()) return std::move(outcome.samples);
  if (outcome.error) return *outcome.error;
  return Error::Internal("Window: " + std::to_string(outcome.failed.size()) + " of " +
                         std::to_string(channels.size()) + " channels not read");
}

WindowOutcome WindowCache::WindowEach(std::span<const ChannelId> channels, Seconds from,
                                      Seconds to) {
  WindowOutcome outcome;
  std::vector<std::size_t> ask;  // indices into `channels` memory cannot answer
  {
    std::lock_guard lock(mu_);
    const bool covers = CoversLocked(from, to);
    const auto begin = buckets_.lower_bound(from);
    const auto end = buckets_.upper_bound(to);
    for (std::size_t i = 0; i < channels.size(); ++i) {
      const ChannelId& channel = channels[i];
      const bool known = covers && std::none_of(begin, end, [&](const auto& bucket) {
                           return bucket.second.unknown.contains(channel);
                         });
      if (!known) {
        ask.push_back(i);
        continue;
      }
      for (auto it = begin; it != end; ++it) {
        if (const auto found = it->second.stored.find(channel); found != it->second.stored.end()) {
          outcome.samples.push_back({channel, it->first, found->second});
        }
      }
    }
    last_window_ = {channels.size() - ask.size(), ask.size()};
  }
  if (ask.empty()) return outcome;

  std::vector<ChannelId> rest;
  rest.reserve(ask.size());
  for (const std::size_t i : ask) rest.push_back(channels[i]);
  WindowOutcome read;
  try {
    read = inner_.WindowEach(rest, from, to);
  } catch (const std::exception& e) {
    read = AllFailed<WindowOutcome>(
        rest.size(), Error::Internal(std::string("unexpected exception: ") + e.what()));
  }
  outcome.samples.reserve(outcome.samples.size() + read.samples.size());
  std::move(read.samples.begin(), read.samples.end(), std::back_inserter(outcome.samples));
  for (const std::size_t j : read.failed) {
    if (j < ask.size()) outcome.failed.push_back(ask[j]);
  }
  std::sort(outcome.failed.begin(), outcome.failed.end());
  outcome.error = std::move(read.error);
  return outcome;
}

WindowCache::WindowStats WindowCache::last_window() const {
  std::lock_guard lock(mu_);
  return last_window_;
}

}  // namespace headcount
