// IvsPublisher: the PutMetadata request, what its answers mean, and
// PublishAll's quota pacing, rotation, deadline and concurrency, with a
// FakeClock so nothing really waits.
#include "ivs/ivs_publisher.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "core/payload.h"
#include "ivs/ivs_test_util.h"

namespace headcount {
namespace {

using namespace std::chrono_literals;
using ivs_testing::Arn;
using ivs_testing::ClientFixture;
using ivs_testing::Start;
using json = nlohmann::json;

Summary MakeSummary(const std::string& channel) {
  Summary s;
  s.channel = channel;
  s.at = std::chrono::floor<std::chrono::seconds>(Start());
  s.counts = {120, 134, std::nullopt, 161, 170};
  s.trend = Trend::kRising;
  return s;
}

// Answers every request with `status` (204 by default) and can advance a
// FakeClock per request. Thread-safe.
class AutoTransport final : public aws::HttpTransport {
 public:
  Result<aws::HttpResponse> Send(const aws::HttpRequest& request) override {
    std::lock_guard lock(mu_);
    bodies_.push_back(request.body);
    if (timed_clock_ != nullptr) times_.push_back(timed_clock_->Now());
    if (clock_ != nullptr) clock_->Advance(latency_);
    return aws::HttpResponse{204, {}, ""};
  }
  void SetLatency(FakeClock* clock, std::chrono::milliseconds latency) {
    std::lock_guard lock(mu_);
    clock_ = clock;
    latency_ = latency;
  }
  // Records the clock's time of every request from now on.
  void RecordTimes(const FakeClock* clock) {
    std::lock_guard lock(mu_);
    timed_clock_ = clock;
  }
  std::size_t RequestCount() const {
    std::lock_guard lock(mu_);
    return bodies_.size();
  }
  std::vector<WallTime> times() const {
    std::lock_guard lock(mu_);
    return times_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> bodies_;
  const FakeClock* timed_clock_ = nullptr;
  std::vector<WallTime> times_;
  FakeClock* clock_ = nullptr;
  std::chrono::milliseconds latency_{0};
};

// A batch of summaries and payloads for PublishAll. Items point into the
// vectors, whose buffers survive a move.
struct Batch {
  explicit Batch(const std::vector<std::string>& channels) {
    summaries.reserve(channels.size());
    payloads.reserve(channels.size());
    items.reserve(channels.size());
    for (const auto& c : channels) summaries.push_back(MakeSummary(c));
    for (const auto& s : summaries) payloads.push_back(EncodePayloadV1(s));
    for (std::size_t i = 0; i < summaries.size(); ++i) {
      items.push_back({&summaries[i], &payloads[i]});
    }
  }
  static Batch Numbered(int n) {
    std::vector<std::string> channels;
    for (int i = 0; i < n; ++i) channels.push_back(Arn(i));
    return Batch(channels);
  }
  std::vector<Summary> summaries;
  std::vector<std::string> payloads;
  std::vector<PublishItem> items;
};

struct PublisherFixture : ClientFixture {
  explicit PublisherFixture(IvsOptions o = {}, aws::HttpTransport* transport = nullptr,
                            int max_attempts = 3)
      : ClientFixture(transport, max_attempts), options(std::move(o)) {
    publisher =
        std::make_unique<IvsPublisher>(*client, clock, options, [this](std::chrono::nanoseconds d) {
          slept += d;
          clock.Advance(d);
        });
  }
  IvsOptions options;
  std::chrono::nanoseconds slept{0};
  std::unique_ptr<IvsPublisher> publisher;
};

TEST(IvsPublisher, SendsASignedPutMetadataWithTheV1Payload) {
  PublisherFixture f;
  f.transport.PushResponse(204, "");
  const Summary s = MakeSummary(Arn(1));
  const std::string payload = EncodePayloadV1(s);
  auto outcome = f.publisher->Publish(s, payload);
  ASSERT_TRUE(outcome.ok()) << outcome.error().ToString();
  EXPECT_TRUE(outcome->published);

  const auto requests = f.transport.requests();
  ASSERT_EQ(requests.size(), 1u);
  const aws::HttpRequest& r = requests[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, "https://ivs.us-west-2.amazonaws.com/PutMetadata");
  EXPECT_EQ(json::parse(r.body), (json{{"channelArn", Arn(1)}, {"metadata", payload}}));
  const std::string* type = aws::FindHeader(r.headers, "Content-Type");
  ASSERT_NE(type, nullptr);
  EXPECT_EQ(*type, "application/json");
  const std::string* auth = aws::FindHeader(r.headers, "Authorization");
  ASSERT_NE(auth, nullptr);
  EXPECT_TRUE(auth->starts_with(
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260301/us-west-2/ivs/aws4_request"))
      << *auth;
  EXPECT_NE(aws::FindHeader(r.headers, "X-Amz-Date"), nullptr);
}

TEST(IvsPublisher, SeedFormatSendsTheCommaList) {
  PublisherFixture f(IvsOptions{.metadata_format = MetadataFormat::kSeed});
  f.transport.PushResponse(204, "");
  const Summary s = MakeSummary(Arn(1));
  auto outcome = f.publisher->Publish(s, EncodePayloadV1(s));
  ASSERT_TRUE(outcome.ok());
  const auto requests = f.transport.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(json::parse(requests[0].body)["metadata"], "170,161,,134,120");
}

TEST(IvsPublisher, NotBroadcastingIsSkippedNotFailed) {
  PublisherFixture f;
  f.transport.PushResponse(
      404, R"({"exceptionMessage":"Channel is not broadcasting"})",
      {{"x-amzn-ErrorType", "ChannelNotBroadcasting:http://internal.amazon.com/coral/"}});
  f.transport.PushResponse(404, R"({"__type":"ChannelNotBroadcasting","message":"offline"})");
  const Summary s = MakeSummary(Arn(1));
  for (int i = 0; i < 2; ++i) {
    auto outcome = f.publisher->Publish(s, "{}");
    ASSERT_TRUE(outcome.ok()) << outcome.error().ToString();
    EXPECT_FALSE(outcome->published);
    EXPECT_EQ(outcome->skip_reason, kNotBroadcastingReason);
  }
}

TEST(IvsPublisher, StillThrottledAfterRetriesIsSkipped) {
  PublisherFixture f;  // AwsClient: 3 attempts
  for (int i = 0; i < 3; ++i) {
    f.transport.PushResponse(429, R"({"exceptionMessage":"Rate exceeded"})",
                             {{"x-amzn-ErrorType", "ThrottlingException"}});
  }
  auto outcome = f.publisher->Publish(MakeSummary(Arn(1)), "{}");
  ASSERT_TRUE(outcome.ok()) << outcome.error().ToString();
  EXPECT_FALSE(outcome->published);
  EXPECT_NE(outcome->skip_reason.find("throttled"), std::string::npos) << outcome->skip_reason;
  EXPECT_EQ(f.transport.requests().size(), 3u);  // backed off and retried
}

TEST(IvsPublisher, ThrottledOnceThenAcceptedIsPublished) {
  PublisherFixture f;
  f.transport.PushResponse(429, "{}", {{"x-amzn-ErrorType", "ThrottlingException"}});
  f.transport.PushResponse(204, "");
  auto outcome = f.publisher->Publish(MakeSummary(Arn(1)), "{}");
  ASSERT_TRUE(outcome.ok());
  EXPECT_TRUE(outcome->published);
}

TEST(IvsPublisher, OtherErrorsFailWithTheCode) {
  PublisherFixture f;
  f.transport.PushResponse(400, R"({"exceptionMessage":"metadata too large"})",
                           {{"x-amzn-ErrorType", "ValidationException"}});
  auto outcome = f.publisher->Publish(MakeSummary(Arn(1)), "{}");
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.error().code(), ErrorCode::kRejected);
  EXPECT_NE(outcome.error().message().find("ValidationException"), std::string::npos);
}

TEST(IvsPublisher, RefusesBadInputWithoutSending) {
  PublisherFixture f;
  auto too_big = f.publisher->Publish(MakeSummary(Arn(1)), std::string(kMaxPayloadBytes + 1, 'x'));
  ASSERT_FALSE(too_big.ok());
  EXPECT_EQ(too_big.error().code(), ErrorCode::kInvalidArgument);
  auto not_arn = f.publisher->Publish(MakeSummary("main"), "{}");
  ASSERT_FALSE(not_arn.ok());
  EXPECT_EQ(not_arn.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(f.transport.requests().empty());
}

TEST(IvsPublisher, PublishAllReturnsOutcomesInTheItemsOrder) {
  PublisherFixture f(IvsOptions{.publish_concurrency = 1});
  // Calls go in ARN order: Arn(0), Arn(1), Arn(2).
  f.transport.PushResponse(204, "");
  f.transport.PushResponse(404, "{}", {{"x-amzn-ErrorType", "ChannelNotBroadcasting"}});
  f.transport.PushResponse(400, "{}", {{"x-amzn-ErrorType", "ValidationException"}});
  Batch batch({Arn(2), Arn(1), Arn(0)});
  const Deadline deadline(f.clock, std::nullopt);
  auto outcomes = f.publisher->PublishAll(batch.items, deadline);
  ASSERT_EQ(outcomes.size(), 3u);
  ASSERT_FALSE(outcomes[0].ok());  // Arn(2)
  EXPECT_NE(outcomes[0].error().message().find("ValidationException"), std::string::npos);
  ASSERT_TRUE(outcomes[1].ok());  // Arn(1)
  EXPECT_EQ(outcomes[1]->skip_reason, kNotBroadcastingReason);
  ASSERT_TRUE(outcomes[2].ok());  // Arn(0)
  EXPECT_TRUE(outcomes[2]->published);
}

// Runs one paced tick of `batch` from `at`, 10 s deadline, and returns the
// channels skipped; every skip must carry the account quota reason.
std::set<std::string> PacedTick(PublisherFixture& f, Batch& batch, WallTime at,
                                std::size_t* published) {
  f.clock.Set(at);
  const Deadline deadline(f.clock, at + 10s);
  auto outcomes = f.publisher->PublishAll(batch.items, deadline);
  std::set<std::string> skipped;
  *published = 0;
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    EXPECT_TRUE(outcomes[i].ok());
    if (!outcomes[i].ok()) continue;
    if (outcomes[i]->published) {
      ++*published;
    } else {
      EXPECT_TRUE(
          outcomes[i]->skip_reason.starts_with("PutMetadata quota: account limit of 155 TPS"))
          << outcomes[i]->skip_reason;
      skipped.insert(batch.summaries[i].channel);
    }
  }
  return skipped;
}

TEST(IvsPublisher, PacesUnderTheAccountQuotaAndRotatesWhatItSkips) {
  AutoTransport transport;
  PublisherFixture f(IvsOptions{.account_tps = 155, .channel_tps = 5, .publish_concurrency = 1},
                     &transport);
  Batch batch = Batch::Numbered(2000);

  std::size_t published = 0;
  const auto first = PacedTick(f, batch, Start(), &published);
  // A burst of nine tenths of a second's quota (139), then 155 TPS for 10 s.
  EXPECT_GE(published, 1685u);
  EXPECT_LE(published, 1692u);
  EXPECT_EQ(first.size() + published, 2000u);
  EXPECT_EQ(transport.RequestCount(), published);

  // 50 s later the bucket is full again.
  const auto second = PacedTick(f, batch, Start() + 60s, &published);
  EXPECT_GE(published, 1685u);
  EXPECT_LE(published, 1692u);
  EXPECT_NE(first, second);
  // Those left out last minute go first this minute.
  for (const auto& channel : first) EXPECT_FALSE(second.contains(channel)) << channel;
}

TEST(IvsPublisher, ChannelQuotaSpacesCallsToOneChannel) {
  PublisherFixture f(IvsOptions{.account_tps = 0, .channel_tps = 5});
  for (int i = 0; i < 3; ++i) f.transport.PushResponse(204, "");
  Batch twice({Arn(1), Arn(1)});
  // With a deadline 100 ms away the second call has no slot (it needs 200 ms).
  auto outcomes = f.publisher->PublishAll(twice.items, Deadline(f.clock, Start() + 100ms));
  ASSERT_TRUE(outcomes[0].ok() && outcomes[1].ok());
  EXPECT_NE(outcomes[0]->published, outcomes[1]->published);
  const auto& skipped = outcomes[0]->published ? *outcomes[1] : *outcomes[0];
  EXPECT_TRUE(skipped.skip_reason.starts_with("PutMetadata quota: channel limit of 5 TPS"))
      << skipped.skip_reason;
  // Without a deadline it waits for the slot instead.
  f.clock.Advance(1s);
  const auto before = f.slept;
  EXPECT_TRUE(f.publisher->Publish(twice.summaries[0], "{}")->published);
  EXPECT_TRUE(f.publisher->Publish(twice.summaries[0], "{}")->published);
  EXPECT_EQ(f.slept - before, std::chrono::nanoseconds(200ms));
}

TEST(IvsPublisher, UnlimitedQuotasNeverWait) {
  AutoTransport transport;
  PublisherFixture f(IvsOptions{.account_tps = 0, .channel_tps = 0}, &transport);
  Batch batch = Batch::Numbered(300);
  auto outcomes = f.publisher->PublishAll(batch.items, Deadline(f.clock, Start() + 1s));
  for (const auto& o : outcomes) EXPECT_TRUE(o.ok() && o->published);
  EXPECT_EQ(f.slept, std::chrono::nanoseconds(0));
}

TEST(IvsPublisher, DeadlineStopsNewWork) {
  AutoTransport transport;
  PublisherFixture f(IvsOptions{.account_tps = 0, .publish_concurrency = 1}, &transport);
  transport.SetLatency(&f.clock, 1000ms);
  Batch batch = Batch::Numbered(20);
  auto outcomes = f.publisher->PublishAll(batch.items, Deadline(f.clock, Start() + 5s));
  std::size_t published = 0;
  for (const auto& o : outcomes) {
    ASSERT_TRUE(o.ok());
    if (o->published) {
      ++published;
    } else {
      EXPECT_EQ(o->skip_reason, kDeadlineReason);
    }
  }
  EXPECT_EQ(published, 5u);  // started at 0, 1, 2, 3 and 4 s
  EXPECT_EQ(transport.RequestCount(), 5u);
}

// Holds every call until `target` calls are in flight at once (or a
// timeout), and records the most seen together.
class BlockingTransport final : public aws::HttpTransport {
 public:
  explicit BlockingTransport(int target) : target_(target) {}
  Result<aws::HttpResponse> Send(const aws::HttpRequest& /*request*/) override {
    std::unique_lock lock(mu_);
    ++in_flight_;
    max_in_flight_ = std::max(max_in_flight_, in_flight_);
    cv_.notify_all();
    cv_.wait_for(lock, 2s, [this] { return max_in_flight_ >= target_; });
    --in_flight_;
    return aws::HttpResponse{204, {}, ""};
  }
  int MaxInFlight() const {
    std::lock_guard lock(mu_);
    return max_in_flight_;
  }

 private:
  const int target_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int in_flight_ = 0;
  int max_in_flight_ = 0;
};

TEST(IvsPublisher, CallsOverlapUpToTheConcurrency) {
  BlockingTransport transport(8);
  PublisherFixture f(IvsOptions{.account_tps = 0, .channel_tps = 0, .publish_concurrency = 8},
                     &transport);
  Batch batch = Batch::Numbered(32);
  auto outcomes = f.publisher->PublishAll(batch.items, Deadline(f.clock, std::nullopt));
  for (const auto& o : outcomes) EXPECT_TRUE(o.ok() && o->published);
  EXPECT_EQ(transport.MaxInFlight(), 8);
}

TEST(IvsPublisher, TwentyChannelsAtDefaultsGoOutAtOnce) {
  AutoTransport transport;
  PublisherFixture f(IvsOptions{}, &transport);
  transport.RecordTimes(&f.clock);
  Batch batch = Batch::Numbered(20);
  auto outcomes = f.publisher->PublishAll(batch.items, Deadline(f.clock, Start() + 54s));
  for (const auto& o : outcomes) EXPECT_TRUE(o.ok() && o->published);
  // 20 is far under the burst (139 of the 155 a second): nobody waits.
  EXPECT_EQ(f.slept, std::chrono::nanoseconds(0));
  const auto times = transport.times();
  ASSERT_EQ(times.size(), 20u);
  for (const WallTime t : times) EXPECT_EQ(t, Start());
}

TEST(IvsPublisher, PacesAtTheRateAfterTheBurst) {
  AutoTransport transport;
  // One call at a time, so the FakeClock advances by each wait alone.
  PublisherFixture f(IvsOptions{.publish_concurrency = 1}, &transport);
  transport.RecordTimes(&f.clock);
  Batch batch = Batch::Numbered(200);
  auto outcomes = f.publisher->PublishAll(batch.items, Deadline(f.clock, Start() + 54s));
  for (const auto& o : outcomes) EXPECT_TRUE(o.ok() && o->published);
  const auto times = transport.times();
  ASSERT_EQ(times.size(), 200u);
  // The burst: 139.5 tokens, so 139 calls at once.
  for (std::size_t i = 0; i < 139; ++i) EXPECT_EQ(times[i], Start()) << i;
  // The other 61 one every 1/155 s: with half a token left, the k-th after
  // the burst at (k - 0.5)/155 s (rounded up to the clock's tick).
  for (std::size_t k = 1; k <= 61; ++k) {
    const std::chrono::duration<double> due((static_cast<double>(k) - 0.5) / 155.0);
    const auto off = times[138 + k] - Start();
    EXPECT_GE(off, std::chrono::floor<std::chrono::microseconds>(due)) << k;
    EXPECT_LE(off, std::chrono::ceil<std::chrono::microseconds>(due) + 1us) << k;
  }
}

TEST(IvsPublisher, BurstOfOneSpacesEvenly) {
  AutoTransport transport;
  PublisherFixture f(IvsOptions{.account_tps = 10, .burst = 1.0, .publish_concurrency = 1},
                     &transport);
  transport.RecordTimes(&f.clock);
  Batch batch = Batch::Numbered(3);
  auto outcomes = f.publisher->PublishAll(batch.items, Deadline(f.clock, std::nullopt));
  EXPECT_EQ(transport.times(), (std::vector<WallTime>{Start(), Start() + 100ms, Start() + 200ms}));
}

// PutMetadata answers in script order: 's' accepted, 't' throttled.
class ScriptedTransport final : public aws::HttpTransport {
 public:
  explicit ScriptedTransport(std::string script) : script_(std::move(script)) {}
  Result<aws::HttpResponse> Send(const aws::HttpRequest& /*request*/) override {
    std::lock_guard lock(mu_);
    const char next = sent_ < script_.size() ? script_[sent_] : 's';
    ++sent_;
    if (next == 't') {
      return aws::HttpResponse{
          429, {{"x-amzn-ErrorType", "ThrottlingException"}}, R"({"message":"Rate exceeded"})"};
    }
    return aws::HttpResponse{204, {}, ""};
  }

 private:
  std::mutex mu_;
  const std::string script_;
  std::size_t sent_ = 0;
};

TEST(IvsPublisher, ThrottlingHalvesTheRateAndSuccessRestoresIt) {
  // A throttled attempt retried and accepted, then accepted calls.
  ScriptedTransport transport("t");
  PublisherFixture f(IvsOptions{}, &transport);
  const Summary s = MakeSummary(Arn(1));
  EXPECT_EQ(f.publisher->account_rate(), 155.0);
  ASSERT_TRUE(f.publisher->Publish(s, "{}")->published);
  EXPECT_EQ(f.publisher->account_rate(), 77.5);
  // Each accepted call adds 155/100 TPS: 50 take it back to 155.
  for (int i = 0; i < 49; ++i) {
    f.clock.Advance(1s);
    ASSERT_TRUE(f.publisher->Publish(s, "{}")->published);
  }
  EXPECT_LT(f.publisher->account_rate(), 155.0);
  EXPECT_GT(f.publisher->account_rate(), 150.0);
  f.clock.Advance(1s);
  ASSERT_TRUE(f.publisher->Publish(s, "{}")->published);
  EXPECT_EQ(f.publisher->account_rate(), 155.0);
  f.clock.Advance(1s);
  ASSERT_TRUE(f.publisher->Publish(s, "{}")->published);
  EXPECT_EQ(f.publisher->account_rate(), 155.0);  // never above the setting
}

TEST(IvsPublisher, BackedOffRatePacesTheNextCallsAndHasAFloor) {
  // Every call throttled once (then accepted): the rate halves each time,
  // down to 1 TPS and no lower.
  ScriptedTransport transport("tststststs");
  PublisherFixture f(IvsOptions{.account_tps = 8, .burst = 1.0, .publish_concurrency = 1},
                     &transport);
  const Summary s = MakeSummary(Arn(1));
  std::vector<double> rates;
  for (int i = 0; i < 5; ++i) {
    f.clock.Advance(10s);
    ASSERT_TRUE(f.publisher->Publish(s, "{}")->published);
    rates.push_back(f.publisher->account_rate());
  }
  EXPECT_EQ(rates, (std::vector<double>{4, 2, 1, 1, 1}));
  // At about 1 TPS the next two calls are about a second apart (the
  // first one accepted already adds 8/100 TPS back).
  f.clock.Advance(10s);
  const auto before = f.slept;
  Batch batch = Batch::Numbered(2);
  auto outcomes = f.publisher->PublishAll(batch.items, Deadline(f.clock, std::nullopt));
  for (const auto& o : outcomes) EXPECT_TRUE(o.ok() && o->published);
  EXPECT_GT(f.slept - before, std::chrono::nanoseconds(900ms));
  EXPECT_LE(f.slept - before, std::chrono::nanoseconds(1s));
}

// Holds every call until `target` calls are in flight, then throttles them
// all (one attempt each).
class ThrottleAllTogether final : public aws::HttpTransport {
 public:
  explicit ThrottleAllTogether(int target) : target_(target) {}
  Result<aws::HttpResponse> Send(const aws::HttpRequest& /*request*/) override {
    std::unique_lock lock(mu_);
    ++arrived_;
    cv_.notify_all();
    cv_.wait_for(lock, 2s, [this] { return arrived_ >= target_; });
    return aws::HttpResponse{429, {{"x-amzn-ErrorType", "ThrottlingException"}}, "{}"};
  }

 private:
  const int target_;
  std::mutex mu_;
  std::condition_variable cv_;
  int arrived_ = 0;
};

TEST(IvsPublisher, CallsThrottledTogetherHalveTheRateOnce) {
  ThrottleAllTogether transport(16);
  PublisherFixture f(IvsOptions{}, &transport, /*max_attempts=*/1);
  Batch batch = Batch::Numbered(16);
  auto outcomes = f.publisher->PublishAll(batch.items, Deadline(f.clock, std::nullopt));
  for (const auto& o : outcomes) {
    ASSERT_TRUE(o.ok());
    EXPECT_TRUE(o->skip_reason.starts_with(kThrottledReasonPrefix)) << o->skip_reason;
  }
  EXPECT_EQ(f.publisher->account_rate(), 77.5);
}

}  // namespace
}  // namespace headcount
