// One tick, the heart of headcount: Source -> Store -> window -> summary ->
// Publisher, for every live channel (../../docs/architecture in README).
// The seams are interfaces; TickRunner::Run is not reentrant for one set of
// seams (the scheduler calls it from one thread at a time).
#pragma once

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "core/samples.h"

namespace headcount {

// The instant after which a tick starts no new work. Thread-safe.
class Deadline {
 public:
  Deadline(const Clock& clock, std::optional<WallTime> at) : clock_(clock), at_(at) {}
  // True once the clock reads `at` or later; never true without one.
  bool Expired() const { return at_ && clock_.Now() >= *at_; }
  const std::optional<WallTime>& at() const { return at_; }
  const Clock& clock() const { return clock_; }
  // A deadline that never expires, for callers with no time limit.
  static const Deadline& None();

 private:
  const Clock& clock_;
  const std::optional<WallTime> at_;
};

// Reads the live channels and their current viewer counts.
class Source {
 public:
  virtual ~Source() = default;
  Source() = default;
  Source(const Source&) = delete;
  Source& operator=(const Source&) = delete;

  // Every channel that is live at `now`. An error means nothing could be read
  // (kDeadlineExceeded when `deadline` passed before the source finished).
  virtual Result<std::vector<ChannelReading>> Poll(WallTime now, const Deadline& deadline) = 0;
};

// What a Store wrote of a batch, sample by sample (Store::RecordEach).
struct RecordOutcome {
  std::size_t written = 0;          // rows written (as Record returns)
  std::vector<std::size_t> failed;  // indices of the samples not known to be stored
  std::optional<Error> error;       // why, when `failed` is not empty
};

// What a Store read of a window, channel by channel (Store::WindowEach).
struct WindowOutcome {
  std::vector<Sample> samples;      // stored samples of the channels read, in any order
  std::vector<std::size_t> failed;  // indices of the channels whose read failed
  std::optional<Error> error;       // why, when `failed` is not empty
};

// Keeps samples, one per (channel, bucket).
class Store {
 public:
  virtual ~Store() = default;
  Store() = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Writes `samples` as one batch; a sample whose (channel, bucket) is already
  // stored replaces it (idempotent upsert). Returns how many rows were
  // written. On error nothing of the batch is guaranteed stored.
  virtual Result<std::size_t> Record(std::span<const Sample> samples) = 0;

  // Record, telling which samples are not stored when only part of the
  // batch could be written (a store that writes in several requests), so a
  // tick reports exactly the rest. A failed sample may still have been
  // written (the answer was lost); a sample not listed is stored. The
  // default calls Record: all or nothing.
  virtual RecordOutcome RecordEach(std::span<const Sample> samples);

  // Every stored sample of `channels` with from <= bucket <= to, in any order.
  virtual Result<std::vector<Sample>> Window(std::span<const ChannelId> channels, Seconds from,
                                             Seconds to) = 0;

  // Window, telling which channels could not be read when only some of the
  // reads failed (a store that reads each channel with its own request), so
  // a tick fails exactly those. `failed` holds indices into `channels` (every
  // index of a channel listed twice); `samples` holds none of a failed
  // channel, and everything stored of the others. The default calls Window:
  // all or nothing.
  virtual WindowOutcome WindowEach(std::span<const ChannelId> channels, Seconds from, Seconds to);
};

// What became of one channel's summary at the publisher.
struct PublishOutcome {
  bool published = true;
  std::string skip_reason;  // why not published, when !published (e.g. quota)

  static PublishOutcome Published() { return {}; }
  static PublishOutcome Skipped(std::string why) { return {false, std::move(why)}; }
};

// One channel's summary and its v1 payload, for Publisher::PublishAll.
struct PublishItem {
  const Summary* summary;
  const std::string* payload;
};

// The reason given for work not started before the tick's deadline.
inline constexpr std::string_view kDeadlineReason = "tick deadline reached";

// Sends a channel's summary into its stream as timed metadata.
class Publisher {
 public:
  virtual ~Publisher() = default;
  Publisher() = default;
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  // Publishes `payload` (the v1 encoding of `summary`) for summary.channel. A
  // publisher configured for another format encodes `summary` itself.
  virtual Result<PublishOutcome> Publish(const Summary& summary, const std::string& payload) = 0;

  // Publishes every item, in whatever order and with whatever concurrency and
  // pacing the publisher needs, and returns one outcome per item in the
  // items' order. An item not started before `deadline` is
  // Skipped(kDeadlineReason). The default publishes one by one, in order.
  virtual std::vector<Result<PublishOutcome>> PublishAll(std::span<const PublishItem> items,
                                                         const Deadline& deadline);
};

struct TickOptions {
  std::chrono::seconds bucket_length{60};
  // When set, no channel starts publishing after this instant; the rest are
  // reported as skipped.
  std::optional<WallTime> deadline;
};

struct ChannelNote {
  ChannelId channel;
  std::string stage;   // "source", "store", "window" or "publish" (a summary that
                       // could not be made is a failure to publish)
  std::string reason;  // why it was skipped or failed
};

struct TickReport {
  Seconds bucket;
  std::size_t seen = 0;              // live channels the source returned
  std::size_t stored = 0;            // samples written
  std::size_t published = 0;         // summaries the publisher accepted
  std::vector<ChannelNote> skipped;  // not done, by design (unknown count, quota, deadline)
  std::vector<ChannelNote> failed;   // not done, because something broke
  std::chrono::microseconds duration{0};
  std::vector<Summary> summaries;  // one per live channel, as published

  // True when nothing failed.
  bool ok() const { return failed.empty(); }
  // The report as compact JSON (summaries left out).
  std::string ToJson() const;
};

// Runs ticks against one set of seams.
class TickRunner {
 public:
  TickRunner(Source& source, Store& store, Publisher& publisher, const Clock& clock)
      : source_(source), store_(store), publisher_(publisher), clock_(clock) {}

  // Runs the tick for the bucket that holds `now`: every live channel gets its
  // reading stored and a summary of the last kWindowBuckets buckets published.
  // One channel's failure never stops the others. Never throws: an exception
  // escaping a seam (std::exception or not) fails that stage's channels in
  // the report, like an error the seam returned.
  TickReport Run(WallTime now, const TickOptions& options);

 private:
  struct Pass;  // one Run's working state, handed from stage to stage (tick.cc)
  using Stage = Status (TickRunner::*)(Pass& pass);

  // Runs `stage`; when it fails as a whole (its error, or any exception
  // escaping it) every channel it works on is failed at `name`. Returns
  // whether the stage succeeded.
  bool Guarded(Pass& pass, std::string_view name, Stage stage);

  // The stages, in order. Each reports what it skipped or failed channel by
  // channel in pass.report and returns an error only when the whole stage
  // failed.
  Status Poll(Pass& pass);        // source: the live channels and this bucket's samples
  Status Record(Pass& pass);      // store: the samples
  Status ReadWindow(Pass& pass);  // window: the stored buckets of every live channel
  Status Summarize(Pass& pass);   // a summary and its payload per live channel
  Status Publish(Pass& pass);     // publish: every summary

  Source& source_;
  Store& store_;
  Publisher& publisher_;
  const Clock& clock_;
};

}  // namespace headcount
