// Internal to the SQLite store: RAII over the SQLite C API. Not thread-safe.
#include "store/sqlite/sqlite_db.h"

#include <spdlog/spdlog.h>

#include <utility>

namespace headcount::sqlite {

Error ErrorFromCode(int rc, std::string_view op, const std::filesystem::path& path,
                    std::string_view detail) {
  std::string message(op);
  message += " on ";
  message += path.string();
  message += ": ";
  message += detail.empty() ? std::string_view(sqlite3_errstr(rc)) : detail;
  message += " (sqlite code ";
  message += std::to_string(rc);
  message += ")";
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Error::Unavailable(std::move(message));
    case SQLITE_CONSTRAINT:
    case SQLITE_TOOBIG:
      return Error::InvalidArgument(std::move(message));
    case SQLITE_ERROR:
    case SQLITE_MISUSE:
    case SQLITE_RANGE:
    case SQLITE_MISMATCH:
      return Error::Internal(std::move(message));
    default:  // IOERR, CORRUPT, FULL, CANTOPEN, NOTADB, READONLY, PERM, NOMEM, ...
      return Error::Io(std::move(message));
  }
}

int Statement::BindText(int index, std::string_view text) {
  // An empty view may have a null data(), which SQLite would bind as NULL.
  const char* data = text.data() != nullptr ? text.data() : "";
  return sqlite3_bind_text64(stmt_.get(), index, data, text.size(), SQLITE_STATIC, SQLITE_UTF8);
}

int Statement::BindInt64(int index, std::int64_t value) {
  return sqlite3_bind_int64(stmt_.get(), index, static_cast<sqlite3_int64>(value));
}

Result<bool> Statement::Step(std::string_view op, const std::filesystem::path& path) {
  const int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return ErrorFromCode(rc, op, path, sqlite3_errmsg(db_));
}

std::int64_t Statement::ColumnInt64(int column) const {
  return sqlite3_column_int64(stmt_.get(), column);
}

int Statement::BindBlob(int index, std::string_view bytes) {
  // A zero-length BLOB with a null pointer would bind as NULL.
  const char* data = bytes.data() != nullptr ? bytes.data() : "";
  return sqlite3_bind_blob64(stmt_.get(), index, data, bytes.size(), SQLITE_STATIC);
}

std::string_view Statement::ColumnBlob(int column) const {
  const void* data = sqlite3_column_blob(stmt_.get(), column);
  if (data == nullptr) return {};
  return {static_cast<const char*>(data),
          static_cast<std::size_t>(sqlite3_column_bytes(stmt_.get(), column))};
}

std::string_view Statement::ColumnText(int column) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_.get(), column));
  if (text == nullptr) return {};
  return {text, static_cast<std::size_t>(sqlite3_column_bytes(stmt_.get(), column))};
}

void Statement::Reset() {
  if (!stmt_) return;
  // sqlite3_reset repeats the last step's error code; that error was already
  // reported by Step, so it is not an error of the reset.
  sqlite3_reset(stmt_.get());
  sqlite3_clear_bindings(stmt_.get());
}

Result<std::unique_ptr<Connection>> Connection::Open(const std::filesystem::path& path, int flags,
                                                     std::chrono::milliseconds busy_timeout) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db,
                                 flags | SQLITE_OPEN_EXRESCODE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Error error = ErrorFromCode(rc, "open", path, db != nullptr ? sqlite3_errmsg(db) : "");
    sqlite3_close_v2(db);  // a handle is returned even on failure; null is fine
    return error;
  }
  std::unique_ptr<Connection> connection(new Connection(path, db));
  if (const int busy_rc = sqlite3_busy_timeout(db, static_cast<int>(busy_timeout.count()));
      busy_rc != SQLITE_OK) {
    return connection->ErrorFrom(busy_rc, "set busy timeout");
  }
  struct Named {
    Statement* statement;
    const char* sql;
  };
  for (const Named& named :
       {Named{&connection->begin_read_, "BEGIN"},
        Named{&connection->begin_write_, "BEGIN IMMEDIATE"}, Named{&connection->commit_, "COMMIT"},
        Named{&connection->rollback_, "ROLLBACK"}}) {
    Result<Statement> statement = connection->Prepare(named.sql, "prepare transaction control");
    if (!statement.ok()) return statement.error();
    *named.statement = std::move(statement).value();
  }
  return connection;
}

Connection::~Connection() {
  // Statements must go first: sqlite3_close_v2 would otherwise keep the
  // connection alive as a zombie until they are finalized.
  begin_read_ = Statement();
  begin_write_ = Statement();
  commit_ = Statement();
  rollback_ = Statement();
  sqlite3_close_v2(db_);
}

Result<Statement> Connection::Prepare(std::string_view sql, std::string_view op) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return ErrorFrom(rc, op);
  }
  return Statement(db_, stmt);
}

Status Connection::Exec(const std::string& sql, std::string_view op) {
  char* raw_message = nullptr;
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &raw_message);
  if (rc == SQLITE_OK) return {};
  std::string detail = raw_message != nullptr ? raw_message : "";
  sqlite3_free(raw_message);
  return ErrorFromCode(rc, op, path_, detail);
}

Result<std::string> Connection::QueryText(std::string_view sql, std::string_view op) {
  Result<Statement> statement = Prepare(sql, op);
  if (!statement.ok()) return statement.error();
  ScopedReset reset(*statement);
  Result<bool> row = statement->Step(op, path_);
  if (!row.ok()) return row.error();
  if (!*row) return std::string();
  return std::string(statement->ColumnText(0));
}

Result<std::int64_t> Connection::QueryInt64(std::string_view sql, std::string_view op) {
  Result<Statement> statement = Prepare(sql, op);
  if (!statement.ok()) return statement.error();
  ScopedReset reset(*statement);
  Result<bool> row = statement->Step(op, path_);
  if (!row.ok()) return row.error();
  if (!*row) return std::int64_t{0};
  return statement->ColumnInt64(0);
}

Error Connection::ErrorFrom(int rc, std::string_view op) const {
  return ErrorFromCode(rc, op, path_, sqlite3_errmsg(db_));
}

Transaction::~Transaction() {
  if (!open_ || !connection_.InTransaction()) return;  // SQLite may have rolled back already
  ScopedReset reset(connection_.rollback());
  if (Result<bool> done = connection_.rollback().Step("rollback", connection_.path()); !done.ok()) {
    spdlog::warn("sqlite store: {}", done.error().ToString());
  }
}

Status Transaction::Begin(Mode mode, std::string_view op) {
  Statement& begin = mode == Mode::kWrite ? connection_.begin_write() : connection_.begin_read();
  ScopedReset reset(begin);
  if (Result<bool> done = begin.Step(op, connection_.path()); !done.ok()) return done.error();
  open_ = true;
  return {};
}

Status Transaction::Commit(std::string_view op) {
  ScopedReset reset(connection_.commit());
  if (Result<bool> done = connection_.commit().Step(op, connection_.path()); !done.ok()) {
    return done.error();  // still open: the destructor rolls back
  }
  open_ = false;
  return {};
}

}  // namespace headcount::sqlite
