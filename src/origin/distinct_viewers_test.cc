// Tests of the distinct viewers' collection: one sketch per channel, UTC
// hour and viewer table, a viewer seen again counted once, flushed into a
// store (kept for the next flush when the store fails, with a bound), and
// the fan-out that lets a cluster's shared viewers and the sketches hear
// the same tables.
#include "origin/distinct_viewers.h"

#include <gtest/gtest.h>

#include <set>

#include "core/testing/fakes.h"
#include "core/time_text.h"
#include "origin/fan_out_sink.h"
#include "origin/testing/recording_sink.h"

namespace headcount {
namespace {

using Kind = ViewerSink::Kind;

WallTime At(const char* text) { return *ParseRfc3339(text); }
Seconds Hour(const char* text) { return std::chrono::floor<std::chrono::seconds>(At(text)); }

SessionTable::Key KeyOf(int n) {
  SessionTable::Key key{};
  key[0] = static_cast<unsigned char>(n);
  key[1] = static_cast<unsigned char>(n >> 8);
  return key;
}

std::int64_t Stored(testing::MemoryDistinctStore& store, const char* channel, const char* hour,
                    Kind kind) {
  const auto it = store.rows.find({channel, Hour(hour), static_cast<std::uint8_t>(kind)});
  return it == store.rows.end() ? -1 : it->second.Estimate();
}

TEST(DistinctViewersTest, OneSketchPerChannelHourAndTableAndRepeatsCountOnce) {
  DistinctViewers distinct;
  testing::MemoryDistinctStore store;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 50; ++i)
      distinct.Seen(Kind::kSession, "a", KeyOf(i), At("2026-12-07T10:59:00Z"));
  }
  distinct.Seen(Kind::kSession, "a", KeyOf(7), At("2026-12-07T11:00:00Z"));
  distinct.Seen(Kind::kSid, "a", KeyOf(7), At("2026-12-07T10:30:00Z"));
  distinct.Seen(Kind::kSession, "b", KeyOf(7), At("2026-12-07T10:30:00Z"));
  distinct.Gone(Kind::kSession, "a", KeyOf(1));
  EXPECT_EQ(distinct.pending(), 4U);
  ASSERT_TRUE(distinct.Flush(store).ok());
  EXPECT_EQ(distinct.pending(), 0U);
  EXPECT_EQ(Stored(store, "a", "2026-12-07T10:00:00Z", Kind::kSession), 50);
  EXPECT_EQ(Stored(store, "a", "2026-12-07T11:00:00Z", Kind::kSession), 1);
  EXPECT_EQ(Stored(store, "a", "2026-12-07T10:00:00Z", Kind::kSid), 1);
  EXPECT_EQ(Stored(store, "b", "2026-12-07T10:00:00Z", Kind::kSession), 1);

  // Seen again after the flush (a refresh, or a viewer back after its
  // session expired, with the same id): merged in, still 50.
  for (int i = 0; i < 60; ++i)
    distinct.Seen(Kind::kSession, "a", KeyOf(i), At("2026-12-07T10:59:30Z"));
  ASSERT_TRUE(distinct.Flush(store).ok());
  EXPECT_EQ(Stored(store, "a", "2026-12-07T10:00:00Z", Kind::kSession), 60);
  EXPECT_TRUE(distinct.Flush(store).ok()) << "nothing pending: nothing to write";
  EXPECT_EQ(store.merge_calls, 2);
}

TEST(DistinctViewersTest, AFailedFlushKeepsTheSketchesForTheNext) {
  DistinctViewers distinct(/*max_pending=*/2);
  testing::MemoryDistinctStore store;
  store.error = Error::Unavailable("database down");
  for (int i = 0; i < 10; ++i)
    distinct.Seen(Kind::kToken, "a", KeyOf(i), At("2026-12-07T10:00:00Z"));
  EXPECT_FALSE(distinct.Flush(store).ok());
  for (int i = 5; i < 20; ++i)
    distinct.Seen(Kind::kToken, "a", KeyOf(i), At("2026-12-07T10:01:00Z"));
  distinct.Seen(Kind::kToken, "b", KeyOf(1), At("2026-12-07T10:01:00Z"));
  distinct.Seen(Kind::kToken, "c", KeyOf(1), At("2026-12-07T10:01:00Z"));
  EXPECT_EQ(distinct.pending(), 2U);
  EXPECT_EQ(distinct.dropped(), 1U) << "c's sketch is past max_pending";
  store.error.reset();
  ASSERT_TRUE(distinct.Flush(store).ok());
  EXPECT_EQ(Stored(store, "a", "2026-12-07T10:00:00Z", Kind::kToken), 20);
  EXPECT_EQ(Stored(store, "b", "2026-12-07T10:00:00Z", Kind::kToken), 1);
  EXPECT_EQ(Stored(store, "c", "2026-12-07T10:00:00Z", Kind::kToken), -1);
}

TEST(DistinctViewersTest, KeysHashApartEvenWhenTheyDifferInTheirLastBytes) {
  std::set<std::uint64_t> hashes;
  for (int i = 0; i < 1000; ++i) {
    SessionTable::Key key{};
    key[23] = static_cast<unsigned char>(i);
    key[22] = static_cast<unsigned char>(i >> 8);
    hashes.insert(HashViewerKey(key));
  }
  EXPECT_EQ(hashes.size(), 1000U);
  EXPECT_EQ(HashViewerKey(KeyOf(3)), HashViewerKey(KeyOf(3)));
}

// A sink that decides first reports as a cluster does: it shares them and
// refuses every old token.
class DecidingSink final : public ViewerSink {
 public:
  void Seen(Kind, std::string_view, const SessionTable::Key&, WallTime) override {}
  void Gone(Kind, std::string_view, const SessionTable::Key&) override {}
  void FirstReport(Kind, std::string_view, const SessionTable::Key&, WallTime, Sighting) override {
    ++first_reports;
  }
  bool SharesFirstReports() const override { return true; }
  bool RefusedOldToken(std::string_view, const SessionTable::Key&, WallTime) override {
    return true;
  }
  int first_reports = 0;
};

TEST(FanOutSinkTest, TellsEverySinkAndAnswersForAny) {
  testing::RecordingSink first;
  DistinctViewers distinct;
  FanOutSink both({&first, nullptr, &distinct});
  both.Seen(Kind::kSession, "a", KeyOf(1), At("2026-12-07T10:00:00Z"));
  both.Gone(Kind::kSession, "a", KeyOf(1));
  ASSERT_EQ(first.calls().size(), 2U);
  EXPECT_TRUE(first.calls()[0].seen);
  EXPECT_FALSE(first.calls()[1].seen);
  EXPECT_EQ(distinct.pending(), 1U);
  EXPECT_FALSE(both.SharesFirstReports()) << "neither shares them";
  EXPECT_FALSE(both.RefusedOldToken("a", KeyOf(1), At("2026-12-07T10:00:00Z")));

  DecidingSink cluster;
  FanOutSink shared({&distinct, &cluster});
  shared.FirstReport(Kind::kToken, "a", KeyOf(2), At("2026-12-07T10:00:00Z"),
                     ViewerSink::Sighting::kCounts);
  EXPECT_EQ(cluster.first_reports, 1);
  EXPECT_TRUE(shared.SharesFirstReports());
  EXPECT_TRUE(shared.RefusedOldToken("a", KeyOf(2), At("2026-12-07T10:00:00Z")));
}

}  // namespace
}  // namespace headcount
