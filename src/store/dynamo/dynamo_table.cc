// EnsureDynamoTable: DescribeTable, CreateTable, polling for ACTIVE, the
// key-schema check and TTL. Thread-safe as the AwsClient is.
#include "store/dynamo/dynamo_table.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "store/dynamo/dynamo_items.h"

namespace headcount {
namespace {

using dynamo::kExpiresAtAttribute;
using dynamo::WithContext;

// A DescribeTable output's Table.TableStatus, or "" when absent.
std::string TableStatus(const nlohmann::json& described) {
  const auto table = described.find("Table");
  if (table == described.end() || !table->is_object()) return "";
  const auto status = table->find("TableStatus");
  return status != table->end() && status->is_string() ? status->get<std::string>() : "";
}

// Turns TTL on for expiresAt if it is not on already; never fails (see
// EnsureDynamoTable).
DynamoTableSetup EnableTtl(aws::AwsClient& client, std::string_view table, DynamoTableSetup setup,
                           WallTime deadline) {
  Result<nlohmann::json> described =
      client.Call("DescribeTimeToLive", {{"TableName", table}}, deadline);
  if (described.ok()) {
    const auto description = described->find("TimeToLiveDescription");
    const auto field = [&](const char* name) {
      if (description == described->end() || !description->is_object()) return std::string();
      const auto it = description->find(name);
      return it != description->end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    const std::string status = field("TimeToLiveStatus");
    const std::string attribute = field("AttributeName");
    if (status == "ENABLED" || status == "ENABLING") {
      if (attribute == kExpiresAtAttribute) {
        setup.ttl_enabled = true;
        return setup;
      }
      // A table has at most one TTL attribute; changing it is not ours to do.
      setup.ttl_note =
          "TTL is on for attribute '" + attribute + "', not " + std::string(kExpiresAtAttribute);
      spdlog::warn("dynamodb store: table {}: {}; samples will not expire", table, setup.ttl_note);
      return setup;
    }
  }
  aws::AwsError aws_error;
  const nlohmann::json update = {
      {"TableName", table},
      {"TimeToLiveSpecification", {{"AttributeName", kExpiresAtAttribute}, {"Enabled", true}}},
  };
  Result<nlohmann::json> updated = client.Call("UpdateTimeToLive", update, deadline, &aws_error);
  if (updated.ok()) {
    setup.ttl_enabled = true;
    spdlog::info("dynamodb store: table {}: TTL enabled on {}", table, kExpiresAtAttribute);
    return setup;
  }
  setup.ttl_note = aws_error.code.empty() ? updated.error().ToString() : aws_error.code;
  spdlog::warn(
      "dynamodb store: table {}: could not enable TTL on {} ({}); samples will not expire by "
      "themselves (fine for a local emulator)",
      table, kExpiresAtAttribute, updated.error().ToString());
  return setup;
}

}  // namespace

Result<DynamoTableSetup> EnsureDynamoTable(aws::AwsClient& client, const Clock& clock,
                                           std::string_view table,
                                           std::chrono::milliseconds timeout,
                                           const SleepFunction& sleep) {
  const WallTime deadline = clock.Now() + timeout;
  const nlohmann::json describe_input = {{"TableName", table}};
  const std::string context = "EnsureTable " + std::string(table);
  DynamoTableSetup setup;

  aws::AwsError aws_error;
  Result<nlohmann::json> described =
      client.Call("DescribeTable", describe_input, deadline, &aws_error);
  if (!described.ok()) {
    if (aws_error.code != "ResourceNotFoundException") {
      return WithContext(described.error(), context);
    }
    aws_error = {};
    Result<nlohmann::json> created =
        client.Call("CreateTable", dynamo::CreateTableInput(table), deadline, &aws_error);
    // ResourceInUseException: someone else created it meanwhile; wait for it too.
    if (!created.ok() && aws_error.code != "ResourceInUseException") {
      return WithContext(created.error(), context);
    }
    setup.created = created.ok();
    if (setup.created) spdlog::info("dynamodb store: created table {}", table);
    described = nlohmann::json::object();  // not ACTIVE yet: ask below
  }

  for (;;) {
    const std::string status = TableStatus(*described);
    if (status == "ACTIVE") break;
    if (!status.empty() && status != "CREATING" && status != "UPDATING") {
      std::string why = context + ": the table is ";
      why += status;
      return Error::Unavailable(why);
    }
    if (!described->empty()) {  // asked at least once: wait before asking again
      if (clock.Now() + kTableStatusPollInterval >= deadline) {
        std::string why = context + ": the table is still ";
        why += status;
        why += " after " + std::to_string(timeout.count()) + " ms";
        return Error::DeadlineExceeded(why);
      }
      sleep(kTableStatusPollInterval);
    }
    described = client.Call("DescribeTable", describe_input, deadline);
    if (!described.ok()) return WithContext(described.error(), context);
    if (TableStatus(*described).empty()) {
      return Error::Rejected(context + ": DescribeTable answered without Table.TableStatus");
    }
  }
  if (Status s = dynamo::CheckKeySchema((*described)["Table"], table); !s.ok()) {
    return s.error();
  }
  return EnableTtl(client, table, setup, deadline);
}

}  // namespace headcount
