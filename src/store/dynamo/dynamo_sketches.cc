// DynamoStore as a DistinctStore: one item per channel, UTC hour and viewer
// table in the samples' table, under a partition key no channel id can have
// ("\x1f" "distinct" "\x1f" <table> "\x1f" <channel>: IsStorableChannelId
// allows printable ASCII only), so samples' Queries never meet them.
// Merged by optimistic concurrency: read (consistent), merge, put on the
// condition that the item is still what was read; a lost race reads again.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <string>
#include <tuple>

#include "core/base64.h"
#include "core/parallel.h"
#include "store/dynamo/dynamo_items.h"
#include "store/dynamo/dynamo_store.h"

namespace headcount {
namespace {

constexpr std::string_view kSketchAttribute = "sketch";  // B
constexpr std::string_view kExpiresAttribute = "expiresAt";
constexpr std::uint8_t kViewerTables = 3;  // ViewerSink::Kind's
// Rounds of read, merge and conditional put per sketch before giving up:
// each lost round means another node merged the same hour meanwhile.
constexpr int kMaxMergeRounds = 32;

// Not printable: no channel id holds it.
constexpr char kSeparator = '\x1f';

std::string SketchPartition(std::uint8_t table, const ChannelId& channel) {
  std::string key(1, kSeparator);
  key += "distinct";
  key += kSeparator;
  key += std::to_string(table);
  key += kSeparator;
  return key + channel;
}

nlohmann::json SketchKey(std::uint8_t table, const ChannelId& channel, Seconds hour) {
  return {{dynamo::kChannelAttribute, {{"S", SketchPartition(table, channel)}}},
          {dynamo::kTimeAttribute, {{"N", std::to_string(hour.time_since_epoch().count())}}}};
}

// The sketch of an item's attribute, or kRejected naming what is wrong.
Result<HyperLogLog> ReadSketch(const nlohmann::json& item) {
  const auto attr = item.find(kSketchAttribute);
  if (attr == item.end() || !attr->is_object() || !attr->contains("B") ||
      !(*attr)["B"].is_string()) {
    return Error::Rejected("a distinct viewers' item without a binary sketch");
  }
  Result<std::string> bytes = Base64Decode((*attr)["B"].get<std::string>());
  if (!bytes.ok()) return Error::Rejected("a sketch that is not base64");
  Result<HyperLogLog> sketch = HyperLogLog::Deserialize(*bytes);
  if (!sketch.ok()) return Error::Rejected("a stored sketch: " + sketch.error().message());
  return sketch;
}

}  // namespace

Status DynamoStore::MergeSketches(std::span<const HourSketch> sketches) {
  for (const HourSketch& in : sketches) {
    if (!IsStorableChannelId(in.channel)) {
      return Error::InvalidArgument("dynamodb MergeSketches: invalid channel id");
    }
  }
  const WallTime deadline = CallDeadline();
  std::vector<Status> results(sketches.size());
  ParallelFor(sketches.size(), options_.concurrency,
              [&](std::size_t i) { results[i] = MergeSketch(sketches[i], deadline); });
  std::size_t failed = 0;
  const Status* first = nullptr;
  for (const Status& st : results) {
    if (st.ok()) continue;
    ++failed;
    if (first == nullptr) first = &st;
  }
  if (first == nullptr) return {};
  return Error(first->error().code(),
               std::to_string(failed) + " of " + std::to_string(sketches.size()) +
                   " sketches not merged; the first: " + first->error().message());
}

Status DynamoStore::MergeSketch(const HourSketch& in, WallTime deadline) {
  const std::string context = "MergeSketches of channel " + in.channel;
  const nlohmann::json key = SketchKey(in.table, in.channel, in.hour);
  for (int round = 0; round < kMaxMergeRounds; ++round) {
    Result<nlohmann::json> got = client_.Call(
        "GetItem", {{"TableName", options_.table}, {"Key", key}, {"ConsistentRead", true}},
        deadline);
    if (!got.ok()) return dynamo::WithContext(got.error(), context);
    HyperLogLog sketch = in.sketch;
    nlohmann::json put = {{"TableName", options_.table}};
    const auto stored = got->find("Item");
    if (stored != got->end() && stored->is_object()) {
      Result<HyperLogLog> old = ReadSketch(*stored);
      // One that cannot be read is replaced rather than failing every merge of its hour.
      if (old.ok()) sketch.Merge(*old);
      put["ConditionExpression"] = "#s = :old";
      put["ExpressionAttributeNames"] = {{"#s", kSketchAttribute}};
      put["ExpressionAttributeValues"] = {{":old", (*stored)[kSketchAttribute]}};
    } else {
      put["ConditionExpression"] = "attribute_not_exists(#c)";
      put["ExpressionAttributeNames"] = {{"#c", dynamo::kChannelAttribute}};
    }
    nlohmann::json item = key;
    item[kSketchAttribute] = {{"B", Base64Encode(sketch.Serialize())}};
    // Kept as long as the samples of its last minute.
    const auto expires = in.hour + std::chrono::hours(1) + options_.retention;
    item[kExpiresAttribute] = {{"N", std::to_string(expires.time_since_epoch().count())}};
    put["Item"] = std::move(item);
    aws::AwsError aws_error;
    Result<nlohmann::json> written = client_.Call("PutItem", put, deadline, &aws_error);
    if (written.ok()) return {};
    if (aws_error.code != "ConditionalCheckFailedException") {
      return dynamo::WithContext(written.error(), context);
    }
  }
  return Error::Unavailable(context + ": another writer changed it " +
                            std::to_string(kMaxMergeRounds) + " times in a row");
}

Result<std::vector<HourSketch>> DynamoStore::Sketches(const ChannelId& channel, Seconds from,
                                                      Seconds to) {
  std::vector<HourSketch> out;
  if (!IsStorableChannelId(channel) || from > to) return out;
  const WallTime deadline = CallDeadline();
  for (std::uint8_t table = 0; table < kViewerTables; ++table) {
    const std::string context = "Sketches of channel " + channel;
    // A channel's hours of one table: 24 a day, 4 KiB at most each, so a
    // year is a few pages; followed to the last.
    nlohmann::json start_key;
    do {
      nlohmann::json input = {
          {"TableName", options_.table},
          {"KeyConditionExpression", "#c = :c AND #t BETWEEN :from AND :to"},
          {"ExpressionAttributeNames",
           {{"#c", dynamo::kChannelAttribute}, {"#t", dynamo::kTimeAttribute}}},
          {"ExpressionAttributeValues",
           {{":c", {{"S", SketchPartition(table, channel)}}},
            {":from", {{"N", std::to_string(from.time_since_epoch().count())}}},
            {":to", {{"N", std::to_string(to.time_since_epoch().count())}}}}},
          {"ConsistentRead", options_.consistent_read},
      };
      if (!start_key.is_null()) input["ExclusiveStartKey"] = start_key;
      Result<nlohmann::json> output = client_.Call("Query", input, deadline);
      if (!output.ok()) return dynamo::WithContext(output.error(), context);
      Result<dynamo::QueryPage> page = dynamo::ReadQueryPage(*output);
      if (!page.ok()) return dynamo::WithContext(page.error(), context);
      for (const nlohmann::json& item : page->items) {
        const auto time = item.find(dynamo::kTimeAttribute);
        std::optional<std::int64_t> hour;
        if (time != item.end() && time->contains("N") && (*time)["N"].is_string()) {
          hour = dynamo::ParseIntegerNumber((*time)["N"].get<std::string>());
        }
        Result<HyperLogLog> sketch = ReadSketch(item);
        if (!hour || !sketch.ok()) {
          return Error::Io(context + ": " +
                           (sketch.ok() ? "an item without its hour" : sketch.error().message()));
        }
        out.push_back(
            {channel, Seconds{std::chrono::seconds{*hour}}, table, std::move(sketch).value()});
      }
      start_key = std::move(page->last_evaluated);
    } while (!start_key.is_null());
  }
  std::stable_sort(out.begin(), out.end(), [](const HourSketch& a, const HourSketch& b) {
    return std::tie(a.hour, a.table) < std::tie(b.hour, b.table);
  });
  return out;
}

Result<std::vector<AudienceSummary>> DynamoStore::Audience(const ChannelId& channel, Seconds from,
                                                           Seconds to, AudiencePeriod period) {
  Result<std::vector<AudienceSummary>> out = HistoryReader::Audience(channel, from, to, period);
  if (!out.ok() || out->empty()) return out;
  auto sketches = Sketches(channel, std::chrono::floor<std::chrono::hours>(from), to);
  if (!sketches.ok()) return sketches.error();
  AddDistinct(*out, *sketches, period);
  return out;
}

}  // namespace headcount
