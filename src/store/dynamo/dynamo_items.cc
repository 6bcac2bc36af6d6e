// DynamoDB wire format of the samples table. Pure functions: thread-safe.
#include "store/dynamo/dynamo_items.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "core/strings.h"

namespace headcount::dynamo {
namespace {

// Longest exponent ParseIntegerNumber reads: anything larger is out of
// int64 range (or zero digits), and bounding it bounds the work.
constexpr std::size_t kMaxExponentDigits = 4;
// Digits of the largest int64 (9223372036854775807).
constexpr int kInt64Digits = 19;

// Placeholders for the attribute names in expressions.
constexpr std::string_view kKeyCondition = "#c = :c AND #t BETWEEN :from AND :to";
constexpr std::string_view kChannelCondition = "#c = :c";
constexpr std::string_view kRangeProjection = "#c, #t, #n";
constexpr std::string_view kKeyProjection = "#c, #t";

std::string EpochText(Seconds t) { return std::to_string(t.time_since_epoch().count()); }

nlohmann::json NumberValue(std::int64_t n) { return {{"N", std::to_string(n)}}; }
nlohmann::json StringValue(std::string_view s) { return {{"S", s}}; }

// `object`'s member `name` when it is a string, else "" (never throws).
std::string StringMember(const nlohmann::json& object, std::string_view name) {
  const auto member = object.find(name);
  return member != object.end() && member->is_string() ? member->get<std::string>() : "";
}

Error Malformed(std::string what) {
  return Error::Rejected("malformed DynamoDB response: " + std::move(what));
}

// The value of `item`'s attribute `name` of type `type` ("S" or "N").
Result<std::string> TypedAttribute(const nlohmann::json& item, std::string_view name,
                                   std::string_view type) {
  const auto attribute = item.find(name);
  if (attribute == item.end()) return Malformed("item has no '" + std::string(name) + "'");
  // An AttributeValue is an object with exactly one member, its type.
  if (!attribute->is_object() || attribute->size() != 1) {
    return Malformed("attribute '" + std::string(name) +
                     "' is not an AttributeValue: " + Quote(*attribute));
  }
  const auto value = attribute->find(type);
  if (value == attribute->end() || !value->is_string()) {
    return Malformed("attribute '" + std::string(name) + "' is not of type " + std::string(type) +
                     ": " + Quote(*attribute));
  }
  return value->get<std::string>();
}

Result<std::int64_t> IntegerAttribute(const nlohmann::json& item, std::string_view name) {
  Result<std::string> text = TypedAttribute(item, name, "N");
  if (!text.ok()) return text.error();
  const std::optional<std::int64_t> n = ParseIntegerNumber(*text);
  if (!n) {
    return Malformed("attribute '" + std::string(name) +
                     "' is not an integer in range: " + Quote(*text));
  }
  return *n;
}

}  // namespace

bool IsValidTableName(std::string_view name) {
  if (name.size() < kMinTableNameBytes || name.size() > kMaxTableNameBytes) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
}

std::optional<std::int64_t> ParseIntegerNumber(std::string_view text) {
  std::size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) negative = text[i++] == '-';
  // Significant digits of the integer and fraction parts, and how many of
  // them came after the decimal point.
  std::string digits;
  std::int64_t scale = 0;
  bool any_digit = false;
  for (; i < text.size() && IsDigit(text[i]); ++i) {
    any_digit = true;
    if (!digits.empty() || text[i] != '0') digits += text[i];
  }
  if (i < text.size() && text[i] == '.') {
    for (++i; i < text.size() && IsDigit(text[i]); ++i) {
      any_digit = true;
      if (!digits.empty() || text[i] != '0') digits += text[i];
      --scale;
    }
  }
  if (!any_digit) return std::nullopt;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    bool negative_exponent = false;
    if (i < text.size() && (text[i] == '-' || text[i] == '+')) negative_exponent = text[i++] == '-';
    const std::size_t first = i;
    std::int64_t exponent = 0;
    for (; i < text.size() && IsDigit(text[i]); ++i) exponent = exponent * 10 + (text[i] - '0');
    if (i == first || i - first > kMaxExponentDigits) return std::nullopt;
    scale += negative_exponent ? -exponent : exponent;
  }
  if (i != text.size()) return std::nullopt;
  if (digits.empty()) return 0;  // "0", "0.00", "0E5"
  // A negative scale must only drop zeros, or the number is not an integer.
  while (scale < 0) {
    if (digits.back() != '0') return std::nullopt;
    digits.pop_back();
    ++scale;
  }
  if (static_cast<std::int64_t>(digits.size()) + scale > kInt64Digits) return std::nullopt;
  digits.append(static_cast<std::size_t>(scale), '0');
  // Accumulate negatively: int64's negative range is the larger one.
  std::int64_t value = 0;
  for (const char c : digits) {
    if (__builtin_mul_overflow(value, 10, &value) ||
        __builtin_sub_overflow(value, c - '0', &value)) {
      return std::nullopt;
    }
  }
  if (negative) return value;
  if (value == std::numeric_limits<std::int64_t>::min()) return std::nullopt;
  return -value;
}

std::string Quote(const nlohmann::json& value) {
  std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() > kMaxQuotedValueBytes) {
    text.resize(kMaxQuotedValueBytes);
    text += "...";
  }
  return text;
}

Error WithContext(const Error& error, std::string_view context) {
  std::string message(context);
  message += ": ";
  message += error.message();
  return Error(error.code(), std::move(message));
}

nlohmann::json SampleItem(const Sample& sample, std::chrono::seconds retention) {
  const std::int64_t bucket = sample.bucket.time_since_epoch().count();
  return {
      {kChannelAttribute, StringValue(sample.channel)},
      {kTimeAttribute, NumberValue(bucket)},
      {kCountAttribute, NumberValue(sample.viewers)},
      {kExpiresAtAttribute, NumberValue(bucket + retention.count())},
  };
}

nlohmann::json BatchWriteInput(std::string_view table, const nlohmann::json& put_requests) {
  nlohmann::json input;
  input["RequestItems"][std::string(table)] = put_requests;
  return input;
}

Result<nlohmann::json> UnprocessedPuts(const nlohmann::json& output, std::string_view table,
                                       std::size_t sent) {
  nlohmann::json puts = nlohmann::json::array();
  const auto unprocessed = output.find("UnprocessedItems");
  if (unprocessed == output.end() || unprocessed->is_null()) return puts;
  if (!unprocessed->is_object()) {
    return Malformed("UnprocessedItems is not an object: " + Quote(*unprocessed));
  }
  for (const auto& [name, requests] : unprocessed->items()) {
    if (name != table) return Malformed("UnprocessedItems names another table: " + Quote(name));
    if (!requests.is_array()) {
      return Malformed("UnprocessedItems is not a list: " + Quote(requests));
    }
    for (const nlohmann::json& request : requests) {
      const auto put = request.is_object() ? request.find("PutRequest") : request.end();
      const bool is_put = put != request.end() && put->is_object() && put->contains("Item") &&
                          put->find("Item")->is_object();
      if (!is_put) {
        return Malformed("an unprocessed item is not a PutRequest: " + Quote(request));
      }
      puts.push_back(request);
    }
  }
  if (puts.size() > sent) {
    return Malformed(std::to_string(puts.size()) + " unprocessed items for " +
                     std::to_string(sent) + " sent");
  }
  return puts;
}

nlohmann::json RangeQueryInput(std::string_view table, const ChannelId& channel, Seconds from,
                               Seconds to, bool consistent_read, const nlohmann::json& start_key) {
  nlohmann::json input = {
      {"TableName", table},
      {"KeyConditionExpression", kKeyCondition},
      {"ProjectionExpression", kRangeProjection},
      {"ExpressionAttributeNames",
       {{"#c", kChannelAttribute}, {"#t", kTimeAttribute}, {"#n", kCountAttribute}}},
      {"ExpressionAttributeValues",
       {{":c", StringValue(channel)},
        {":from", {{"N", EpochText(from)}}},
        {":to", {{"N", EpochText(to)}}}}},
      {"ScanIndexForward", true},
      {"ConsistentRead", consistent_read},
  };
  if (!start_key.is_null()) input["ExclusiveStartKey"] = start_key;
  return input;
}

nlohmann::json AnyItemQueryInput(std::string_view table, const ChannelId& channel) {
  return {
      {"TableName", table},
      {"KeyConditionExpression", kChannelCondition},
      {"ProjectionExpression", kKeyProjection},
      {"ExpressionAttributeNames", {{"#c", kChannelAttribute}, {"#t", kTimeAttribute}}},
      {"ExpressionAttributeValues", {{":c", StringValue(channel)}}},
      {"Limit", 1},
  };
}

Result<QueryPage> ReadQueryPage(const nlohmann::json& output) {
  if (!output.is_object()) return Malformed("Query output is not an object");
  const auto items = output.find("Items");
  if (items == output.end() || !items->is_array()) {
    return Malformed("Query output has no Items list");
  }
  QueryPage page{*items, nullptr};
  const auto last = output.find("LastEvaluatedKey");
  if (last != output.end() && !last->is_null()) {
    if (!last->is_object() || last->empty()) {
      return Malformed("LastEvaluatedKey is not a key: " + Quote(*last));
    }
    page.last_evaluated = *last;
  }
  return page;
}

Result<Sample> ReadSampleItem(const nlohmann::json& item, const ChannelId& channel, Seconds from,
                              Seconds to) {
  if (!item.is_object()) return Malformed("an item is not an object: " + Quote(item));
  Result<std::string> item_channel = TypedAttribute(item, kChannelAttribute, "S");
  if (!item_channel.ok()) return item_channel.error();
  if (*item_channel != channel) {
    return Malformed("Query for channel " + Quote(channel) + " returned an item of channel " +
                     Quote(*item_channel));
  }
  Result<std::int64_t> time = IntegerAttribute(item, kTimeAttribute);
  if (!time.ok()) return time.error();
  Result<std::int64_t> count = IntegerAttribute(item, kCountAttribute);
  if (!count.ok()) return count.error();
  if (*count < 0) return Malformed("negative count " + std::to_string(*count));
  const Seconds bucket{std::chrono::seconds{*time}};
  if (bucket < from || bucket > to) {
    return Malformed("Query for [" + EpochText(from) + ", " + EpochText(to) + "] returned time " +
                     std::to_string(*time));
  }
  return Sample{channel, bucket, *count};
}

nlohmann::json CreateTableInput(std::string_view table) {
  return {
      {"TableName", table},
      {"AttributeDefinitions",
       {{{"AttributeName", kChannelAttribute}, {"AttributeType", "S"}},
        {{"AttributeName", kTimeAttribute}, {"AttributeType", "N"}}}},
      {"KeySchema",
       {{{"AttributeName", kChannelAttribute}, {"KeyType", "HASH"}},
        {{"AttributeName", kTimeAttribute}, {"KeyType", "RANGE"}}}},
      {"BillingMode", "PAY_PER_REQUEST"},
  };
}

Status CheckKeySchema(const nlohmann::json& table_description, std::string_view table) {
  const auto differs = [&](const std::string& what) {
    return Error::InvalidArgument("table " + std::string(table) +
                                  " exists with another key schema than headcount's (channel S "
                                  "HASH, time N RANGE): " +
                                  what);
  };
  const auto schema = table_description.find("KeySchema");
  if (schema == table_description.end() || !schema->is_array()) return differs("no KeySchema");
  std::string hash;
  std::string range;
  for (const nlohmann::json& key : *schema) {
    if (!key.is_object()) return differs("KeySchema " + Quote(*schema));
    const std::string name = StringMember(key, "AttributeName");
    const std::string type = StringMember(key, "KeyType");
    (type == "HASH" ? hash : range) = name;
  }
  if (hash != kChannelAttribute || range != kTimeAttribute) {
    return differs("KeySchema " + Quote(*schema));
  }
  const auto definitions = table_description.find("AttributeDefinitions");
  if (definitions == table_description.end() || !definitions->is_array()) {
    return differs("no AttributeDefinitions");
  }
  for (const nlohmann::json& definition : *definitions) {
    if (!definition.is_object()) return differs("AttributeDefinitions " + Quote(*definitions));
    const std::string name = StringMember(definition, "AttributeName");
    const std::string type = StringMember(definition, "AttributeType");
    if ((name == kChannelAttribute && type != "S") || (name == kTimeAttribute && type != "N")) {
      return differs("attribute " + name + " has type " + type);
    }
  }
  return {};
}

}  // namespace headcount::dynamo
