// IvsPublisher against the IVS emulator's own quota enforcement (the
// emulator's handler called in-process through an HttpTransport, on one
// FakeClock): what the publisher sends at its defaults is never throttled,
// and a burst bigger than IVS allows is throttled once, then paced. (Here
// nothing is late, so even a burst of the whole quota would pass; the
// default keeps a tenth back for the latency of a real network.)
#include <gtest/gtest.h>

#include <mutex>

#include "aws/aws_client.h"
#include "core/payload.h"
#include "core/strings.h"
#include "ivs/ivs_publisher.h"
#include "ivs/ivs_test_util.h"
#include "ivs_emulator/emulator.h"

namespace headcount {
namespace {

using namespace std::chrono_literals;

// Hands each request to the emulator as its HTTP server would, and counts
// the 429 answers. Thread-safe (the emulator is).
class EmulatorTransport final : public aws::HttpTransport {
 public:
  explicit EmulatorTransport(ivs_emulator::IvsEmulator& emulator) : emulator_(emulator) {}

  Result<aws::HttpResponse> Send(const aws::HttpRequest& request) override {
    HttpRequest in;
    in.method = request.method;
    const std::size_t scheme = request.url.find("://");
    const std::size_t path = request.url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
    in.path = path == std::string::npos ? "/" : request.url.substr(path);
    in.target = in.path;
    for (const auto& h : request.headers) in.headers[AsciiLower(h.name)] = h.value;
    in.client_address = "127.0.0.1";
    in.body = request.body;
    const HttpResponse out = emulator_.Handle(in);
    aws::HttpResponse answer{out.status, {}, out.body};
    for (const auto& [name, value] : out.headers) answer.headers.push_back({name, value});
    if (out.status == 429) {
      std::lock_guard lock(mu_);
      ++throttled_;
    }
    return answer;
  }
  int throttled() const {
    std::lock_guard lock(mu_);
    return throttled_;
  }

 private:
  ivs_emulator::IvsEmulator& emulator_;
  mutable std::mutex mu_;
  int throttled_ = 0;
};

struct EmulatorFixture {
  explicit EmulatorFixture(IvsOptions options, std::size_t channels) {
    ivs_emulator::EmulatorOptions emulator_options;  // quotas 155 and 5 TPS, as IVS
    emulator_options.channels.count = channels;
    emulator = std::make_unique<ivs_emulator::IvsEmulator>(emulator_options, clock);
    transport = std::make_unique<EmulatorTransport>(*emulator);
    aws::AwsClientOptions client_options;
    client_options.region = "us-west-2";
    client_options.endpoint = "http://127.0.0.1:4510";
    client_options.jitter_seed = 7;
    client_options.max_attempts = 3;
    const SleepFunction sleep = [this](std::chrono::nanoseconds d) { clock.Advance(d); };
    auto created = aws::AwsClient::Create(aws::kIvsService, client_options, credentials, *transport,
                                          clock, sleep);
    EXPECT_TRUE(created.ok());
    client = std::move(*created);
    publisher = std::make_unique<IvsPublisher>(*client, clock, std::move(options), sleep);
    for (const std::string& arn : emulator->ChannelArns()) {
      Summary s;
      s.channel = arn;
      s.at = std::chrono::floor<std::chrono::seconds>(clock.Now());
      s.counts = {1, 2, 3, 4, 5};
      summaries.push_back(s);
    }
    for (const Summary& s : summaries) payloads.push_back(EncodePayloadV1(s));
    for (std::size_t i = 0; i < summaries.size(); ++i) {
      items.push_back({&summaries[i], &payloads[i]});
    }
  }

  // One tick with the production deadline (nine tenths of a minute):
  // how many were published.
  std::size_t Tick() {
    const auto outcomes = publisher->PublishAll(items, Deadline(clock, clock.Now() + 54s));
    std::size_t published = 0;
    for (const auto& o : outcomes) published += o.ok() && o->published ? 1 : 0;
    return published;
  }

  FakeClock clock{ivs_testing::Start()};
  aws::StaticCredentialsProvider credentials{aws::Credentials("test", "test")};
  std::unique_ptr<ivs_emulator::IvsEmulator> emulator;
  std::unique_ptr<EmulatorTransport> transport;
  std::unique_ptr<aws::AwsClient> client;
  std::unique_ptr<IvsPublisher> publisher;
  std::vector<Summary> summaries;
  std::vector<std::string> payloads;
  std::vector<PublishItem> items;
};

TEST(IvsPublisherOnEmulator, DefaultsAreNeverThrottled) {
  // One call at a time so the FakeClock moves by the publisher's waits
  // alone: the emulator sees exactly the schedule the publisher booked.
  EmulatorFixture f(IvsOptions{.publish_concurrency = 1}, 400);
  for (int tick = 0; tick < 3; ++tick) {
    EXPECT_EQ(f.Tick(), 400u) << tick;
    f.clock.Advance(60s);
  }
  EXPECT_EQ(f.transport->throttled(), 0);
  EXPECT_EQ(f.publisher->account_rate(), 155.0);
  const auto accepted = f.emulator->Metadata();
  ASSERT_EQ(accepted.size(), 1200u);
  // Each tick: the burst (139) at once, the other 261 paced at 155 TPS.
  EXPECT_EQ(accepted[138].time, ivs_testing::Start());
  EXPECT_GT(accepted[139].time, ivs_testing::Start());
  EXPECT_NEAR(std::chrono::duration<double>(accepted[399].time - ivs_testing::Start()).count(),
              260.5 / 155.0, 0.01);
}

TEST(IvsPublisherOnEmulator, ABurstOverTheQuotaIsThrottledThenPaced) {
  // A burst of 300 against IVS's 155: the 156th call is throttled, the rate
  // halves and the saved-up burst is dropped, so the rest go at 77.5 TPS
  // (under the 155 IVS refills) instead of being throttled one by one.
  EmulatorFixture f(IvsOptions{.burst = 300.0, .publish_concurrency = 1}, 400);
  EXPECT_EQ(f.Tick(), 400u);
  EXPECT_GE(f.transport->throttled(), 1);
  EXPECT_LE(f.transport->throttled(), 2);
  // Accepted calls brought the rate back up (a hundredth of 155 each).
  EXPECT_EQ(f.publisher->account_rate(), 155.0);
}

}  // namespace
}  // namespace headcount
