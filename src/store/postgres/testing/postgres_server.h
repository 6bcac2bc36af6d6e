// A throwaway PostgreSQL server for tests: Debian's initdb and postgres
// (PostgreSQL 15), run as an unprivileged user when the test runs as root
// (PostgreSQL refuses root; CI runs as root), in a temporary directory, on a
// free loopback port with its unix socket in that directory. TCP logins
// need the password (scram-sha-256), so tests can try a wrong one. Stopped
// and deleted on destruction. The pattern for any server a test starts (the
// JavaScript tests' twin is startPostgres in tests/integration/harness.mjs).
// Not thread-safe; for tests only.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"

namespace headcount::postgres::testing {

// The superuser initdb creates, and its password.
inline constexpr std::string_view kTestUser = "headcount";
inline constexpr std::string_view kTestPassword = "pg-test-s3cret";

class PostgresServer {
 public:
  // initdb, then Start. Fails (never skips) when PostgreSQL is not installed
  // (HEADCOUNT_PG_BINDIR, or the newest /usr/lib/postgresql/*/bin), naming
  // what to install, or with the server's log when it does not come up.
  static Result<std::unique_ptr<PostgresServer>> Create();
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // Starts the server on port() and waits until it accepts logins.
  Status Start();
  // Fast shutdown (SIGINT: clients are disconnected), and waits for it.
  void Stop();

  int port() const { return port_; }
  // postgresql://headcount:<password>@127.0.0.1:<port>/<database>
  std::string Url(std::string_view database = "postgres",
                  std::string_view password = kTestPassword) const;
  // Creates an empty database and returns its Url.
  Result<std::string> CreateDatabase(const std::string& name);
  // Runs one SQL statement as the superuser in `database`; the first field
  // of the first row, or "" (for checks a user would make with psql).
  Result<std::string> Query(const std::string& database, const std::string& sql);
  // What the server logged so far.
  std::string Log() const;

 private:
  PostgresServer() = default;

  std::filesystem::path bindir_;
  std::filesystem::path dir_;  // data/, the socket, the log
  uid_t uid_ = 0;              // who runs it (nobody when we are root)
  gid_t gid_ = 0;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace headcount::postgres::testing
