// EnsureTable without sockets: the DescribeTable / CreateTable / TTL
// sequence, polling for ACTIVE, and its errors, over a FakeTransport and a
// FakeClock.
#include "store/dynamo/dynamo_table.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/dynamo/dynamo_items.h"
#include "store/dynamo/dynamo_test_util.h"

namespace headcount::dynamo_testing {
namespace {

using namespace std::chrono_literals;

json Described(const std::string& status) {
  json table = dynamo::CreateTableInput(kTable);
  table["TableStatus"] = status;
  return {{"Table", table}};
}

TEST(DynamoStoreEnsureTable, CreatesWaitsAndToleratesNoTtl) {
  Fixture f;
  f.AnswerError(400, "ResourceNotFoundException", "Requested resource not found");
  f.Answer({{"TableDescription", {{"TableStatus", "CREATING"}}}});
  f.Answer(Described("CREATING"));
  f.Answer(Described("ACTIVE"));
  f.Answer({{"TimeToLiveDescription", {{"TimeToLiveStatus", "DISABLED"}}}});
  f.transport.PushResponse(400,
                           R"({"__type":"com.amazon.coral.service#UnknownOperationException"})");
  Result<DynamoTableSetup> setup = f.store->EnsureTable();
  ASSERT_TRUE(setup.ok()) << setup.error().ToString();
  EXPECT_TRUE(setup->created);
  EXPECT_FALSE(setup->ttl_enabled);
  EXPECT_EQ(setup->ttl_note, "UnknownOperationException");

  std::vector<std::string> targets;
  for (const auto& [target, body] : f.Sent()) targets.push_back(target);
  EXPECT_EQ(targets,
            (std::vector<std::string>{
                "DynamoDB_20120810.DescribeTable", "DynamoDB_20120810.CreateTable",
                "DynamoDB_20120810.DescribeTable", "DynamoDB_20120810.DescribeTable",
                "DynamoDB_20120810.DescribeTimeToLive", "DynamoDB_20120810.UpdateTimeToLive"}));
  const json create = f.Sent()[1].second;
  EXPECT_EQ(create["BillingMode"], "PAY_PER_REQUEST");
  EXPECT_EQ(create["KeySchema"][0]["AttributeName"], "channel");
  EXPECT_EQ(create["KeySchema"][1]["KeyType"], "RANGE");
  EXPECT_EQ(f.Sent()[5].second["TimeToLiveSpecification"],
            json::parse(R"({"AttributeName":"expiresAt","Enabled":true})"));
  EXPECT_EQ(f.sleeps.size(), 1u);  // one poll interval while CREATING
}

TEST(DynamoStoreEnsureTable, AnExistingActiveTableWithTtlNeedsNothing) {
  Fixture f;
  f.Answer(Described("ACTIVE"));
  f.Answer({{"TimeToLiveDescription",
             {{"TimeToLiveStatus", "ENABLED"}, {"AttributeName", "expiresAt"}}}});
  Result<DynamoTableSetup> setup = f.store->EnsureTable();
  ASSERT_TRUE(setup.ok()) << setup.error().ToString();
  EXPECT_FALSE(setup->created);
  EXPECT_TRUE(setup->ttl_enabled);
  EXPECT_EQ(f.Sent().size(), 2u);
}

TEST(DynamoStoreEnsureTable, RefusesAnotherKeySchema) {
  Fixture f;
  json described = Described("ACTIVE");
  described["Table"]["KeySchema"] = json::parse(R"([{"AttributeName":"id","KeyType":"HASH"}])");
  f.Answer(described);
  Result<DynamoTableSetup> setup = f.store->EnsureTable();
  ASSERT_FALSE(setup.ok());
  EXPECT_EQ(setup.error().code(), ErrorCode::kInvalidArgument);
}

TEST(DynamoStoreEnsureTable, GivesUpWhenTheTableStaysCreating) {
  Fixture f;
  for (int i = 0; i < 100; ++i) f.Answer(Described("CREATING"));
  Result<DynamoTableSetup> setup = f.store->EnsureTable(2s);
  ASSERT_FALSE(setup.ok());
  EXPECT_EQ(setup.error().code(), ErrorCode::kDeadlineExceeded);
  EXPECT_LE(f.clock.Now(), Start() + 2s);
}

TEST(DynamoStoreEnsureTable, AccessDeniedIsAnError) {
  Fixture f;
  f.AnswerError(400, "AccessDeniedException", "not allowed");
  Result<DynamoTableSetup> setup = f.store->EnsureTable();
  ASSERT_FALSE(setup.ok());
  EXPECT_EQ(setup.error().code(), ErrorCode::kRejected);
  EXPECT_EQ(f.Sent().size(), 1u);
}

}  // namespace
}  // namespace headcount::dynamo_testing
