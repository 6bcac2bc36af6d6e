#include "core/window_cache.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>

#include "core/testing/fakes.h"

namespace headcount {
namespace {

using std::chrono::seconds;
using testing::MemoryStore;
using testing::RecordingPublisher;
using testing::ScriptedSource;

constexpr seconds kLen{60};
// Bucket n: the n-th minute after a whole hour.
Seconds B(int n) { return Seconds{seconds{1'764'072'000 + std::int64_t{60} * n}}; }

std::vector<Sample> Sorted(std::vector<Sample> samples) {
  std::sort(samples.begin(), samples.end(), [](const Sample& a, const Sample& b) {
    return std::tie(a.channel, a.bucket) < std::tie(b.channel, b.bucket);
  });
  return samples;
}

class WindowCacheTest : public ::testing::Test {
 protected:
  // Records one tick's samples of bucket n, as TickRunner does.
  RecordOutcome Tick(int n, const std::vector<std::pair<ChannelId, std::int64_t>>& counts) {
    std::vector<Sample> samples;
    samples.reserve(counts.size());
    for (const auto& [c, v] : counts) samples.push_back({c, B(n), v});
    return cache_.RecordEach(samples);
  }
  // The window of the tick of bucket n.
  WindowOutcome WindowAt(int n, std::vector<ChannelId> channels) {
    return cache_.WindowEach(channels, B(n - kWindowBuckets + 1), B(n));
  }
  // Store requests so far.
  int Reads() const { return store_.window_calls; }

  MemoryStore store_;
  WindowCache cache_{store_, kLen};
};

TEST_F(WindowCacheTest, RecordsThrough) {
  EXPECT_TRUE(Tick(0, {{"a", 1}, {"b", 2}}).failed.empty());
  EXPECT_EQ(store_.rows.size(), 2u);
  const std::vector<Sample> more = {{"a", B(1), 3}};
  Result<std::size_t> written = cache_.Record(more);
  ASSERT_TRUE(written.ok());
  EXPECT_EQ(*written, 1u);
  EXPECT_EQ(store_.rows.at({"a", B(1)}), 3);
}

TEST_F(WindowCacheTest, AnswersFromMemoryOnlyWhenEveryBucketIsKnown) {
  // The first bucket may also hold a previous process's samples, so the
  // window is known from the sixth tick on.
  for (int n = 0; n <= 4; ++n) {
    Tick(n, {{"a", 10 + n}, {"b", 20 + n}});
    const int before = Reads();
    const WindowOutcome w = WindowAt(n, {"a", "b"});
    EXPECT_EQ(Reads(), before + 1) << "tick " << n;
    EXPECT_TRUE(w.failed.empty());
    EXPECT_EQ(cache_.last_window().from_store, 2u);
  }
  Tick(5, {{"a", 15}, {"b", 25}});
  const int before = Reads();
  const WindowOutcome w = WindowAt(5, {"a", "b"});
  EXPECT_EQ(Reads(), before);  // no request
  EXPECT_TRUE(w.failed.empty());
  EXPECT_EQ(cache_.last_window().from_memory, 2u);
  EXPECT_EQ(cache_.last_window().from_store, 0u);
  // Exactly what the store holds.
  const std::vector<ChannelId> ab = {"a", "b"};
  EXPECT_EQ(Sorted(w.samples), Sorted(*store_.Window(ab, B(1), B(5))));
  EXPECT_EQ(w.samples.size(), 10u);
}

TEST_F(WindowCacheTest, GapsStayGapsWithoutARequest) {
  for (int n = 0; n <= 5; ++n) {
    if (n == 3) {
      Tick(n, {{"a", 1}});  // b not live (or its count unknown): a gap
    } else {
      Tick(n, {{"a", 1}, {"b", 2}});
    }
  }
  const int before = Reads();
  const WindowOutcome w = WindowAt(5, {"a", "b", "new"});
  EXPECT_EQ(Reads(), before);
  EXPECT_EQ(w.samples.size(), 5u + 4u);  // a: 5, b: 4, new: none
  for (const Sample& s : w.samples) EXPECT_FALSE(s.channel == "b" && s.bucket == B(3));
  for (const Sample& s : w.samples) EXPECT_NE(s.channel, "new");
}

TEST_F(WindowCacheTest, FallsBackAfterAMissedTick) {
  for (int n = 0; n <= 8; ++n) {
    if (n != 5) Tick(n, {{"a", n}});
  }
  // Buckets 4..8 miss 5: asked; 6..10 would too, but 4..8 is what counts.
  const int before = Reads();
  const WindowOutcome w = WindowAt(8, {"a"});
  EXPECT_EQ(Reads(), before + 1);
  EXPECT_EQ(Sorted(w.samples),
            (std::vector<Sample>{{"a", B(4), 4}, {"a", B(6), 6}, {"a", B(7), 7}, {"a", B(8), 8}}));
  // Once five buckets after the gap are recorded, memory answers again.
  for (int n = 9; n <= 10; ++n) Tick(n, {{"a", n}});
  const int again = Reads();
  WindowAt(10, {"a"});
  EXPECT_EQ(Reads(), again);
}

TEST_F(WindowCacheTest, APartlyFailedWriteIsReadBackForThoseChannelsOnly) {
  for (int n = 0; n <= 4; ++n) Tick(n, {{"a", 1}, {"b", 2}, {"c", 3}});
  store_.record_fail_channels = {"b"};
  const RecordOutcome r = Tick(5, {{"a", 5}, {"b", 6}, {"c", 7}});
  EXPECT_EQ(r.failed, std::vector<std::size_t>{1});
  store_.record_fail_channels.clear();

  const std::size_t asked = store_.window_channels_asked;
  const WindowOutcome w = WindowAt(5, {"a", "b", "c"});
  EXPECT_EQ(store_.window_channels_asked, asked + 1);  // b only
  EXPECT_EQ(cache_.last_window().from_memory, 2u);
  // b's failed sample is never returned: the store did not keep it.
  for (const Sample& s : w.samples) {
    EXPECT_FALSE(s.channel == "b" && s.bucket == B(5)) << "invented b@5";
  }
  EXPECT_EQ(w.samples.size(), 5u + 4u + 5u);

  // Written again (the same minute ticked twice), it is known again.
  Tick(5, {{"b", 6}});
  const int before = Reads();
  const WindowOutcome again = WindowAt(5, {"a", "b", "c"});
  EXPECT_EQ(Reads(), before);
  EXPECT_EQ(again.samples.size(), 15u);
}

TEST_F(WindowCacheTest, AFailedWriteIsReadBack) {
  for (int n = 0; n <= 4; ++n) Tick(n, {{"a", 1}, {"b", 2}});
  store_.record_error = Error::Unavailable("table gone");
  const RecordOutcome r = Tick(5, {{"a", 5}, {"b", 6}});
  EXPECT_EQ(r.failed.size(), 2u);
  store_.record_error.reset();
  const std::size_t asked = store_.window_channels_asked;
  const WindowOutcome w = WindowAt(5, {"a", "b"});
  EXPECT_EQ(store_.window_channels_asked, asked + 2);
  EXPECT_EQ(w.samples.size(), 8u);  // bucket 5 was not stored
  Result<std::size_t> whole = cache_.Record(std::vector<Sample>{{"a", B(6), 1}});
  EXPECT_TRUE(whole.ok());
}

// A store that writes the batch and then throws: nothing said what was written.
class WritesThenThrowsStore final : public Store {
 public:
  Result<std::size_t> Record(std::span<const Sample> samples) override {
    (void)memory.Record(samples);
    if (throw_on_record) throw std::runtime_error("lost the answer");
    return samples.size();
  }
  Result<std::vector<Sample>> Window(std::span<const ChannelId> channels, Seconds from,
                                     Seconds to) override {
    return memory.Window(channels, from, to);
  }
  MemoryStore memory;
  bool throw_on_record = false;
};

TEST(WindowCacheThrow, AWriteThatThrowsIsUnknown) {
  WritesThenThrowsStore store;
  WindowCache cache(store, kLen);
  for (int n = 0; n <= 5; ++n) {
    store.throw_on_record = n == 5;
    const std::vector<Sample> samples = {{"a", B(n), n}};
    if (n == 5) {
      EXPECT_THROW(cache.RecordEach(samples), std::runtime_error);
    } else {
      EXPECT_TRUE(cache.RecordEach(samples).failed.empty());
    }
  }
  const std::vector<ChannelId> a = {"a"};
  const int before = store.memory.window_calls;
  const WindowOutcome w = cache.WindowEach(a, B(1), B(5));
  EXPECT_EQ(store.memory.window_calls, before + 1);
  EXPECT_EQ(w.samples.size(), 5u);
}

TEST_F(WindowCacheTest, ARestartedProcessReadsFromTheStore) {
  for (int n = 0; n <= 6; ++n) Tick(n, {{"a", n}, {"x", 100 + n}});
  // A new process: it knows nothing, and the bucket it starts in may hold
  // the old process's samples (x was written there, then went offline).
  WindowCache restarted(store_, kLen);
  const auto tick = [&](int n) {
    const std::vector<Sample> samples = {{"a", B(n), n}};
    return restarted.RecordEach(samples);
  };
  const std::vector<ChannelId> ax = {"a", "x"};
  for (int n = 6; n <= 10; ++n) {
    tick(n);
    const int before = Reads();
    const WindowOutcome w = restarted.WindowEach(ax, B(n - 4), B(n));
    EXPECT_EQ(Reads(), before + 1) << "tick " << n;
    // x@6 came from the store, never dropped as a gap.
    const bool has_x6 = std::any_of(w.samples.begin(), w.samples.end(), [](const Sample& s) {
      return s.channel == "x" && s.bucket == B(6);
    });
    EXPECT_TRUE(has_x6) << "tick " << n;
  }
  tick(11);
  const int before = Reads();
  const WindowOutcome w = restarted.WindowEach(ax, B(7), B(11));
  EXPECT_EQ(Reads(), before);
  EXPECT_EQ(w.samples.size(), 5u);  // x has not been live since
}

// A cluster's node whose tick went elsewhere (or ran while others did too)
// clears its cache: the buckets it remembers may have been written again.
TEST_F(WindowCacheTest, AClearedCacheReadsWhatAnotherWriterStored) {
  for (int n = 0; n <= 6; ++n) Tick(n, {{"a", n}});
  store_.rows[{"a", B(5)}] = 50;  // another node wrote bucket 5 afterwards
  cache_.Clear();
  Tick(7, {{"a", 7}});
  const int before = Reads();
  const WindowOutcome w = WindowAt(7, {"a"});
  EXPECT_EQ(Reads(), before + 1);
  const bool has_other = std::any_of(w.samples.begin(), w.samples.end(), [](const Sample& s) {
    return s.bucket == B(5) && s.viewers == 50;
  });
  EXPECT_TRUE(has_other);
}

TEST_F(WindowCacheTest, MemoryHoldsOnlyTheLastWindow) {
  for (int n = 0; n <= 20; ++n) Tick(n, {{"a", n}});
  int before = Reads();
  WindowAt(20, {"a"});
  EXPECT_EQ(Reads(), before);
  // Older buckets were forgotten: asked of the store.
  before = Reads();
  const WindowOutcome old = WindowAt(19, {"a"});
  EXPECT_EQ(Reads(), before + 1);
  EXPECT_EQ(old.samples.size(), 5u);
  // So are ranges longer than the window, and the future.
  before = Reads();
  const std::vector<ChannelId> a = {"a"};
  cache_.WindowEach(a, B(10), B(20));
  cache_.WindowEach(a, B(17), B(21));
  EXPECT_EQ(Reads(), before + 2);
  // An old bucket recorded late is not kept either.
  Tick(3, {{"a", 33}});
  before = Reads();
  WindowAt(20, {"a"});
  EXPECT_EQ(Reads(), before);
}

TEST_F(WindowCacheTest, ReadFailuresAreMappedToTheChannelsAsked) {
  for (int n = 0; n <= 5; ++n) Tick(n, {{"a", 1}, {"c", 3}});
  store_.record_fail_channels = {"b"};
  Tick(6, {{"a", 1}, {"b", 2}, {"c", 3}});
  store_.record_fail_channels.clear();
  store_.window_fail_channels = {"b"};
  const WindowOutcome w = WindowAt(6, {"a", "b", "c"});
  EXPECT_EQ(w.failed, std::vector<std::size_t>{1});
  ASSERT_TRUE(w.error.has_value());
  EXPECT_EQ(w.samples.size(), 10u);  // a and c from memory
  Result<std::vector<Sample>> all = cache_.Window(std::vector<ChannelId>{"a", "b"}, B(2), B(6));
  EXPECT_FALSE(all.ok());
}

TEST(WindowCacheTick, WarmTicksPublishWhatColdTicksDo) {
  FakeClock clock;
  ScriptedSource source;
  MemoryStore cold_store;
  MemoryStore warm_store;
  WindowCache cache(warm_store, kLen);
  RecordingPublisher cold_publisher;
  RecordingPublisher warm_publisher;
  TickRunner cold(source, cold_store, cold_publisher, clock);
  TickRunner warm(source, cache, warm_publisher, clock);
  TickOptions options;
  options.bucket_length = kLen;
  for (int n = 0; n <= 9; ++n) {
    source.readings = {{"a", 10 + n}, {"b", n % 3 == 0 ? std::nullopt : std::optional(n)}};
    if (n == 7) source.readings.push_back({"c", 5});
    const WallTime now = WallTime{B(n)} + seconds{2};
    clock.Set(now);
    const int reads = warm_store.window_calls;
    const TickReport c = cold.Run(now, options);
    const TickReport w = warm.Run(now, options);
    EXPECT_TRUE(w.ok());
    EXPECT_EQ(c.summaries, w.summaries) << "tick " << n;
    EXPECT_EQ(warm_store.window_calls, n >= 5 ? reads : reads + 1) << "tick " << n;
  }
}

}  // namespace
}  // namespace headcount
