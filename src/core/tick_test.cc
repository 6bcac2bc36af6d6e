#include "core/tick.h"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/payload.h"
#include "core/testing/fakes.h"
#include "core/testing/time.h"
#include "core/time_text.h"

namespace headcount {
namespace {

using std::chrono::seconds;
using testing::MemoryStore;
using testing::RecordingPublisher;
using testing::ScriptedSource;

using testing::At;
Seconds Bucket(std::string_view rfc3339) { return std::chrono::floor<seconds>(At(rfc3339)); }

class TickTest : public ::testing::Test {
 protected:
  TickReport RunAt(std::string_view when, TickOptions options = {}) {
    clock_.Set(At(when));
    return runner_.Run(At(when), options);
  }
  const Summary& PublishedFor(const ChannelId& c) {
    for (auto it = publisher_.published.rbegin(); it != publisher_.published.rend(); ++it) {
      if (it->first.channel == c) return it->first;
    }
    ADD_FAILURE() << "nothing published for " << c;
    static const Summary kNone;
    return kNone;
  }

  FakeClock clock_;
  ScriptedSource source_;
  MemoryStore store_;
  RecordingPublisher publisher_;
  TickRunner runner_{source_, store_, publisher_, clock_};
};

TEST_F(TickTest, StoresAndPublishesEveryLiveChannel) {
  source_.readings = {{"a", 10}, {"b", 20}};
  const TickReport r = RunAt("2026-11-25T12:03:00.200Z");
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.seen, 2u);
  EXPECT_EQ(r.stored, 2u);
  EXPECT_EQ(r.published, 2u);
  EXPECT_EQ(store_.rows.at({"a", Bucket("2026-11-25T12:03:00Z")}), 10);
  const Summary& a = PublishedFor("a");
  EXPECT_EQ(a.at, Bucket("2026-11-25T12:03:00Z"));
  EXPECT_EQ(a.counts[4], 10);
  EXPECT_FALSE(a.counts[0].has_value());
  // The payload is what the summary says.
  auto decoded = DecodePayloadV1(publisher_.published[0].second);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->counts, publisher_.published[0].first.counts);
}

TEST_F(TickTest, WindowIsTheLastFiveBucketsOldestFirst) {
  source_.readings = {{"a", 0}};
  const int counts[] = {5, 6, 7, 8, 9, 10};
  const char* minutes[] = {"12:00", "12:01", "12:02", "12:03", "12:04", "12:05"};
  for (int i = 0; i < 6; ++i) {
    source_.readings[0].viewers = counts[i];
    RunAt(std::string("2026-11-25T") + minutes[i] + ":00Z");
  }
  const Summary& a = PublishedFor("a");
  EXPECT_EQ(a.at, Bucket("2026-11-25T12:05:00Z"));
  const std::array<std::optional<std::int64_t>, 5> want = {6, 7, 8, 9, 10};
  EXPECT_EQ(a.counts, want);
  EXPECT_EQ(a.trend, Trend::kRising);
}

TEST_F(TickTest, SameMinuteTwiceStoresOneRow) {
  source_.readings = {{"a", 10}};
  RunAt("2026-11-25T12:03:00Z");
  source_.readings = {{"a", 12}};
  RunAt("2026-11-25T12:03:40Z");
  EXPECT_EQ(store_.rows.size(), 1u);
  EXPECT_EQ(store_.rows.begin()->second, 12);
  const std::array<std::optional<std::int64_t>, 5> want = {std::nullopt, std::nullopt, std::nullopt,
                                                           std::nullopt, 12};
  EXPECT_EQ(PublishedFor("a").counts, want);
}

TEST_F(TickTest, MissedMinuteIsAGapNeverInvented) {
  source_.readings = {{"a", 10}};
  RunAt("2026-11-25T12:01:00Z");
  // 12:02 and 12:03 missed entirely (process down).
  source_.readings = {{"a", 14}};
  RunAt("2026-11-25T12:04:00Z");
  const std::array<std::optional<std::int64_t>, 5> want = {std::nullopt, 10, std::nullopt,
                                                           std::nullopt, 14};
  EXPECT_EQ(PublishedFor("a").counts, want);
  EXPECT_EQ(store_.rows.size(), 2u);
}

TEST_F(TickTest, UnknownCountIsSkippedNotStored) {
  source_.readings = {{"a", std::nullopt}, {"b", -1}, {"c", 3}};
  const TickReport r = RunAt("2026-11-25T12:03:00Z");
  EXPECT_EQ(r.seen, 3u);
  EXPECT_EQ(r.stored, 1u);
  EXPECT_EQ(store_.rows.size(), 1u);
  EXPECT_EQ(r.skipped.size(), 2u);
  EXPECT_TRUE(r.ok());
  // Still published, with this minute as a gap.
  EXPECT_FALSE(PublishedFor("a").counts[4].has_value());
}

TEST_F(TickTest, OneChannelsPublishFailureDoesNotStopTheOthers) {
  source_.readings = {{"a", 1}, {"b", 2}, {"c", 3}, {"d", 4}};
  publisher_.fail_channels = {"b"};
  publisher_.skip_channels = {"c"};
  const TickReport r = RunAt("2026-11-25T12:03:00Z");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.published, 2u);
  ASSERT_EQ(r.failed.size(), 1u);
  EXPECT_EQ(r.failed[0].channel, "b");
  EXPECT_EQ(r.failed[0].stage, "publish");
  ASSERT_EQ(r.skipped.size(), 1u);
  EXPECT_EQ(r.skipped[0].reason, "not broadcasting");
  EXPECT_EQ(r.stored, 4u);
}

TEST_F(TickTest, SourceFailureIsReportedAndNothingIsStored) {
  source_.error = Error::Unavailable("IVS unreachable");
  const TickReport r = RunAt("2026-11-25T12:03:00Z");
  EXPECT_FALSE(r.ok());
  ASSERT_EQ(r.failed.size(), 1u);
  EXPECT_EQ(r.failed[0].stage, "source");
  EXPECT_NE(r.failed[0].reason.find("IVS unreachable"), std::string::npos);
  EXPECT_EQ(store_.record_calls, 0);
  EXPECT_TRUE(publisher_.published.empty());
}

TEST_F(TickTest, StoreFailureStillPublishesTheFreshReading) {
  source_.readings = {{"a", 7}};
  store_.record_error = Error::Io("disk full");
  const TickReport r = RunAt("2026-11-25T12:03:00Z");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.failed[0].stage, "store");
  EXPECT_EQ(r.published, 1u);
  EXPECT_EQ(PublishedFor("a").counts[4], 7);
}

TEST_F(TickTest, AFailedWindowReadFailsOnlyItsChannels) {
  source_.readings = {{"a", 1}, {"b", 2}, {"c", 3}};
  RunAt("2026-11-25T12:02:00Z");
  source_.readings = {{"a", 4}, {"b", 5}, {"c", 6}};
  store_.window_fail_channels = {"b"};
  const TickReport r = RunAt("2026-11-25T12:03:00Z");
  EXPECT_FALSE(r.ok());
  ASSERT_EQ(r.failed.size(), 1u);
  EXPECT_EQ(r.failed[0].channel, "b");
  EXPECT_EQ(r.failed[0].stage, "window");
  EXPECT_NE(r.failed[0].reason.find("some reads failed"), std::string::npos);
  EXPECT_EQ(r.stored, 3u);
  EXPECT_EQ(r.published, 3u);
  // a and c keep their windows; b has its fresh reading only.
  EXPECT_EQ(PublishedFor("a").counts[3], 1);
  EXPECT_EQ(PublishedFor("c").counts[3], 3);
  EXPECT_FALSE(PublishedFor("b").counts[3].has_value());
  EXPECT_EQ(PublishedFor("b").counts[4], 5);
}

TEST_F(TickTest, AWholeWindowFailureFailsEveryChannel) {
  source_.readings = {{"a", 1}, {"b", 2}};
  store_.window_error = Error::Unavailable("table gone");
  const TickReport r = RunAt("2026-11-25T12:03:00Z");
  ASSERT_EQ(r.failed.size(), 2u);
  EXPECT_EQ(r.failed[0].stage, "window");
  EXPECT_EQ(r.failed[1].stage, "window");
  EXPECT_EQ(r.published, 2u);
}

// A store that writes in several requests and loses some: every sample of a
// channel named in `lost` is not stored.
class PartlyFailingStore final : public Store {
 public:
  Result<std::size_t> Record(std::span<const Sample>) override {
    return Error::Internal("RecordEach is the one to call");
  }
  RecordOutcome RecordEach(std::span<const Sample> samples) override {
    RecordOutcome out;
    for (std::size_t i = 0; i < samples.size(); ++i) {
      if (lost.contains(samples[i].channel)) {
        out.failed.push_back(i);
      } else {
        rows[samples[i].channel] = samples[i].viewers;
        ++out.written;
      }
    }
    if (!out.failed.empty()) out.error = Error::Unavailable("chunk 2 of 2: connection reset");
    return out;
  }
  Result<std::vector<Sample>> Window(std::span<const ChannelId>, Seconds, Seconds) override {
    return std::vector<Sample>{};
  }
  std::set<ChannelId> lost;
  std::map<ChannelId, std::int64_t> rows;
};

TEST(TickPartialStore, ReportsExactlyTheSamplesThatWereNotStored) {
  FakeClock clock(At("2026-11-25T12:03:00Z"));
  ScriptedSource source;
  source.readings = {{"a", 1}, {"b", 2}, {"c", 3}, {"d", 4}};
  PartlyFailingStore store;
  store.lost = {"b", "d"};
  RecordingPublisher publisher;
  TickRunner runner(source, store, publisher, clock);
  const TickReport r = runner.Run(clock.Now(), {});
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.stored, 2u);  // a and c are stored, and the report says so
  ASSERT_EQ(r.failed.size(), 2u);
  EXPECT_EQ(r.failed[0].channel, "b");
  EXPECT_EQ(r.failed[1].channel, "d");
  EXPECT_EQ(r.failed[0].stage, "store");
  EXPECT_NE(r.failed[0].reason.find("connection reset"), std::string::npos);
  EXPECT_EQ(store.rows.size(), 2u);
  EXPECT_EQ(r.published, 4u);  // every channel still gets its fresh reading
}

TEST_F(TickTest, DeadlineSkipsTheRestAndSaysSo) {
  source_.readings = {{"a", 1}, {"b", 2}};
  TickOptions options;
  options.deadline = At("2026-11-25T12:03:00Z");  // already reached
  const TickReport r = RunAt("2026-11-25T12:03:00Z", options);
  EXPECT_EQ(r.published, 0u);
  EXPECT_EQ(r.skipped.size(), 2u);
  EXPECT_EQ(r.skipped[0].reason, "tick deadline reached");
  EXPECT_EQ(r.stored, 2u);  // storing came before the deadline check
}

// A publisher that paces itself: publishes the first item and skips the rest.
class QuotaPublisher final : public Publisher {
 public:
  Result<PublishOutcome> Publish(const Summary&, const std::string&) override {
    return PublishOutcome::Published();
  }
  std::vector<Result<PublishOutcome>> PublishAll(std::span<const PublishItem> items,
                                                 const Deadline&) override {
    std::vector<Result<PublishOutcome>> out;
    for (std::size_t i = 0; i < items.size() && i < outcomes_to_return; ++i) {
      out.emplace_back(i == 0 ? PublishOutcome::Published() : PublishOutcome::Skipped("quota"));
    }
    return out;
  }
  std::size_t outcomes_to_return = 100;
};

TEST_F(TickTest, PublisherMayPaceTheWholeBatch) {
  QuotaPublisher publisher;
  TickRunner runner(source_, store_, publisher, clock_);
  source_.readings = {{"a", 1}, {"b", 2}, {"c", 3}};
  TickReport r = runner.Run(At("2026-11-25T12:03:00Z"), {});
  EXPECT_EQ(r.published, 1u);
  ASSERT_EQ(r.skipped.size(), 2u);
  EXPECT_EQ(r.skipped[1].channel, "c");
  EXPECT_EQ(r.skipped[1].reason, "quota");
  // A publisher that loses track of an item is a failure, not a silent skip.
  publisher.outcomes_to_return = 2;
  r = runner.Run(At("2026-11-25T12:04:00Z"), {});
  ASSERT_EQ(r.failed.size(), 1u);
  EXPECT_EQ(r.failed[0].channel, "c");
}

// Seams that throw instead of returning an error, `what` as a std::exception
// or, when `what` is empty, as something that is not one (a thrown int).
[[noreturn]] void Throw(const std::string& what) {
  if (what.empty()) throw 42;
  throw std::runtime_error(what);
}

class ThrowingSource final : public Source {
 public:
  Result<std::vector<ChannelReading>> Poll(WallTime, const Deadline&) override { Throw(what); }
  std::string what;
};

class ThrowingStore final : public Store {
 public:
  Result<std::size_t> Record(std::span<const Sample>) override { Throw(what); }
  Result<std::vector<Sample>> Window(std::span<const ChannelId>, Seconds, Seconds) override {
    Throw(what);
  }
  std::string what;
};

class ThrowingPublisher final : public Publisher {
 public:
  Result<PublishOutcome> Publish(const Summary&, const std::string&) override { Throw(what); }
  std::vector<Result<PublishOutcome>> PublishAll(std::span<const PublishItem>,
                                                 const Deadline&) override {
    Throw(what);
  }
  std::string what;
};

// The notes of `stage`, as "channel: reason".
std::vector<std::string> NotesAt(const std::vector<ChannelNote>& notes, std::string_view stage) {
  std::vector<std::string> out;
  for (const ChannelNote& n : notes) {
    if (n.stage == stage) out.push_back(n.channel + ": " + n.reason);
  }
  return out;
}

TEST_F(TickTest, APublisherThrowingSomethingNotAnExceptionFailsThePublishStage) {
  ThrowingPublisher publisher;  // throws an int from PublishAll
  TickRunner runner(source_, store_, publisher, clock_);
  source_.readings = {{"a", 1}, {"b", 2}};
  const TickReport r = runner.Run(At("2026-11-25T12:03:00Z"), {});
  EXPECT_EQ(r.stored, 2u);
  EXPECT_EQ(r.published, 0u);
  EXPECT_EQ(NotesAt(r.failed, "publish"),
            (std::vector<std::string>{"a: internal: unexpected exception",
                                      "b: internal: unexpected exception"}));
  EXPECT_EQ(r.summaries.size(), 2u);
}

TEST_F(TickTest, APublisherThrowingAnExceptionFailsThePublishStageWithItsMessage) {
  ThrowingPublisher publisher;
  publisher.what = "socket gone";
  TickRunner runner(source_, store_, publisher, clock_);
  source_.readings = {{"a", 1}};
  const TickReport r = runner.Run(At("2026-11-25T12:03:00Z"), {});
  EXPECT_EQ(NotesAt(r.failed, "publish"),
            (std::vector<std::string>{"a: internal: unexpected exception: socket gone"}));
}

TEST_F(TickTest, ASourceThrowingFailsTheTickLikeASourceError) {
  for (const std::string what : {"", "bad json"}) {
    ThrowingSource source;
    source.what = what;
    TickRunner runner(source, store_, publisher_, clock_);
    const TickReport r = runner.Run(At("2026-11-25T12:03:00Z"), {});
    const std::string reason = "internal: unexpected exception" + (what.empty() ? "" : ": " + what);
    EXPECT_EQ(NotesAt(r.failed, "source"), (std::vector<std::string>{": " + reason}));
    EXPECT_EQ(r.failed.size(), 1u);
    EXPECT_EQ(store_.record_calls, 0);
    EXPECT_TRUE(publisher_.published.empty());
  }
}

TEST_F(TickTest, AStoreThrowingFailsItsStagesAndTheFreshReadingsAreStillPublished) {
  for (const std::string what : {"", "disk on fire"}) {
    ThrowingStore store;
    store.what = what;
    TickRunner runner(source_, store, publisher_, clock_);
    source_.readings = {{"a", 7}, {"b", std::nullopt}};
    const TickReport r = runner.Run(At("2026-11-25T12:03:00Z"), {});
    const std::string reason = "internal: unexpected exception" + (what.empty() ? "" : ": " + what);
    EXPECT_EQ(r.stored, 0u);
    // The store stage fails the sample it had; the window fails every channel.
    EXPECT_EQ(NotesAt(r.failed, "store"), (std::vector<std::string>{"a: " + reason}));
    EXPECT_EQ(NotesAt(r.failed, "window"),
              (std::vector<std::string>{"a: " + reason, "b: " + reason}));
    EXPECT_EQ(r.published, 2u);
    EXPECT_EQ(PublishedFor("a").counts[4], 7);
    EXPECT_FALSE(PublishedFor("a").counts[3].has_value());
  }
}

TEST_F(TickTest, DuplicateReadingsCountOnce) {
  source_.readings = {{"a", 1}, {"a", 5}};
  const TickReport r = RunAt("2026-11-25T12:03:00Z");
  EXPECT_EQ(r.seen, 1u);
  EXPECT_EQ(store_.rows.begin()->second, 1);
}

TEST_F(TickTest, ShortBucketsForDemos) {
  source_.readings = {{"a", 1}};
  TickOptions options;
  options.bucket_length = seconds{5};
  for (int i = 0; i < 5; ++i) {
    source_.readings[0].viewers = i + 1;
    clock_.Set(At("2026-11-25T12:03:00Z") + seconds{5 * i});
    runner_.Run(clock_.Now(), options);
  }
  const Summary& a = PublishedFor("a");
  EXPECT_EQ(a.bucket_length, seconds{5});
  EXPECT_EQ(a.at, Bucket("2026-11-25T12:03:20Z"));
  const std::array<std::optional<std::int64_t>, 5> want = {1, 2, 3, 4, 5};
  EXPECT_EQ(a.counts, want);
}

TEST_F(TickTest, ReportJsonCarriesTheCounts) {
  source_.readings = {{"a", 1}};
  publisher_.fail_channels = {"a"};
  const auto j = nlohmann::json::parse(RunAt("2026-11-25T12:03:00Z").ToJson());
  EXPECT_EQ(j["bucket"], "2026-11-25T12:03:00Z");
  EXPECT_EQ(j["ok"], false);
  EXPECT_EQ(j["seen"], 1);
  EXPECT_EQ(j["stored"], 1);
  EXPECT_EQ(j["failed"][0]["channel"], "a");
  EXPECT_EQ(j["failed"][0]["stage"], "publish");
}

}  // namespace
}  // namespace headcount
