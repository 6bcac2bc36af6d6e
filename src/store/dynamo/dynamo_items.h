// DynamoDB wire format of headcount's samples table: the request bodies
// DynamoStore sends and strict readers for what comes back. Pure functions
// (no I/O, no state): thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/result.h"
#include "core/samples.h"

namespace headcount::dynamo {

// Attribute names of the table. `count` and `time` are DynamoDB reserved
// words, so expressions always name them through placeholders.
inline constexpr std::string_view kChannelAttribute = "channel";      // partition key, S
inline constexpr std::string_view kTimeAttribute = "time";            // sort key, N
inline constexpr std::string_view kCountAttribute = "count";          // N
inline constexpr std::string_view kExpiresAtAttribute = "expiresAt";  // N, the TTL attribute

// DynamoDB's rule for table names: kMinTableNameBytes to kMaxTableNameBytes
// of [A-Za-z0-9_.-].
inline constexpr std::size_t kMinTableNameBytes = 3;
inline constexpr std::size_t kMaxTableNameBytes = 255;
bool IsValidTableName(std::string_view name);

// DynamoDB's limit on the requests of one BatchWriteItem.
inline constexpr std::size_t kMaxBatchWriteItems = 25;
// How much of an offending value an error message quotes.
inline constexpr std::size_t kMaxQuotedValueBytes = 120;

// The integer a DynamoDB number string denotes, or nullopt when it is not a
// number, not an integer, or outside int64. Accepts the canonical form
// DynamoDB returns ("-12") and the decimal and exponent forms other
// implementations may return for the same value ("12.0", "1.2E+1").
std::optional<std::int64_t> ParseIntegerNumber(std::string_view text);

// `value` as compact JSON, cut to kMaxQuotedValueBytes, for error messages.
std::string Quote(const nlohmann::json& value);

// `error` with "<context>: " in front of its message, its code kept (the
// store's and EnsureDynamoTable's errors name the call and the table).
Error WithContext(const Error& error, std::string_view context);

// The item stored for `sample`: channel, time, count and expiresAt =
// bucket + retention.
nlohmann::json SampleItem(const Sample& sample, std::chrono::seconds retention);

// A BatchWriteItem input putting every item of `items` (at most
// kMaxBatchWriteItems PutRequest objects) into `table`.
nlohmann::json BatchWriteInput(std::string_view table, const nlohmann::json& put_requests);

// The PutRequests of a BatchWriteItem output's UnprocessedItems for
// `table`: an empty array when everything was written. kRejected when the
// field is malformed, names another table, or holds more than `sent`
// requests.
Result<nlohmann::json> UnprocessedPuts(const nlohmann::json& output, std::string_view table,
                                       std::size_t sent);

// A Query input for `channel`'s items with from <= time <= to, oldest
// first, projecting channel, time and count; `start_key` (if not null)
// continues a paginated read.
nlohmann::json RangeQueryInput(std::string_view table, const ChannelId& channel, Seconds from,
                               Seconds to, bool consistent_read,
                               const nlohmann::json& start_key = nullptr);

// A Query input that reads at most one key of `channel`.
nlohmann::json AnyItemQueryInput(std::string_view table, const ChannelId& channel);

// One page of a Query output.
struct QueryPage {
  nlohmann::json items;           // an array
  nlohmann::json last_evaluated;  // null on the last page, else the key to continue from
};

// Splits a Query output into its items and continuation key. kRejected when
// Items is missing or not an array, or LastEvaluatedKey is not an object.
Result<QueryPage> ReadQueryPage(const nlohmann::json& output);

// The sample an item of `channel`'s Query holds. kRejected naming the
// attribute when the item is not an object, an attribute is missing or of
// the wrong type, a number is not an integer in range, the count is
// negative, the channel differs from `channel`, or the time lies outside
// [from, to].
Result<Sample> ReadSampleItem(const nlohmann::json& item, const ChannelId& channel, Seconds from,
                              Seconds to);

// CreateTable input: the key schema above, on-demand (PAY_PER_REQUEST).
nlohmann::json CreateTableInput(std::string_view table);

// Checks a DescribeTable output's KeySchema and AttributeDefinitions against
// the schema above. kInvalidArgument saying what differs.
Status CheckKeySchema(const nlohmann::json& table_description, std::string_view table);

}  // namespace headcount::dynamo
