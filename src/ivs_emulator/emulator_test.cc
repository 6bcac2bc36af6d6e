#include "ivs_emulator/emulator.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "core/strings.h"
#include "ivs_emulator/testing/signed_request.h"

namespace headcount::ivs_emulator {
namespace {

using nlohmann::json;
using testing::SignedRequest;
using testing::TestApiRequest;

const WallTime kNow =
    std::chrono::sys_days{std::chrono::year{2026} / 11 / 25} + std::chrono::hours{12};

std::string Header(const HttpResponse& r, std::string_view name) {
  for (const auto& [n, v] : r.headers) {
    if (EqualsIgnoreCase(n, name)) return v;
  }
  return "";
}

class EmulatorTest : public ::testing::Test {
 protected:
  static constexpr std::size_t kChannels = 250;
  static constexpr std::size_t kLive = 200;

  static EmulatorOptions Options() {
    EmulatorOptions o;
    o.channels.count = kChannels;
    o.channels.viewers = *ViewerModel::Parse("fixed:10");
    o.channels.offline_fraction = 0.2;
    o.channels.seed = 7;
    return o;
  }

  explicit EmulatorTest(EmulatorOptions options = Options())
      : clock_(kNow), emulator_(std::move(options), clock_) {}

  HttpResponse Call(const std::string& operation, const json& body) {
    return emulator_.Handle(SignedRequest(operation, body.dump(), clock_.Now()));
  }
  json CallJson(const std::string& operation, const json& body, int want_status = 200) {
    const HttpResponse r = Call(operation, body);
    EXPECT_EQ(r.status, want_status) << operation << " " << body.dump() << " -> " << r.body;
    return r.body.empty() ? json() : json::parse(r.body);
  }
  // Expects an IVS error and returns its message.
  std::string ExpectError(const std::string& operation, const json& body, int status,
                          const std::string& type) {
    const HttpResponse r = Call(operation, body);
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(Header(r, "x-amzn-ErrorType"), type) << r.body;
    EXPECT_EQ(r.content_type, "application/json");
    const json j = json::parse(r.body);
    EXPECT_EQ(j.value("exceptionMessage", ""), j.value("message", "-"));
    return j.value("message", "");
  }
  json TestApi(const std::string& method, const std::string& path, const std::string& body = {}) {
    const HttpResponse r = emulator_.Handle(TestApiRequest(method, path, body));
    EXPECT_EQ(r.status, 200) << path << " -> " << r.body;
    return json::parse(r.body);
  }
  std::string ArnWhere(bool live) {
    for (const auto& c : TestApi("GET", "/_emulator/channels")) {
      if ((c["state"] == "LIVE") == live) return c["arn"];
    }
    return "";
  }

  FakeClock clock_;
  IvsEmulator emulator_;
};

TEST_F(EmulatorTest, ListChannelsPaginatesOverEveryChannelExactlyOnce) {
  std::vector<std::string> seen;
  json request = {{"maxResults", 100}};
  int pages = 0;
  while (true) {
    const json page = CallJson("ListChannels", request);
    ++pages;
    for (const auto& c : page["channels"]) {
      seen.push_back(c["arn"]);
      for (const char* field :
           {"arn", "name", "latencyMode", "authorized", "recordingConfigurationArn", "tags",
            "insecureIngest", "type", "preset", "playbackRestrictionPolicyArn"}) {
        EXPECT_TRUE(c.contains(field)) << field;
      }
    }
    if (!page.contains("nextToken")) break;
    request["nextToken"] = page["nextToken"];
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, emulator_.ChannelArns());
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), kChannels);
  // Default page size: 100.
  EXPECT_EQ(CallJson("ListChannels", json::object())["channels"].size(), 100u);
}

TEST_F(EmulatorTest, ListChannelsFiltersByNameAndFiltersAreExclusive) {
  const json page = CallJson("ListChannels", {{"filterByName", "channel-00042"}});
  ASSERT_EQ(page["channels"].size(), 1u);
  EXPECT_EQ(page["channels"][0]["name"], "channel-00042");
  EXPECT_FALSE(page.contains("nextToken"));
  const json none = CallJson(
      "ListChannels",
      {{"filterByRecordingConfigurationArn", "arn:aws:ivs:us-west-2:1:recording-configuration/x"}});
  EXPECT_TRUE(none["channels"].empty());
  ExpectError(
      "ListChannels",
      {{"filterByName", "a"},
       {"filterByRecordingConfigurationArn", "arn:aws:ivs:us-west-2:1:recording-configuration/x"}},
      409, "ConflictException");
}

TEST_F(EmulatorTest, ListStreamsReturnsEveryLiveChannelOnceWithTheModelShape) {
  std::set<std::string> seen;
  json request = {{"maxResults", 30}};
  while (true) {
    const json page = CallJson("ListStreams", request);
    for (const auto& s : page["streams"]) {
      EXPECT_TRUE(seen.insert(s["channelArn"].get<std::string>()).second);
      EXPECT_EQ(s["state"], "LIVE");
      EXPECT_EQ(s["health"], "HEALTHY");
      EXPECT_EQ(s["viewerCount"], 10);
      EXPECT_EQ(s["streamId"].get<std::string>().size(), 26u);
      EXPECT_EQ(s["streamId"].get<std::string>().rfind("st-", 0), 0u);
      EXPECT_TRUE(s["startTime"].is_string());
      EXPECT_EQ(s["startTime"].get<std::string>().back(), 'Z');
    }
    if (!page.contains("nextToken")) break;
    request["nextToken"] = page["nextToken"];
  }
  EXPECT_EQ(seen.size(), kLive);
}

TEST_F(EmulatorTest, ListStreamsFiltersByHealth) {
  const json channels = TestApi("GET", "/_emulator/channels");
  std::string id;
  for (const auto& c : channels) {
    if (c["state"] == "LIVE") {
      id = c["id"];
      break;
    }
  }
  TestApi("POST", "/_emulator/channels/" + id, R"({"health":"STARVING"})");
  const json page = CallJson("ListStreams", {{"filterBy", {{"health", "STARVING"}}}});
  ASSERT_EQ(page["streams"].size(), 1u);
  EXPECT_EQ(page["streams"][0]["health"], "STARVING");
  EXPECT_EQ(CallJson("ListStreams", {{"filterBy", {{"health", "HEALTHY"}}}})["streams"].size(),
            100u);
  ExpectError("ListStreams", {{"filterBy", {{"health", "GREAT"}}}}, 400, "ValidationException");
}

TEST_F(EmulatorTest, GetStreamAnswersLiveOfflineAndUnknownChannels) {
  const std::string live = ArnWhere(true);
  const json stream = CallJson("GetStream", {{"channelArn", live}})["stream"];
  EXPECT_EQ(stream["channelArn"], live);
  EXPECT_EQ(stream["state"], "LIVE");
  EXPECT_EQ(stream["viewerCount"], 10);
  for (const char* field : {"streamId", "playbackUrl", "startTime", "health"}) {
    EXPECT_TRUE(stream.contains(field)) << field;
  }
  ExpectError("GetStream", {{"channelArn", ArnWhere(false)}}, 404, "ChannelNotBroadcasting");
  ExpectError("GetStream", {{"channelArn", "arn:aws:ivs:us-west-2:123456789012:channel/nope"}}, 404,
              "ResourceNotFoundException");
  const std::string bad =
      ExpectError("GetStream", {{"channelArn", "channel/x"}}, 400, "ValidationException");
  EXPECT_EQ(bad,
            "1 validation error detected: Value 'channel/x' at 'channelArn' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: "
            "^arn:aws:ivs:[a-z0-9-]+:[0-9]+:channel/[a-zA-Z0-9-]+$");
  EXPECT_EQ(ExpectError("GetStream", json::object(), 400, "ValidationException"),
            "1 validation error detected: Value null at 'channelArn' failed to satisfy "
            "constraint: Member must not be null");
}

TEST_F(EmulatorTest, PutMetadataRecordsAcceptedCallsAndRejectsWhatIvsRejects) {
  const std::string live = ArnWhere(true);
  const HttpResponse ok = Call("PutMetadata", {{"channelArn", live}, {"metadata", "hello"}});
  EXPECT_EQ(ok.status, 204);
  EXPECT_TRUE(ok.body.empty());
  EXPECT_FALSE(Header(ok, "x-amzn-RequestId").empty());
  EXPECT_EQ(
      Call("PutMetadata", {{"channelArn", live}, {"metadata", std::string(1024, 'x')}}).status,
      204);
  const std::string too_big =
      ExpectError("PutMetadata", {{"channelArn", live}, {"metadata", std::string(1025, 'x')}}, 400,
                  "ValidationException");
  EXPECT_NE(too_big.find("1024"), std::string::npos);
  EXPECT_EQ(too_big.find("xxxx"), std::string::npos);  // metadata is sensitive: not echoed
  // 1 KB is bytes, not characters: 342 three-byte characters are 1026 bytes.
  std::string wide;
  for (int i = 0; i < 342; ++i) wide += "\xE3\x81\x82";
  ExpectError("PutMetadata", {{"channelArn", live}, {"metadata", wide}}, 400,
              "ValidationException");
  ExpectError("PutMetadata", {{"channelArn", live}, {"metadata", ""}}, 400, "ValidationException");
  ExpectError("PutMetadata", {{"channelArn", live}}, 400, "ValidationException");
  ExpectError("PutMetadata", {{"channelArn", live}, {"metadata", 5}}, 400, "ValidationException");
  ExpectError("PutMetadata", {{"channelArn", ArnWhere(false)}, {"metadata", "x"}}, 404,
              "ChannelNotBroadcasting");
  ExpectError(
      "PutMetadata",
      {{"channelArn", "arn:aws:ivs:us-west-2:123456789012:channel/nope"}, {"metadata", "x"}}, 404,
      "ResourceNotFoundException");

  const json log = TestApi("GET", "/_emulator/metadata?channelArn=" + PercentEncode(live));
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0]["metadata"], "hello");  // newest last
  EXPECT_EQ(log[0]["channelArn"], live);
  EXPECT_EQ(log[0]["time"], "2026-11-25T12:00:00.000Z");
  EXPECT_EQ(emulator_.Metadata().size(), 2u);
}

TEST_F(EmulatorTest, PutMetadataPerChannelQuotaRefillsWithTheClock) {
  const std::string live = ArnWhere(true);
  const json body = {{"channelArn", live}, {"metadata", "m"}};
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Call("PutMetadata", body).status, 204) << i;
  ExpectError("PutMetadata", body, 429, "ThrottlingException");
  clock_.Advance(std::chrono::milliseconds(200));  // 5/s: one more token
  EXPECT_EQ(Call("PutMetadata", body).status, 204);
  ExpectError("PutMetadata", body, 429, "ThrottlingException");
  EXPECT_EQ(TestApi("GET", "/_emulator/stats")["throttled"], 2);
  EXPECT_EQ(emulator_.Metadata(live).size(), 6u);
}

TEST_F(EmulatorTest, PutMetadataPerAccountQuota) {
  std::vector<std::string> live;
  for (const auto& c : TestApi("GET", "/_emulator/channels")) {
    if (c["state"] == "LIVE") live.push_back(c["arn"]);
  }
  ASSERT_GE(live.size(), 156u);
  for (int i = 0; i < 155; ++i) {
    EXPECT_EQ(Call("PutMetadata", {{"channelArn", live[i]}, {"metadata", "m"}}).status, 204) << i;
  }
  const std::string message = ExpectError(
      "PutMetadata", {{"channelArn", live[155]}, {"metadata", "m"}}, 429, "ThrottlingException");
  EXPECT_NE(message.find("per account"), std::string::npos);
  clock_.Advance(std::chrono::seconds(1));
  EXPECT_EQ(Call("PutMetadata", {{"channelArn", live[155]}, {"metadata", "m"}}).status, 204);
}

TEST_F(EmulatorTest, ValidatesTypesRangesAndTokensAndIgnoresUnknownFields) {
  ExpectError("ListStreams", {{"maxResults", 0}}, 400, "ValidationException");
  EXPECT_EQ(ExpectError("ListStreams", {{"maxResults", 101}}, 400, "ValidationException"),
            "1 validation error detected: Value '101' at 'maxResults' failed to satisfy "
            "constraint: Member must have value less than or equal to 100");
  ExpectError("ListChannels", {{"maxResults", "10"}}, 400, "ValidationException");
  ExpectError("ListChannels", {{"nextToken", "not a token!"}}, 400, "ValidationException");
  ExpectError("ListChannels", {{"nextToken", "v1-ListStreams-5"}}, 400, "ValidationException");
  ExpectError("ListStreams", {{"nextToken", std::string(1025, 'a')}}, 400, "ValidationException");
  EXPECT_EQ(ExpectError("ListStreams", {{"maxResults", 0}, {"nextToken", "!"}}, 400,
                        "ValidationException")
                .rfind("2 validation errors detected: ", 0),
            0u);
  EXPECT_EQ(CallJson("ListStreams", {{"maxResults", 5}, {"somethingNew", true}})["streams"].size(),
            5u);
  EXPECT_EQ(CallJson("ListStreams", {{"maxResults", nullptr}})["streams"].size(), 100u);

  const HttpResponse garbage = emulator_.Handle(SignedRequest("ListStreams", "{not json", kNow));
  EXPECT_EQ(garbage.status, 400);
  EXPECT_EQ(Header(garbage, "x-amzn-ErrorType"), "SerializationException");
  const HttpResponse empty = emulator_.Handle(SignedRequest("ListStreams", "", kNow));
  EXPECT_EQ(empty.status, 200);
}

TEST_F(EmulatorTest, RejectsUnsignedAndBadlySignedRequests) {
  HttpRequest unsigned_request = SignedRequest("ListStreams", "{}", kNow);
  unsigned_request.headers.erase("authorization");
  const HttpResponse missing = emulator_.Handle(unsigned_request);
  EXPECT_EQ(missing.status, 403);
  EXPECT_EQ(Header(missing, "x-amzn-ErrorType"), "MissingAuthenticationTokenException");
  EXPECT_EQ(json::parse(missing.body)["message"], "Missing Authentication Token");

  testing::SignOptions wrong;
  wrong.secret_access_key = "wrong";
  const HttpResponse bad = emulator_.Handle(SignedRequest("ListStreams", "{}", kNow, wrong));
  EXPECT_EQ(bad.status, 403);
  EXPECT_EQ(Header(bad, "x-amzn-ErrorType"), "InvalidSignatureException");

  clock_.Advance(std::chrono::minutes(20));
  const HttpResponse stale = emulator_.Handle(SignedRequest("ListStreams", "{}", kNow));
  EXPECT_EQ(stale.status, 403);
  EXPECT_EQ(Header(stale, "x-amzn-ErrorType"), "InvalidSignatureException");
  EXPECT_EQ(TestApi("GET", "/_emulator/stats")["authFailures"], 3);
}

TEST_F(EmulatorTest, UnknownOperationsAndMethods) {
  const HttpResponse other = Call("CreateChannel", json::object());
  EXPECT_EQ(other.status, 404);
  EXPECT_EQ(Header(other, "x-amzn-ErrorType"), "UnknownOperationException");
  HttpRequest get = SignedRequest("ListStreams", "", kNow);
  get.method = "GET";  // also breaks the signature; refused either way
  EXPECT_EQ(emulator_.Handle(get).status, 403);
}

TEST_F(EmulatorTest, TestApiSetsChannelsCountsAndResets) {
  const std::string live = ArnWhere(true);
  const std::string id = live.substr(live.rfind('/') + 1);
  TestApi("POST", "/_emulator/channels/" + id, R"({"viewers": -1})");
  EXPECT_EQ(CallJson("GetStream", {{"channelArn", live}})["stream"]["viewerCount"], -1);
  TestApi("POST", "/_emulator/channels/" + id, R"({"state": "OFFLINE"})");
  ExpectError("GetStream", {{"channelArn", live}}, 404, "ChannelNotBroadcasting");
  const json back =
      TestApi("POST", "/_emulator/channels/" + id, R"({"state":"LIVE","viewers":null})");
  EXPECT_EQ(back["viewerCount"], 10);
  EXPECT_EQ(Call("PutMetadata", {{"channelArn", live}, {"metadata", "x"}}).status, 204);

  const json stats = TestApi("GET", "/_emulator/stats");
  EXPECT_EQ(stats["operations"]["GetStream"]["requests"], 2);
  EXPECT_EQ(stats["operations"]["GetStream"]["errors"], 1);
  EXPECT_EQ(stats["operations"]["PutMetadata"]["requests"], 1);
  EXPECT_EQ(stats["metadataLogSize"], 1);

  TestApi("POST", "/_emulator/reset");
  EXPECT_TRUE(TestApi("GET", "/_emulator/metadata").empty());
  EXPECT_TRUE(TestApi("GET", "/_emulator/stats")["operations"].empty());

  EXPECT_EQ(emulator_.Handle(TestApiRequest("POST", "/_emulator/channels/nope", "{}")).status, 404);
  EXPECT_EQ(emulator_.Handle(TestApiRequest("POST", "/_emulator/channels/" + id, R"({"state":1})"))
                .status,
            400);
  HttpRequest remote = TestApiRequest("GET", "/_emulator/stats");
  remote.client_address = "10.0.0.8";
  EXPECT_EQ(emulator_.Handle(remote).status, 403);
}

TEST_F(EmulatorTest, TestApiSetsTagsThatListChannelsReturns) {
  const std::string arn = ArnWhere(true);
  const std::string id = arn.substr(arn.rfind('/') + 1);
  const json set = TestApi("POST", "/_emulator/channels/" + id, R"({"tags":{"team":"blue"}})");
  EXPECT_EQ(set["tags"], json({{"team", "blue"}}));
  int tagged = 0;
  json request = {{"maxResults", 100}};
  for (bool more = true; more;) {
    const json page = CallJson("ListChannels", request);
    for (const auto& c : page["channels"]) {
      if (c["arn"] == arn) {
        EXPECT_EQ(c["tags"], json({{"team", "blue"}}));
        ++tagged;
      } else {
        EXPECT_EQ(c["tags"], json::object());
      }
    }
    more = page.contains("nextToken");
    if (more) request["nextToken"] = page["nextToken"];
  }
  EXPECT_EQ(tagged, 1);
  for (const char* bad :
       {R"({"tags":{"team":1}})", R"({"tags":["team"]})", R"({"tags":{"":"x"}})"}) {
    EXPECT_EQ(emulator_.Handle(TestApiRequest("POST", "/_emulator/channels/" + id, bad)).status,
              400)
        << bad;
  }
  // A refused change changes nothing; {} clears the tags.
  EXPECT_EQ(TestApi("GET", "/_emulator/channels")[0].contains("tags"), true);
  EXPECT_EQ(TestApi("POST", "/_emulator/channels/" + id, R"({"tags":{}})")["tags"], json::object());
}

class SmallLogEmulatorTest : public EmulatorTest {
 protected:
  static EmulatorOptions SmallLog() {
    EmulatorOptions o = Options();
    o.metadata_log_capacity = 3;
    o.put_metadata_tps_per_channel = 0;
    o.put_metadata_tps_per_account = 0;
    return o;
  }
  SmallLogEmulatorTest() : EmulatorTest(SmallLog()) {}
};

TEST_F(SmallLogEmulatorTest, MetadataLogKeepsTheNewestAndQuotasCanBeDisabled) {
  const std::string live = ArnWhere(true);
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(Call("PutMetadata", {{"channelArn", live}, {"metadata", std::to_string(i)}}).status,
              204);
  }
  const json log = TestApi("GET", "/_emulator/metadata");
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[0]["metadata"], "47");
  EXPECT_EQ(log[2]["metadata"], "49");
  EXPECT_EQ(TestApi("GET", "/_emulator/stats")["metadataDropped"], 47);
}

TEST_F(SmallLogEmulatorTest, ConcurrentCallsAreAllCounted) {
  const std::string live = ArnWhere(true);
  constexpr int kThreads = 4;
  constexpr int kCallsPerThread = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kCallsPerThread; ++i) {
        (void)Call("PutMetadata", {{"channelArn", live}, {"metadata", "m"}});
        (void)Call("ListStreams", json::object());
      }
    });
  }
  for (auto& t : threads) t.join();
  const json stats = TestApi("GET", "/_emulator/stats");
  EXPECT_EQ(stats["operations"]["PutMetadata"]["requests"], kThreads * kCallsPerThread);
  EXPECT_EQ(stats["operations"]["ListStreams"]["requests"], kThreads * kCallsPerThread);
}

TEST(EmulatorOptionsTest, Validate) {
  EXPECT_TRUE(EmulatorOptions().Validate().ok());
  EmulatorOptions o;
  o.channels.region = "US West";
  EXPECT_FALSE(o.Validate().ok());
  o = {};
  o.channels.account_id = "abc";
  EXPECT_FALSE(o.Validate().ok());
  o = {};
  o.put_metadata_tps_per_account = -1;
  EXPECT_FALSE(o.Validate().ok());
  o = {};
  o.secret_access_key.clear();
  EXPECT_FALSE(o.Validate().ok());
}

}  // namespace
}  // namespace headcount::ivs_emulator
