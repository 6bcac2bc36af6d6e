#include "origin/sessions.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <set>
#include <thread>
#include <vector>

#include "core/base64.h"
#include "core/time_text.h"
#include "origin/testing/recording_sink.h"

namespace headcount {
namespace {

using std::chrono::seconds;

const WallTime kT0 = *ParseRfc3339("2026-11-25T12:00:00Z");

std::string MintOk(const ViewerSessions& s, std::string_view channel) {
  const Result<std::string> id = s.Mint(channel);
  EXPECT_TRUE(id.ok());
  return id.ok() ? *id : std::string();
}

TEST(ViewerSessionsTest, IdsAreUrlSafeAndUnique) {
  ViewerSessions s;
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = MintOk(s, "demo");
    ASSERT_EQ(id.size(), kSessionIdChars);
    EXPECT_EQ(
        id.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
        std::string::npos);
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 1000u);
}

// Ids are signed with a precomputed HMAC key schedule; their tags must stay
// exactly OpenSSL's HMAC-SHA256, or ids minted before an upgrade (kept by
// players across a restart) would stop verifying.
TEST(ViewerSessionsTest, TagIsHmacSha256OfChannelAndNonce) {
  for (const std::string& key : {std::string(32, 'k'), std::string(100, 'L'), std::string("k")}) {
    ViewerSessions s(SessionOptions{.key = key});
    for (const std::string& channel : {std::string("demo"), std::string(64, 'c')}) {
      const Result<std::string> raw = Base64UrlDecode(MintOk(s, channel));
      ASSERT_TRUE(raw.ok());
      ASSERT_EQ(raw->size(), kSessionNonceBytes + kSessionTagBytes);
      std::string message = channel;
      message += '\n';
      message.append(raw->data(), kSessionNonceBytes);
      unsigned char mac[EVP_MAX_MD_SIZE];
      unsigned int mac_len = 0;
      ASSERT_NE(HMAC(EVP_sha256(), key.data(), int(key.size()),
                     reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac,
                     &mac_len),
                nullptr);
      EXPECT_EQ(std::memcmp(mac, raw->data() + kSessionNonceBytes, kSessionTagBytes), 0)
          << "key of " << key.size() << " bytes, channel " << channel;
    }
  }
}

TEST(ViewerSessionsTest, MintAloneIsNotCounted) {
  ViewerSessions s;
  for (int i = 0; i < 100; ++i) (void)MintOk(s, "demo");
  EXPECT_TRUE(s.CountActive(kT0).empty());
  EXPECT_EQ(s.ActiveTotal(kT0), 0);
}

TEST(ViewerSessionsTest, OnePlayerManyRequestsCountsOnce) {
  ViewerSessions s;
  const std::string id = MintOk(s, "demo");
  for (int i = 0; i < 50; ++i) {
    EXPECT_TRUE(s.Touch("demo", id, kT0 + seconds(i / 5), Activity::kMedia));
  }
  EXPECT_EQ(s.CountActive(kT0 + seconds(10)), (std::map<ChannelId, std::int64_t>{{"demo", 1}}));
}

TEST(ViewerSessionsTest, PlaylistOnlyClientIsNotAViewer) {
  ViewerSessions s;
  const std::string id = MintOk(s, "demo");
  // A crawler that follows playlist links but never fetches media.
  for (int i = 0; i < 10; ++i) {
    EXPECT_TRUE(s.Touch("demo", id, kT0 + seconds(i), Activity::kPlaylist));
  }
  EXPECT_EQ(s.ActiveTotal(kT0 + seconds(10)), 0);
  // Its first segment makes it a viewer; playlist reloads then keep it one.
  EXPECT_TRUE(s.Touch("demo", id, kT0 + seconds(10), Activity::kMedia));
  EXPECT_TRUE(s.Touch("demo", id, kT0 + seconds(35), Activity::kPlaylist));
  EXPECT_EQ(s.CountActive(kT0 + seconds(60)), (std::map<ChannelId, std::int64_t>{{"demo", 1}}));
  EXPECT_EQ(s.ActiveTotal(kT0 + seconds(66)), 0);
}

TEST(ViewerSessionsTest, OneClientCannotHoldMoreThanItsCap) {
  SessionOptions options;
  options.max_sessions_per_client = 3;
  ViewerSessions s(options);
  // An attacker minting ids and fetching one segment with each.
  for (int i = 0; i < 50; ++i) {
    EXPECT_TRUE(s.Touch("demo", MintOk(s, "demo"), kT0, Activity::kMedia, "203.0.113.9"));
  }
  // Another address is not affected.
  EXPECT_TRUE(s.Touch("demo", MintOk(s, "demo"), kT0, Activity::kMedia, "198.51.100.1"));
  EXPECT_EQ(s.ActiveTotal(kT0 + seconds(1)), 4);
  // The cap frees up as the client's sessions expire.
  EXPECT_EQ(s.ActiveTotal(kT0 + seconds(31)), 0);
  EXPECT_TRUE(
      s.Touch("demo", MintOk(s, "demo"), kT0 + seconds(31), Activity::kMedia, "203.0.113.9"));
  EXPECT_EQ(s.ActiveTotal(kT0 + seconds(32)), 1);
}

// What a cluster shares (cluster/shared_viewers.h): exactly the sessions
// this node counts, each time it sees them, the same key for the same id.
TEST(ViewerSessionsTest, TheSinkHearsOfEveryCountedSessionAndNothingElse) {
  testing::RecordingSink sink;
  SessionOptions options;
  options.max_sessions_per_client = 1;
  options.sink = &sink;
  ViewerSessions s(options);
  const std::string id = MintOk(s, "demo");
  EXPECT_TRUE(s.Touch("demo", id, kT0, Activity::kPlaylist, "a"));  // not a viewer yet
  EXPECT_FALSE(s.Touch("demo", "forged-id-forged-id-forged-id-xx", kT0, Activity::kMedia, "a"));
  EXPECT_TRUE(sink.calls().empty());
  EXPECT_TRUE(s.Touch("demo", id, kT0 + seconds(1), Activity::kMedia, "a"));
  EXPECT_TRUE(s.Touch("demo", id, kT0 + seconds(2), Activity::kPlaylist, "a"));
  EXPECT_TRUE(s.Touch("demo", MintOk(s, "demo"), kT0, Activity::kMedia, "a"));  // over the cap
  const auto calls = sink.calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_TRUE(calls[0].seen && calls[1].seen);
  EXPECT_EQ(calls[0].kind, ViewerSink::Kind::kSession);
  EXPECT_EQ(calls[0].channel, "demo");
  EXPECT_EQ(calls[0].key, calls[1].key);
  EXPECT_EQ(calls[0].at, kT0 + seconds(1));
  EXPECT_EQ(calls[1].at, kT0 + seconds(2));
  // Another node with the same key hears of the same viewer under the same key.
  testing::RecordingSink other_sink;
  SessionOptions same_key;
  same_key.key = "0123456789abcdef0123456789abcdef";
  same_key.sink = &other_sink;
  ViewerSessions a(same_key), b(same_key);
  const std::string shared_id = MintOk(a, "demo");
  EXPECT_TRUE(a.Touch("demo", shared_id, kT0, Activity::kMedia));
  EXPECT_TRUE(b.Touch("demo", shared_id, kT0, Activity::kMedia));
  ASSERT_EQ(other_sink.calls().size(), 2u);
  EXPECT_EQ(other_sink.calls()[0].key, other_sink.calls()[1].key);
}

TEST(ViewerSessionsTest, TwoPlayersCountTwoPerChannel) {
  ViewerSessions s;
  const std::string a = MintOk(s, "demo");
  const std::string b = MintOk(s, "demo");
  const std::string c = MintOk(s, "other");
  EXPECT_TRUE(s.Touch("demo", a, kT0, Activity::kMedia));
  EXPECT_TRUE(s.Touch("demo", b, kT0, Activity::kMedia));
  EXPECT_TRUE(s.Touch("demo", a, kT0 + seconds(1), Activity::kMedia));
  EXPECT_TRUE(s.Touch("other", c, kT0, Activity::kMedia));
  EXPECT_EQ(s.CountActive(kT0 + seconds(2)),
            (std::map<ChannelId, std::int64_t>{{"demo", 2}, {"other", 1}}));
  EXPECT_EQ(s.ActiveTotal(kT0 + seconds(2)), 3);
}

TEST(ViewerSessionsTest, ExpiresAfterIdleTimeout) {
  FakeClock clock(kT0);
  SessionOptions options;
  options.idle_timeout = seconds(30);
  ViewerSessions s(options);
  const std::string stays = MintOk(s, "demo");
  const std::string leaves = MintOk(s, "demo");
  ASSERT_TRUE(s.Touch("demo", stays, clock.Now(), Activity::kMedia));
  ASSERT_TRUE(s.Touch("demo", leaves, clock.Now(), Activity::kMedia));

  clock.Advance(seconds(20));
  ASSERT_TRUE(s.Touch("demo", stays, clock.Now(), Activity::kMedia));
  clock.Advance(seconds(9));
  EXPECT_EQ(s.ActiveTotal(clock.Now()), 2);  // 29 s idle: still here

  clock.Advance(seconds(1));  // `leaves` idle for exactly 30 s: gone
  EXPECT_EQ(s.CountActive(clock.Now()), (std::map<ChannelId, std::int64_t>{{"demo", 1}}));

  clock.Advance(seconds(20));  // `stays` idle for 30 s too
  EXPECT_TRUE(s.CountActive(clock.Now()).empty());

  // A returning player is counted again.
  ASSERT_TRUE(s.Touch("demo", leaves, clock.Now(), Activity::kMedia));
  EXPECT_EQ(s.ActiveTotal(clock.Now()), 1);
}

TEST(ViewerSessionsTest, ForgedIdsAreNotCounted) {
  ViewerSessions s;
  const std::string good = MintOk(s, "demo");
  std::string flipped = good;
  flipped[kSessionIdChars - 1] = flipped[kSessionIdChars - 1] == 'A' ? 'B' : 'A';
  std::string flipped_nonce = good;
  flipped_nonce[0] = flipped_nonce[0] == 'A' ? 'B' : 'A';

  ViewerSessions other_key;
  const std::string foreign = MintOk(other_key, "demo");

  for (const std::string& id :
       {std::string(), std::string("abc"), std::string(kSessionIdChars, 'A'), flipped,
        flipped_nonce, foreign, good + "A", good.substr(1), std::string(good).replace(3, 1, "+"),
        std::string(good).replace(3, 1, "=")}) {
    EXPECT_FALSE(s.Verify("demo", id)) << id;
    EXPECT_FALSE(s.Touch("demo", id, kT0, Activity::kMedia)) << id;
  }
  EXPECT_FALSE(s.Touch("other", good, kT0, Activity::kMedia)) << "id of another channel";
  EXPECT_FALSE(s.Touch("demox", good, kT0, Activity::kMedia));
  EXPECT_EQ(s.ActiveTotal(kT0), 0);
  EXPECT_TRUE(s.Touch("demo", good, kT0, Activity::kMedia));
  EXPECT_EQ(s.ActiveTotal(kT0), 1);
}

TEST(ViewerSessionsTest, ReplacementIsAValidIdTheSameOnEveryCall) {
  const std::string key(32, 'k');
  ViewerSessions s({.key = key});
  ViewerSessions lost_key;
  const std::string foreign = MintOk(lost_key, "demo");
  const std::string client = "198.51.100.7";

  const std::string replacement = s.Replacement("demo", foreign, client);
  EXPECT_TRUE(s.Verify("demo", replacement));
  EXPECT_FALSE(s.Verify("other", replacement));
  EXPECT_NE(replacement, foreign);
  EXPECT_EQ(s.Replacement("demo", foreign, client), replacement);
  // The same after a restart with the same key.
  EXPECT_EQ(ViewerSessions({.key = key}).Replacement("demo", foreign, client), replacement);

  // Each input gives its own.
  const std::set<std::string> others = {
      replacement,
      s.Replacement("demo", MintOk(lost_key, "demo"), client),
      s.Replacement("demo", foreign, "198.51.100.8"),
      s.Replacement("demo", foreign, ""),
      s.Replacement("other", foreign, client),
      ViewerSessions({.key = std::string(32, 'K')}).Replacement("demo", foreign, client),
  };
  EXPECT_EQ(others.size(), 6u);

  // Garbage of any length; past kMaxReplacedIdBytes only the start counts.
  for (const std::string& garbage :
       {std::string(), std::string("\n\n"), std::string(100'000, 'x')}) {
    EXPECT_TRUE(s.Verify("demo", s.Replacement("demo", garbage, client)));
  }
  const std::string long_id(kMaxReplacedIdBytes, 'y');
  EXPECT_EQ(s.Replacement("demo", long_id + "a", client),
            s.Replacement("demo", long_id + "b", client));
  EXPECT_NE(s.Replacement("demo", long_id, client),
            s.Replacement("demo", long_id.substr(1), client));

  // A replacement is only an id: it counts once media flows, like any other.
  EXPECT_EQ(s.ActiveTotal(kT0), 0);
  EXPECT_TRUE(s.Touch("demo", replacement, kT0, Activity::kMedia, client));
  EXPECT_TRUE(
      s.Touch("demo", s.Replacement("demo", foreign, client), kT0, Activity::kMedia, client));
  EXPECT_EQ(s.ActiveTotal(kT0), 1);
}

TEST(ViewerSessionsTest, ChannelAndNonceCannotBeShifted) {
  // The "\n" separator keeps ("ab", nonce) and ("a", "b" + nonce...) apart;
  // with a fixed nonce length this reduces to: a channel's id is only its own.
  ViewerSessions s(SessionOptions{.key = "0123456789abcdef0123456789abcdef"});
  const std::string id = MintOk(s, "ab");
  EXPECT_FALSE(s.Verify("a", id));
  EXPECT_FALSE(s.Verify("ab\n", id));
  EXPECT_TRUE(s.Verify("ab", id));
}

TEST(ViewerSessionsTest, SameKeyVerifiesAcrossInstances) {
  // A configured key keeps viewers' ids valid across a restart.
  const std::string key(32, 'k');
  ViewerSessions before({.key = key});
  ViewerSessions after({.key = key});
  EXPECT_TRUE(after.Touch("demo", MintOk(before, "demo"), kT0, Activity::kMedia));
}

TEST(ViewerSessionsTest, FullTableStillAcceptsButDoesNotTrack) {
  SessionOptions options;
  options.max_sessions = 2;
  ViewerSessions s(options);
  const std::string a = MintOk(s, "demo");
  const std::string b = MintOk(s, "demo");
  const std::string c = MintOk(s, "demo");
  EXPECT_TRUE(s.Touch("demo", a, kT0, Activity::kMedia));
  EXPECT_TRUE(s.Touch("demo", b, kT0, Activity::kMedia));
  EXPECT_TRUE(s.Touch("demo", c, kT0, Activity::kMedia));  // valid, but not tracked
  EXPECT_EQ(s.ActiveTotal(kT0), 2);
  EXPECT_TRUE(s.Touch("demo", a, kT0 + seconds(1), Activity::kMedia));  // known ones still refresh

  // Once the others expire, there is room again.
  EXPECT_TRUE(s.Touch("demo", c, kT0 + seconds(31), Activity::kMedia));
  EXPECT_EQ(s.CountActive(kT0 + seconds(31)), (std::map<ChannelId, std::int64_t>{{"demo", 1}}));
}

TEST(ViewerSessionsTest, ConcurrentTouchesAreCountedExactly) {
  ViewerSessions s;
  constexpr int kThreads = 4;
  constexpr int kPlayersPerThread = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&s] {
      for (int p = 0; p < kPlayersPerThread; ++p) {
        const std::string id = *s.Mint("demo");
        for (int r = 0; r < 3; ++r) (void)s.Touch("demo", id, kT0, Activity::kMedia);
        (void)s.CountActive(kT0);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(s.ActiveTotal(kT0), kThreads * kPlayersPerThread);
}

// What /metrics (each scrape) and the tick ask while segment requests
// refresh their sessions: a count must not hold those requests for a walk
// over the table. The counting thread counts with kCountPause between counts
// (a scrape every millisecond or so, far more than any Prometheus); the
// requests come kRequestPause apart, so they land anywhere in that cycle.
// A count that walks the table holds the lock most of the time, and a
// request waits for half a walk on average.
TEST(ViewerSessionsTest, CountsDoNotHoldUpRequests) {
  constexpr int kSessions = 50'000;
  constexpr int kRequests = 50;
  constexpr auto kCountPause = std::chrono::microseconds(300);
  constexpr auto kRequestPause = std::chrono::milliseconds(1);
  // Generous: a refresh costs microseconds, a walk of kSessions milliseconds
  // (sanitized, on a fast machine) to hundreds (on a loaded one).
  constexpr auto kMaxMedianWait = std::chrono::milliseconds(1);
  SessionOptions options;
  options.max_sessions_per_client = 0;
  ViewerSessions s(options);
  std::vector<std::string> ids;
  ids.reserve(kSessions);
  for (int i = 0; i < kSessions; ++i) {
    ids.push_back(MintOk(s, "demo"));
    ASSERT_TRUE(s.Touch("demo", ids.back(), kT0, Activity::kMedia));
  }

  std::atomic<bool> stop = false;
  std::atomic<int> counts = 0;
  std::thread counter([&] {
    while (!stop) {
      EXPECT_EQ(s.ActiveTotal(kT0 + seconds(1)), kSessions);
      EXPECT_EQ(s.CountActive(kT0 + seconds(1)).at("demo"), kSessions);
      ++counts;
      std::this_thread::sleep_for(kCountPause);
    }
  });
  std::vector<std::chrono::steady_clock::duration> waits;
  for (int i = 0; i < kRequests; ++i) {
    std::this_thread::sleep_for(kRequestPause);
    const auto start = std::chrono::steady_clock::now();
    EXPECT_TRUE(s.Touch("demo", ids[std::size_t(i) * 997 % ids.size()], kT0 + seconds(1),
                        Activity::kMedia));
    waits.push_back(std::chrono::steady_clock::now() - start);
  }
  stop = true;
  counter.join();
  std::sort(waits.begin(), waits.end());
  const auto median = waits[waits.size() / 2];
  EXPECT_LT(median, kMaxMedianWait)
      << "median " << std::chrono::duration<double, std::milli>(median).count() << " ms, " << counts
      << " counts";
}

}  // namespace
}  // namespace headcount
