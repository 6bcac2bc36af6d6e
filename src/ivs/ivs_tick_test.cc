// One core tick over the IVS adapters and an in-memory store, on scripted
// IVS answers: readings by ARN, -1 as a gap, PutMetadata per live channel.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "core/payload.h"
#include "core/testing/fakes.h"
#include "core/tick.h"
#include "ivs/ivs_publisher.h"
#include "ivs/ivs_source.h"
#include "ivs/ivs_test_util.h"

namespace headcount {
namespace {

using namespace std::chrono_literals;
using ivs_testing::Arn;
using json = nlohmann::json;

TEST(IvsTick, ReadsStoresAndPublishesEveryLiveChannel) {
  ivs_testing::ClientFixture f;
  const IvsOptions options{.max_unknown_retries = 0};
  IvsSource source(*f.client, f.clock, options);
  IvsPublisher publisher(*f.client, f.clock, options,
                         [&f](std::chrono::nanoseconds d) { f.clock.Advance(d); });
  testing::MemoryStore store;

  f.transport.PushResponse(
      200, json{{"streams",
                 {{{"channelArn", Arn(1)}, {"state", "LIVE"}, {"viewerCount", 12}},
                  {{"channelArn", Arn(2)}, {"state", "LIVE"}, {"viewerCount", -1}}}}}
               .dump());
  f.transport.PushResponse(204, "");
  f.transport.PushResponse(204, "");

  TickRunner runner(source, store, publisher, f.clock);
  const TickReport report = runner.Run(f.clock.Now(), {.deadline = f.clock.Now() + 50s});
  EXPECT_TRUE(report.ok()) << report.ToJson();
  EXPECT_EQ(report.seen, 2u);
  EXPECT_EQ(report.stored, 1u);  // -1 is a gap, not a sample
  EXPECT_EQ(report.published, 2u);
  ASSERT_EQ(store.rows.size(), 1u);
  EXPECT_EQ(store.rows.begin()->first.first, Arn(1));
  EXPECT_EQ(store.rows.begin()->second, 12);

  const auto requests = f.transport.requests();
  ASSERT_EQ(requests.size(), 3u);
  std::set<std::string> published;
  for (std::size_t i = 1; i < requests.size(); ++i) {
    EXPECT_EQ(requests[i].url, "https://ivs.us-west-2.amazonaws.com/PutMetadata");
    const json body = json::parse(requests[i].body);
    published.insert(body["channelArn"]);
    auto payload = DecodePayloadV1(body["metadata"].get<std::string>());
    ASSERT_TRUE(payload.ok()) << payload.error().ToString();
    EXPECT_EQ(payload->counts[kWindowBuckets - 1],
              body["channelArn"] == Arn(1) ? std::optional<std::int64_t>(12) : std::nullopt);
  }
  EXPECT_EQ(published, (std::set<std::string>{Arn(1), Arn(2)}));
}

}  // namespace
}  // namespace headcount
