// The samples table's wire format: number parsing, item encoding and the
// strict readers of Query and BatchWriteItem outputs.
#include "store/dynamo/dynamo_items.h"

#include <gtest/gtest.h>

#include <limits>

namespace headcount::dynamo {
namespace {

using nlohmann::json;

Seconds At(std::int64_t epoch) { return Seconds{std::chrono::seconds{epoch}}; }

json Item(std::string channel, std::int64_t time, std::int64_t count) {
  return {{"channel", {{"S", channel}}},
          {"time", {{"N", std::to_string(time)}}},
          {"count", {{"N", std::to_string(count)}}}};
}

TEST(IsValidTableName, FollowsDynamoDbsRule) {
  EXPECT_TRUE(IsValidTableName("headcount"));
  EXPECT_TRUE(IsValidTableName("a.b-c_D9"));
  EXPECT_TRUE(IsValidTableName(std::string(kMaxTableNameBytes, 't')));
  EXPECT_FALSE(IsValidTableName("ab"));
  EXPECT_FALSE(IsValidTableName(std::string(kMaxTableNameBytes + 1, 't')));
  EXPECT_FALSE(IsValidTableName("head count"));
  EXPECT_FALSE(IsValidTableName("head/count"));
}

TEST(ParseIntegerNumber, ReadsEveryFormOfAnInteger) {
  EXPECT_EQ(ParseIntegerNumber("0"), 0);
  EXPECT_EQ(ParseIntegerNumber("-0"), 0);
  EXPECT_EQ(ParseIntegerNumber("1700000000"), 1700000000);
  EXPECT_EQ(ParseIntegerNumber("-12"), -12);
  EXPECT_EQ(ParseIntegerNumber("+12"), 12);
  EXPECT_EQ(ParseIntegerNumber("12.000"), 12);
  EXPECT_EQ(ParseIntegerNumber("1.7E+9"), 1700000000);
  EXPECT_EQ(ParseIntegerNumber("17e8"), 1700000000);
  EXPECT_EQ(ParseIntegerNumber("1200E-2"), 12);
  EXPECT_EQ(ParseIntegerNumber("0.0E7"), 0);
  EXPECT_EQ(ParseIntegerNumber("9223372036854775807"), std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(ParseIntegerNumber("-9223372036854775808"), std::numeric_limits<std::int64_t>::min());
}

TEST(ParseIntegerNumber, RefusesWhatIsNotAnInt64) {
  for (const char* text : {"",
                           "-",
                           "abc",
                           "1.5",
                           "12E-2",
                           "1e",
                           "1e+",
                           "1x",
                           " 1",
                           "1 ",
                           "1..2",
                           "9223372036854775808",
                           "-9223372036854775809",
                           "1e19",
                           "1e99999",
                           ".",
                           "E5",
                           "0x10",
                           "NaN",
                           "Infinity"}) {
    EXPECT_EQ(ParseIntegerNumber(text), std::nullopt) << text;
  }
}

TEST(SampleItem, HoldsKeysCountAndExpiry) {
  const json item = SampleItem(Sample{"ch-1", At(1'700'000'040), 42}, std::chrono::hours{1});
  EXPECT_EQ(item, json::parse(R"({"channel":{"S":"ch-1"},"time":{"N":"1700000040"},
                                  "count":{"N":"42"},"expiresAt":{"N":"1700003640"}})"));
}

TEST(ReadSampleItem, AcceptsAWellFormedItem) {
  Result<Sample> s = ReadSampleItem(Item("a", 120, 7), "a", At(60), At(180));
  ASSERT_TRUE(s.ok()) << s.error().ToString();
  EXPECT_EQ(*s, (Sample{"a", At(120), 7}));
}

TEST(ReadSampleItem, RefusesMalformedItemsWithoutCrashing) {
  json missing_count = Item("a", 120, 7);
  missing_count.erase("count");
  json count_as_string = Item("a", 120, 7);
  count_as_string["count"] = {{"S", "7"}};
  json count_as_number = Item("a", 120, 7);
  count_as_number["count"] = 7;
  json two_types = Item("a", 120, 7);
  two_types["count"]["S"] = "7";
  json not_a_number = Item("a", 120, 7);
  not_a_number["time"] = {{"N", "soon"}};
  json fraction = Item("a", 120, 7);
  fraction["count"] = {{"N", "7.5"}};
  json n_not_string = Item("a", 120, 7);
  n_not_string["count"] = {{"N", 7}};
  json channel_number = Item("a", 120, 7);
  channel_number["channel"] = {{"N", "1"}};
  const std::pair<const char*, json> cases[] = {
      {"missing count", missing_count},
      {"count as S", count_as_string},
      {"count as bare JSON number", count_as_number},
      {"two types", two_types},
      {"time not a number", not_a_number},
      {"fractional count", fraction},
      {"N not a string", n_not_string},
      {"channel as N", channel_number},
      {"negative count", Item("a", 120, -1)},
      {"time before the range", Item("a", 0, 7)},
      {"time after the range", Item("a", 240, 7)},
      {"another channel", Item("b", 120, 7)},
      {"not an object", json::array({1, 2})},
      {"null", nullptr},
  };
  for (const auto& [name, item] : cases) {
    Result<Sample> s = ReadSampleItem(item, "a", At(60), At(180));
    ASSERT_FALSE(s.ok()) << name;
    EXPECT_EQ(s.error().code(), ErrorCode::kRejected) << name;
    EXPECT_NE(s.error().message().find("malformed DynamoDB response"), std::string::npos) << name;
  }
}

TEST(ReadQueryPage, NeedsAnItemsListAndAnObjectKey) {
  Result<QueryPage> ok = ReadQueryPage(json::parse(R"({"Items":[],"Count":0})"));
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok->last_evaluated.is_null());
  Result<QueryPage> more = ReadQueryPage(
      json::parse(R"({"Items":[],"LastEvaluatedKey":{"channel":{"S":"a"},"time":{"N":"1"}}})"));
  ASSERT_TRUE(more.ok());
  EXPECT_TRUE(more->last_evaluated.is_object());
  for (const char* bad : {R"({})", R"({"Items":{}})", R"({"Items":[],"LastEvaluatedKey":"x"})",
                          R"({"Items":[],"LastEvaluatedKey":{}})", R"([])"}) {
    Result<QueryPage> page = ReadQueryPage(json::parse(bad));
    ASSERT_FALSE(page.ok()) << bad;
    EXPECT_EQ(page.error().code(), ErrorCode::kRejected) << bad;
  }
}

TEST(UnprocessedPuts, ReadsTheTablesPutRequests) {
  const json put = {{"PutRequest", {{"Item", Item("a", 60, 1)}}}};
  Result<json> none = UnprocessedPuts(json::parse(R"({"UnprocessedItems":{}})"), "t", 1);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  Result<json> absent = UnprocessedPuts(json::object(), "t", 1);
  ASSERT_TRUE(absent.ok());
  EXPECT_TRUE(absent->empty());
  Result<json> one = UnprocessedPuts({{"UnprocessedItems", {{"t", json::array({put})}}}}, "t", 1);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(*one, json::array({put}));

  const json bad[] = {
      {{"UnprocessedItems", {{"other", json::array({put})}}}},
      {{"UnprocessedItems", {{"t", put}}}},
      {{"UnprocessedItems",
        {{"t", json::array({{{"DeleteRequest", {{"Key", json::object()}}}}})}}}},
      {{"UnprocessedItems", "t"}},
      {{"UnprocessedItems", {{"t", json::array({put, put})}}}},  // more than were sent
  };
  for (const json& output : bad) {
    Result<json> r = UnprocessedPuts(output, "t", 1);
    ASSERT_FALSE(r.ok()) << output.dump();
    EXPECT_EQ(r.error().code(), ErrorCode::kRejected);
  }
}

TEST(CheckKeySchema, AcceptsOursRefusesOthers) {
  const json ours = CreateTableInput("t");
  EXPECT_TRUE(CheckKeySchema(ours, "t").ok());
  json swapped = ours;
  swapped["KeySchema"][0]["KeyType"] = "RANGE";
  swapped["KeySchema"][1]["KeyType"] = "HASH";
  json string_time = ours;
  string_time["AttributeDefinitions"][1]["AttributeType"] = "S";
  json weird = ours;
  weird["KeySchema"] = {{{"AttributeName", 5}}};
  for (const json& other : {swapped, string_time, weird, json::object()}) {
    Status s = CheckKeySchema(other, "t");
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code(), ErrorCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace headcount::dynamo
