// The fixture of the PostgreSQL store's tests: one PostgreSQL server per
// test process (started with the first test, stopped after the last), a
// database of its own for each test, named after it.
#pragma once

#include <gtest/gtest.h>

#include <cctype>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "core/clock.h"
#include "store/postgres/postgres_store.h"
#include "store/postgres/testing/postgres_server.h"

namespace headcount::postgres::testing {

// 2026-11-25T12:00:00Z, a whole minute.
inline constexpr std::int64_t kPgBaseEpoch = 1795608000;

inline Seconds PgMinute(int minutes) {
  return Seconds{std::chrono::seconds{kPgBaseEpoch + std::int64_t{60} * minutes}};
}
inline Sample PgAt(const std::string& channel, int minute, std::int64_t viewers) {
  return Sample{channel, PgMinute(minute), viewers};
}

class PostgresStoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = PostgresServer::Create();
    ASSERT_TRUE(server.ok()) << server.error().ToString();
    shared_server = std::move(server).value().release();
  }
  static void TearDownTestSuite() {
    delete shared_server;
    shared_server = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(shared_server, nullptr) << "no PostgreSQL server";
    const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::string database;
    for (const char c : name) database += static_cast<char>(std::tolower(c));
    auto url = shared_server->CreateDatabase(database);
    ASSERT_TRUE(url.ok()) << url.error().ToString();
    database_ = database;
    url_ = *url;
  }

  std::unique_ptr<PostgresStore> OpenStore(PostgresStoreOptions options = {}) {
    options.url = url_;
    auto store = PostgresStore::Open(options);
    EXPECT_TRUE(store.ok()) << store.error().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }
  std::string Sql(const std::string& sql) {
    auto value = shared_server->Query(database_, sql);
    EXPECT_TRUE(value.ok()) << value.error().ToString();
    return value.ok() ? *value : "";
  }

  // Another session takes an exclusive lock on the samples table for 2 s;
  // returns once the lock is held (as pg_locks shows it).
  std::thread HoldTableLock() {
    std::thread holder([this] {
      (void)shared_server->Query(database_,
                                 "BEGIN; LOCK TABLE headcount_samples IN ACCESS EXCLUSIVE MODE; "
                                 "SELECT pg_sleep(2); COMMIT");
    });
    for (int i = 0; i < 100 && Sql("SELECT count(*) FROM pg_locks l JOIN pg_class c ON "
                                   "l.relation = c.oid WHERE c.relname = 'headcount_samples' "
                                   "AND l.mode = 'AccessExclusiveLock'") != "1";
         ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds{20});
    }
    return holder;
  }

  static inline PostgresServer* shared_server = nullptr;
  std::string database_;
  std::string url_;
};

}  // namespace headcount::postgres::testing
