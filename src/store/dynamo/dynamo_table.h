// Setting up headcount's DynamoDB table for development and tests: create it
// if missing, wait until it is ACTIVE, check its keys, turn TTL on.
// Production tables belong to the infrastructure code (infra/). Thread-safe
// as the AwsClient is; two callers racing to create one table both succeed.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "aws/aws_client.h"
#include "core/clock.h"
#include "core/result.h"
#include "core/retry.h"

namespace headcount {

// How long EnsureDynamoTable waits in all, and how often it asks whether the
// table is ACTIVE yet.
inline constexpr std::chrono::milliseconds kDefaultEnsureTableTimeout{60000};
inline constexpr std::chrono::milliseconds kTableStatusPollInterval{250};

// What EnsureDynamoTable found and did.
struct DynamoTableSetup {
  bool created = false;      // CreateTable was called (the table did not exist)
  bool ttl_enabled = false;  // TTL on expiresAt is on (or being turned on)
  std::string ttl_note;      // why not, when !ttl_enabled (e.g. "UnknownOperationException")
};

// Creates `table` (on-demand billing, the key schema of dynamo_items.h) if
// DescribeTable says it does not exist, waits until it is ACTIVE (`sleep`
// between polls), checks its key schema, and turns TTL on for expiresAt.
// Every step but the TTL one must succeed within `timeout`:
// kDeadlineExceeded when the table stays not ACTIVE, kInvalidArgument for a
// table with another key schema, the AWS call's error otherwise. TTL is not
// needed for correctness (dynalite has no UpdateTimeToLive): failing to
// enable it is logged and reported in the result, not an error.
Result<DynamoTableSetup> EnsureDynamoTable(aws::AwsClient& client, const Clock& clock,
                                           std::string_view table,
                                           std::chrono::milliseconds timeout,
                                           const SleepFunction& sleep);

}  // namespace headcount
