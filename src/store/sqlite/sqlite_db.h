// Internal to the SQLite store: thin RAII over the SQLite C API (a connection,
// prepared statements, transactions) with SQLite result codes mapped to
// headcount Errors. Not thread-safe: the owner serializes every call.
#pragma once

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "core/result.h"

namespace headcount::sqlite {

// The headcount Error for SQLite result code `rc` from operation `op` on the
// database at `path`: BUSY/LOCKED -> kUnavailable, CONSTRAINT/TOOBIG ->
// kInvalidArgument, ERROR/MISUSE/RANGE/MISMATCH (our SQL is wrong) ->
// kInternal, everything else (I/O, corrupt, full, read-only, ...) -> kIo.
// `detail` is sqlite3_errmsg() of the failing connection, or empty.
Error ErrorFromCode(int rc, std::string_view op, const std::filesystem::path& path,
                    std::string_view detail);

// A prepared statement, reset and cleared of bindings after every use (see
// Use()). Move-only; finalized on destruction.
class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}

  // Binds parameter `index` (1-based). Text is not copied: it must outlive
  // the statement's use. Return the SQLite result code (SQLITE_OK on success).
  int BindText(int index, std::string_view text);
  int BindInt64(int index, std::int64_t value);
  // Binds bytes as a BLOB; not copied either.
  int BindBlob(int index, std::string_view bytes);

  // Steps once. Returns true when a row is ready, false when the statement is
  // done; on failure the mapped Error (with sqlite3_errmsg) naming `op`.
  Result<bool> Step(std::string_view op, const std::filesystem::path& path);

  std::int64_t ColumnInt64(int column) const;
  std::string_view ColumnText(int column) const;
  // A BLOB column's bytes, valid until the next Step or Reset.
  std::string_view ColumnBlob(int column) const;

  // Ends the current use: resets the statement (releasing any read lock it
  // holds) and clears its bindings.
  void Reset();

 private:
  struct Finalizer {
    void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
  };

  sqlite3* db_ = nullptr;  // not owned
  std::unique_ptr<sqlite3_stmt, Finalizer> stmt_;
};

// Resets a Statement when the scope ends, however it ends.
class ScopedReset {
 public:
  explicit ScopedReset(Statement& statement) : statement_(statement) {}
  ~ScopedReset() { statement_.Reset(); }
  ScopedReset(const ScopedReset&) = delete;
  ScopedReset& operator=(const ScopedReset&) = delete;

 private:
  Statement& statement_;
};

// One open database connection, with its transaction-control statements
// prepared once. Closed on destruction (after every Statement it prepared
// has been destroyed: the owner must declare statements after the
// connection).
class Connection {
 public:
  // Opens `path` with sqlite3_open_v2 `flags` (SQLITE_OPEN_EXRESCODE and
  // SQLITE_OPEN_NOMUTEX are added) and sets the busy timeout. Returns the
  // mapped Error if the file cannot be opened.
  static Result<std::unique_ptr<Connection>> Open(const std::filesystem::path& path, int flags,
                                                  std::chrono::milliseconds busy_timeout);

  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Prepares one persistent statement. Returns the mapped Error naming `op`.
  Result<Statement> Prepare(std::string_view sql, std::string_view op);

  // Runs `sql` (one or more statements, rows ignored). Returns the mapped
  // Error naming `op` on the first failing statement.
  Status Exec(const std::string& sql, std::string_view op);

  // Runs a single-row, single-column query (e.g. a PRAGMA) and returns its
  // value as text; an empty string when it returns no row.
  Result<std::string> QueryText(std::string_view sql, std::string_view op);
  // The same, for an integer value; 0 when it returns no row.
  Result<std::int64_t> QueryInt64(std::string_view sql, std::string_view op);

  // The mapped Error for `rc`, with this connection's sqlite3_errmsg.
  Error ErrorFrom(int rc, std::string_view op) const;

  // True while a transaction is open on this connection.
  bool InTransaction() const { return sqlite3_get_autocommit(db_) == 0; }
  // Rows changed by the most recent INSERT/UPDATE/DELETE.
  std::int64_t Changes() const { return sqlite3_changes64(db_); }

  const std::filesystem::path& path() const { return path_; }

  // BEGIN, BEGIN IMMEDIATE, COMMIT and ROLLBACK, prepared once (Transaction).
  Statement& begin_read() { return begin_read_; }
  Statement& begin_write() { return begin_write_; }
  Statement& commit() { return commit_; }
  Statement& rollback() { return rollback_; }

 private:
  Connection(std::filesystem::path path, sqlite3* db) : path_(std::move(path)), db_(db) {}

  const std::filesystem::path path_;
  sqlite3* const db_;  // owned; closed in the destructor after the statements below
  Statement begin_read_;
  Statement begin_write_;
  Statement commit_;
  Statement rollback_;
};

// One transaction on a Connection; rolls back on destruction unless
// committed, so every early return leaves the database as it was.
class Transaction {
 public:
  enum class Mode {
    kRead,   // BEGIN (deferred): a consistent snapshot for several reads
    kWrite,  // BEGIN IMMEDIATE: takes the write lock now, waiting up to the
             // busy timeout, so the transaction never fails to upgrade later
  };

  explicit Transaction(Connection& connection) : connection_(connection) {}
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  // Begins. On failure (e.g. kUnavailable after the busy timeout) nothing is
  // open.
  Status Begin(Mode mode, std::string_view op);
  // Commits. On failure the transaction is rolled back.
  Status Commit(std::string_view op);

 private:
  Connection& connection_;
  bool open_ = false;
};

}  // namespace headcount::sqlite
