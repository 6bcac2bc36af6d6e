// The embedded SQLite Store. Thread-safe: every use of the connection holds mu_.
#include "store/sqlite/sqlite_store.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_set>
#include <utility>
#include <vector>

#include "store/sqlite/sqlite_db.h"

namespace headcount {
namespace {

using sqlite::Connection;
using sqlite::ScopedReset;
using sqlite::Statement;
using sqlite::Transaction;

// One schema step: applied, with `PRAGMA user_version = version`, in one
// transaction. Append only; never edit a released migration.
struct Migration {
  int version;
  const char* sql;
};

constexpr Migration kMigrations[] = {
    {1, R"sql(
      CREATE TABLE samples (
        channel TEXT NOT NULL,
        bucket INTEGER NOT NULL,  -- bucket start, seconds since the Unix epoch
        viewers INTEGER NOT NULL CHECK (viewers >= 0),
        PRIMARY KEY (channel, bucket)
      ) WITHOUT ROWID;
      -- Prune deletes by age across all channels.
      CREATE INDEX samples_by_bucket ON samples (bucket);
    )sql"},
    {2, R"sql(
      CREATE TABLE distinct_viewers (
        channel TEXT NOT NULL,
        hour_start INTEGER NOT NULL,    -- the UTC hour's start, seconds since the Unix epoch
        viewer_table INTEGER NOT NULL,  -- 0 origin sessions, 1 heartbeat tokens, 2 CMCD sids
        sketch BLOB NOT NULL,           -- a HyperLogLog, core/hyperloglog.h's bytes
        PRIMARY KEY (channel, hour_start, viewer_table)
      ) WITHOUT ROWID;
      -- Prune deletes by age across all channels.
      CREATE INDEX distinct_viewers_by_hour ON distinct_viewers (hour_start);
    )sql"},
};
static_assert(std::size(kMigrations) == SqliteStore::kSchemaVersion,
              "kSchemaVersion must name the last migration");

constexpr std::string_view kUpsertSql =
    "INSERT INTO samples (channel, bucket, viewers) VALUES (?1, ?2, ?3) "
    "ON CONFLICT (channel, bucket) DO UPDATE SET viewers = excluded.viewers";
// Served by the primary key (channel, bucket).
constexpr std::string_view kRangeSql =
    "SELECT bucket, viewers FROM samples "
    "WHERE channel = ?1 AND bucket BETWEEN ?2 AND ?3 ORDER BY bucket";
constexpr std::string_view kHasChannelSql = "SELECT 1 FROM samples WHERE channel = ?1 LIMIT 1";
// From the bucket index, which holds the primary key's channel too.
constexpr std::string_view kChannelsSql =
    "SELECT DISTINCT channel FROM samples WHERE bucket BETWEEN ?1 AND ?2 ORDER BY channel LIMIT ?3";
// Audience by period of ?4 seconds (core/audience.h): the peak, its first
// bucket, the sum and the number of stored buckets of each period, from a
// range scan of the primary key.
constexpr std::string_view kAudienceSql = R"sql(
  WITH s AS (
    SELECT bucket, viewers, (bucket / ?4) * ?4 AS period FROM samples
    WHERE channel = ?1 AND bucket BETWEEN ?2 AND ?3),
  m AS (
    SELECT period, MAX(viewers) AS peak, SUM(viewers) AS total, COUNT(*) AS n
    FROM s GROUP BY period)
  SELECT m.period, m.peak,
         (SELECT MIN(bucket) FROM s WHERE s.period = m.period AND s.viewers = m.peak),
         m.total, m.n
  FROM m ORDER BY m.period)sql";
// WITHOUT ROWID has no rowid to batch by, so the batch is picked by primary
// key from the bucket index (which covers it) and deleted by primary key.
constexpr std::string_view kPruneBatchSql =
    "DELETE FROM samples WHERE (channel, bucket) IN ("
    "SELECT channel, bucket FROM samples WHERE bucket < ?1 ORDER BY bucket LIMIT ?2)";

constexpr std::string_view kSketchGetSql =
    "SELECT sketch FROM distinct_viewers WHERE channel = ?1 AND hour_start = ?2 AND "
    "viewer_table = ?3";
constexpr std::string_view kSketchPutSql =
    "INSERT INTO distinct_viewers (channel, hour_start, viewer_table, sketch) "
    "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (channel, hour_start, viewer_table) "
    "DO UPDATE SET sketch = excluded.sketch";
constexpr std::string_view kSketchRangeSql =
    "SELECT hour_start, viewer_table, sketch FROM distinct_viewers "
    "WHERE channel = ?1 AND hour_start BETWEEN ?2 AND ?3 ORDER BY hour_start, viewer_table";
// An hour's sketch goes once the whole hour is older than the cut.
constexpr std::string_view kSketchPruneSql =
    "DELETE FROM distinct_viewers WHERE (channel, hour_start, viewer_table) IN ("
    "SELECT channel, hour_start, viewer_table FROM distinct_viewers "
    "WHERE hour_start <= ?1 - 3600 ORDER BY hour_start LIMIT ?2)";

std::int64_t ToEpochSeconds(Seconds t) { return t.time_since_epoch().count(); }
Seconds FromEpochSeconds(std::int64_t s) { return Seconds{std::chrono::seconds{s}}; }

Error NewerSchemaError(std::int64_t version, const std::filesystem::path& path) {
  return Error::InvalidArgument("database schema version " + std::to_string(version) +
                                " is newer than this headcount supports (" +
                                std::to_string(SqliteStore::kSchemaVersion) +
                                "): " + path.string());
}

Error BindError(Connection& connection, int rc, std::string_view op) {
  return connection.ErrorFrom(rc, op);
}

// Binds a channel and a range of buckets to parameters 1, 2 and 3 of
// `statement`, as the range, audience and sketch queries take them.
Status BindChannelRange(Connection& connection, Statement& statement, const ChannelId& channel,
                        Seconds from, Seconds to, std::string_view op) {
  for (int rc : {statement.BindText(1, channel), statement.BindInt64(2, ToEpochSeconds(from)),
                 statement.BindInt64(3, ToEpochSeconds(to))}) {
    if (rc != SQLITE_OK) return BindError(connection, rc, op);
  }
  return {};
}

// Brings the schema from its current version to kSchemaVersion, one
// migration per transaction. The version is read inside the write
// transaction, so two processes opening a new file at once migrate it once.
Status Migrate(Connection& connection) {
  constexpr std::string_view kOp = "migrate schema";
  for (;;) {
    Transaction transaction(connection);
    if (Status s = transaction.Begin(Transaction::Mode::kWrite, kOp); !s.ok()) return s;
    Result<std::int64_t> version = connection.QueryInt64("PRAGMA user_version", kOp);
    if (!version.ok()) return version.error();
    if (*version > SqliteStore::kSchemaVersion) {
      return NewerSchemaError(*version, connection.path());
    }
    if (*version < 0) {
      return Error::InvalidArgument("database schema version " + std::to_string(*version) +
                                    " is not a headcount schema: " + connection.path().string());
    }
    if (*version == SqliteStore::kSchemaVersion) return {};  // rolls back a no-op
    const Migration& next = kMigrations[*version];
    const std::string sql =
        std::string(next.sql) + ";\nPRAGMA user_version = " + std::to_string(next.version) + ";";
    if (Status s = connection.Exec(sql, kOp); !s.ok()) return s;
    if (Status s = transaction.Commit(kOp); !s.ok()) return s;
    spdlog::info("sqlite store: {} migrated to schema version {}", connection.path().string(),
                 next.version);
  }
}

// A read-only connection cannot migrate: the file must already be current.
Status CheckSchemaCurrent(Connection& connection) {
  constexpr std::string_view kOp = "read schema version";
  Result<std::int64_t> version = connection.QueryInt64("PRAGMA user_version", kOp);
  if (!version.ok()) return version.error();
  if (*version > SqliteStore::kSchemaVersion) {
    return NewerSchemaError(*version, connection.path());
  }
  if (*version != SqliteStore::kSchemaVersion) {
    return Error::InvalidArgument(
        "database schema version " + std::to_string(*version) +
        " is older than this headcount needs (" + std::to_string(SqliteStore::kSchemaVersion) +
        "); open it read-write once to upgrade it: " + connection.path().string());
  }
  return {};
}

// WAL lets readers (the HTTP API, `headcount history`) run beside the
// writer; synchronous=NORMAL is durable to application crashes in WAL mode
// and may lose only the last commits on power loss, a fair price per minute.
Status ConfigureForWriting(Connection& connection) {
  Result<std::string> mode = connection.QueryText("PRAGMA journal_mode = WAL", "enable WAL");
  if (!mode.ok()) return mode.error();
  if (*mode != "wal") {
    return Error::Io("enable WAL on " + connection.path().string() + ": journal mode stayed '" +
                     *mode + "'");
  }
  return connection.Exec("PRAGMA synchronous = NORMAL", "set synchronous");
}

}  // namespace

struct SqliteStore::Impl {
  // Declared first so it is closed after the statements below are finalized.
  std::unique_ptr<Connection> connection;
  Statement upsert;  // read-write stores only
  Statement prune;   // read-write stores only
  Statement range;
  Statement has_channel;
  Statement audience;
  Statement channels;
  Statement sketch_get;
  Statement sketch_put;    // read-write stores only
  Statement sketch_prune;  // read-write stores only
  Statement sketch_range;
};

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::filesystem::path& path,
                                                       SqliteStoreOptions options) {
  if (path.empty()) return Error::InvalidArgument("sqlite store: empty database path");
  if (options.busy_timeout.count() < 0) {
    return Error::InvalidArgument("sqlite store: negative busy timeout");
  }
  if (options.prune_batch_rows == 0) {
    return Error::InvalidArgument("sqlite store: prune_batch_rows must be positive");
  }
  std::error_code ec;
  int flags = 0;
  if (options.read_only) {
    if (!std::filesystem::exists(path, ec)) {
      return Error::NotFound("database file " + path.string() +
                             " does not exist (a read-only open does not create it)");
    }
    flags = SQLITE_OPEN_READONLY;
  } else {
    // The file is created as needed; its directory is not, so a mistyped
    // path fails here instead of growing a directory tree.
    const std::filesystem::path parent = path.parent_path();
    if (!parent.empty() && !std::filesystem::is_directory(parent, ec)) {
      return Error::NotFound("directory " + parent.string() + " of database file " + path.string() +
                             " does not exist");
    }
    flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  }

  Result<std::unique_ptr<Connection>> connection =
      Connection::Open(path, flags, options.busy_timeout);
  if (!connection.ok()) return connection.error();
  auto impl = std::make_unique<Impl>();
  impl->connection = std::move(connection).value();
  Connection& db = *impl->connection;

  if (options.read_only) {
    if (Status s = CheckSchemaCurrent(db); !s.ok()) return s.error();
  } else {
    if (Status s = ConfigureForWriting(db); !s.ok()) return s.error();
    if (Status s = Migrate(db); !s.ok()) return s.error();
  }

  struct Named {
    Statement* statement;
    std::string_view sql;
    bool writes;
  };
  for (const Named& named :
       {Named{&impl->upsert, kUpsertSql, true}, Named{&impl->prune, kPruneBatchSql, true},
        Named{&impl->range, kRangeSql, false}, Named{&impl->has_channel, kHasChannelSql, false},
        Named{&impl->audience, kAudienceSql, false}, Named{&impl->channels, kChannelsSql, false},
        Named{&impl->sketch_get, kSketchGetSql, false},
        Named{&impl->sketch_put, kSketchPutSql, true},
        Named{&impl->sketch_prune, kSketchPruneSql, true},
        Named{&impl->sketch_range, kSketchRangeSql, false}}) {
    if (named.writes && options.read_only) continue;
    Result<Statement> statement = db.Prepare(named.sql, "prepare statement");
    if (!statement.ok()) return statement.error();
    *named.statement = std::move(statement).value();
  }
  return std::unique_ptr<SqliteStore>(new SqliteStore(path, options, std::move(impl)));
}

SqliteStore::SqliteStore(std::filesystem::path path, SqliteStoreOptions options,
                         std::unique_ptr<Impl> impl)
    : path_(std::move(path)), options_(options), impl_(std::move(impl)) {}

SqliteStore::~SqliteStore() = default;

Error SqliteStore::ReadOnlyError(std::string_view op) const {
  return Error::InvalidArgument(std::string(op) + " on " + path_.string() +
                                ": the store is opened read-only");
}

Result<std::size_t> SqliteStore::Record(std::span<const Sample> samples) {
  constexpr std::string_view kOp = "Record";
  if (options_.read_only) return ReadOnlyError(kOp);
  if (samples.empty()) return std::size_t{0};
  // Written in key order (sorted before taking the lock): a tick's samples
  // come in the source's order (random ARNs for IVS), and inserting them in
  // that order touches B-tree pages at random; once the table outgrows
  // SQLite's page cache, each insert spills and re-reads pages (50,000
  // channels took 24 times as long per row as 10,000). Stable, so a later
  // sample for the same key still wins.
  std::vector<const Sample*> ordered;
  ordered.reserve(samples.size());
  for (const Sample& sample : samples) ordered.push_back(&sample);
  std::stable_sort(ordered.begin(), ordered.end(), [](const Sample* a, const Sample* b) {
    if (const int c = a->channel.compare(b->channel); c != 0) return c < 0;
    return a->bucket < b->bucket;
  });
  std::lock_guard lock(mu_);
  Connection& db = *impl_->connection;
  Transaction transaction(db);
  if (Status s = transaction.Begin(Transaction::Mode::kWrite, kOp); !s.ok()) return s.error();
  std::size_t written = 0;
  Statement& upsert = impl_->upsert;
  for (const Sample* sample_ptr : ordered) {
    const Sample& sample = *sample_ptr;
    ScopedReset reset(upsert);
    for (int rc :
         {upsert.BindText(1, sample.channel), upsert.BindInt64(2, ToEpochSeconds(sample.bucket)),
          upsert.BindInt64(3, sample.viewers)}) {
      if (rc != SQLITE_OK) return BindError(db, rc, kOp);
    }
    if (Result<bool> row = upsert.Step(kOp, path_); !row.ok()) {
      return Error(row.error().code(), row.error().message() + " (channel " + sample.channel +
                                           ", bucket " +
                                           std::to_string(ToEpochSeconds(sample.bucket)) + ")");
    }
    written += static_cast<std::size_t>(db.Changes());
  }
  if (Status s = transaction.Commit(kOp); !s.ok()) return s.error();
  return written;
}

Status SqliteStore::AppendRange(const ChannelId& channel, Seconds from, Seconds to,
                                std::string_view op, std::vector<Sample>& out) {
  Statement& range = impl_->range;
  ScopedReset reset(range);
  if (Status s = BindChannelRange(*impl_->connection, range, channel, from, to, op); !s.ok()) {
    return s;
  }
  for (;;) {
    Result<bool> row = range.Step(op, path_);
    if (!row.ok()) return row.error();
    if (!*row) return {};
    out.push_back(Sample{channel, FromEpochSeconds(range.ColumnInt64(0)), range.ColumnInt64(1)});
  }
}

Result<std::vector<Sample>> SqliteStore::Window(std::span<const ChannelId> channels, Seconds from,
                                                Seconds to) {
  constexpr std::string_view kOp = "Window";
  std::vector<Sample> out;
  if (channels.empty() || from > to) return out;
  std::unordered_set<std::string_view> seen;
  seen.reserve(channels.size());
  std::lock_guard lock(mu_);
  // One snapshot for every channel, and one lock acquisition instead of one
  // per channel: a point range on the primary key per channel is then cheap
  // (10,000 channels take milliseconds).
  Transaction transaction(*impl_->connection);
  if (Status s = transaction.Begin(Transaction::Mode::kRead, kOp); !s.ok()) return s.error();
  for (const ChannelId& channel : channels) {
    if (!seen.insert(channel).second) continue;
    if (Status s = AppendRange(channel, from, to, kOp, out); !s.ok()) return s.error();
  }
  if (Status s = transaction.Commit(kOp); !s.ok()) return s.error();
  return out;
}

Result<std::vector<Sample>> SqliteStore::History(const ChannelId& channel, Seconds from,
                                                 Seconds to) {
  std::vector<Sample> out;
  if (from > to) return out;
  std::lock_guard lock(mu_);
  // A single statement is its own read transaction.
  if (Status s = AppendRange(channel, from, to, "History", out); !s.ok()) return s.error();
  return out;
}

Result<std::vector<AudienceSummary>> SqliteStore::Audience(const ChannelId& channel, Seconds from,
                                                           Seconds to, AudiencePeriod period) {
  constexpr std::string_view kOp = "Audience";
  std::vector<AudienceSummary> out;
  if (from > to) return out;
  std::lock_guard lock(mu_);
  Statement& audience = impl_->audience;
  ScopedReset reset(audience);
  if (Status s = BindChannelRange(*impl_->connection, audience, channel, from, to, kOp); !s.ok()) {
    return s.error();
  }
  if (int rc = audience.BindInt64(4, AudiencePeriodLength(period).count()); rc != SQLITE_OK) {
    return BindError(*impl_->connection, rc, kOp);
  }
  for (;;) {
    Result<bool> row = audience.Step(kOp, path_);
    if (!row.ok()) return row.error();
    if (!*row) break;
    AudienceSummary a;
    a.start = FromEpochSeconds(audience.ColumnInt64(0));
    a.peak = audience.ColumnInt64(1);
    a.peak_at = FromEpochSeconds(audience.ColumnInt64(2));
    a.viewer_sum = audience.ColumnInt64(3);
    a.buckets = audience.ColumnInt64(4);
    out.push_back(a);
  }
  if (out.empty()) return out;
  std::vector<HourSketch> sketches;
  const Seconds first_hour = std::chrono::floor<std::chrono::hours>(from);
  if (Status s = AppendSketches(channel, first_hour, to, kOp, sketches); !s.ok()) return s.error();
  AddDistinct(out, sketches, period);
  return out;
}

Status SqliteStore::AppendSketches(const ChannelId& channel, Seconds from, Seconds to,
                                   std::string_view op, std::vector<HourSketch>& out) {
  Statement& range = impl_->sketch_range;
  ScopedReset reset(range);
  if (Status s = BindChannelRange(*impl_->connection, range, channel, from, to, op); !s.ok()) {
    return s;
  }
  for (;;) {
    Result<bool> row = range.Step(op, path_);
    if (!row.ok()) return row.error();
    if (!*row) return {};
    const Seconds hour = FromEpochSeconds(range.ColumnInt64(0));
    Result<HyperLogLog> sketch = HyperLogLog::Deserialize(range.ColumnBlob(2));
    if (!sketch.ok()) {
      return Error::Io(std::string(op) + ": the sketch of " + channel + " at " +
                       std::to_string(ToEpochSeconds(hour)) + " in " + path_.string() + ": " +
                       sketch.error().message());
    }
    out.push_back({channel, hour, static_cast<std::uint8_t>(range.ColumnInt64(1)),
                   std::move(sketch).value()});
  }
}

Result<std::vector<HourSketch>> SqliteStore::Sketches(const ChannelId& channel, Seconds from,
                                                      Seconds to) {
  std::vector<HourSketch> out;
  if (from > to) return out;
  std::lock_guard lock(mu_);
  if (Status s = AppendSketches(channel, from, to, "Sketches", out); !s.ok()) return s.error();
  return out;
}

Status SqliteStore::MergeSketches(std::span<const HourSketch> sketches) {
  constexpr std::string_view kOp = "MergeSketches";
  if (options_.read_only) return ReadOnlyError(kOp);
  if (sketches.empty()) return {};
  std::lock_guard lock(mu_);
  Connection& db = *impl_->connection;
  // A write transaction from its start: no other writer reads and writes
  // the same row in between.
  Transaction transaction(db);
  if (Status s = transaction.Begin(Transaction::Mode::kWrite, kOp); !s.ok()) return s;
  for (const HourSketch& in : sketches) {
    HyperLogLog merged = in.sketch;
    Statement& get = impl_->sketch_get;
    {
      ScopedReset reset(get);
      for (int rc : {get.BindText(1, in.channel), get.BindInt64(2, ToEpochSeconds(in.hour)),
                     get.BindInt64(3, in.table)}) {
        if (rc != SQLITE_OK) return BindError(db, rc, kOp);
      }
      Result<bool> row = get.Step(kOp, path_);
      if (!row.ok()) return row.error();
      if (*row) {
        Result<HyperLogLog> stored = HyperLogLog::Deserialize(get.ColumnBlob(0));
        // A stored row that is not a sketch is replaced rather than kept
        // failing every merge of its hour.
        if (stored.ok()) {
          merged.Merge(*stored);
        } else {
          spdlog::warn("sqlite store: replacing a sketch of {} that cannot be read: {}", in.channel,
                       stored.error().message());
        }
      }
    }
    const std::string bytes = merged.Serialize();
    Statement& put = impl_->sketch_put;
    ScopedReset reset(put);
    for (int rc : {put.BindText(1, in.channel), put.BindInt64(2, ToEpochSeconds(in.hour)),
                   put.BindInt64(3, in.table), put.BindBlob(4, bytes)}) {
      if (rc != SQLITE_OK) return BindError(db, rc, kOp);
    }
    if (Result<bool> row = put.Step(kOp, path_); !row.ok()) return row.error();
  }
  return transaction.Commit(kOp);
}

Result<std::vector<ChannelId>> SqliteStore::Channels(Seconds from, Seconds to, std::size_t limit) {
  constexpr std::string_view kOp = "Channels";
  std::vector<ChannelId> out;
  if (from > to || limit == 0) return out;
  std::lock_guard lock(mu_);
  Statement& channels = impl_->channels;
  ScopedReset reset(channels);
  const auto most = static_cast<std::int64_t>(
      std::min<std::size_t>(limit, std::numeric_limits<std::int64_t>::max()));
  for (int rc : {channels.BindInt64(1, ToEpochSeconds(from)),
                 channels.BindInt64(2, ToEpochSeconds(to)), channels.BindInt64(3, most)}) {
    if (rc != SQLITE_OK) return BindError(*impl_->connection, rc, kOp);
  }
  for (;;) {
    Result<bool> row = channels.Step(kOp, path_);
    if (!row.ok()) return row.error();
    if (!*row) break;
    out.emplace_back(channels.ColumnText(0));
  }
  return out;
}

Result<bool> SqliteStore::HasChannel(const ChannelId& channel) {
  constexpr std::string_view kOp = "HasChannel";
  std::lock_guard lock(mu_);
  Statement& has_channel = impl_->has_channel;
  ScopedReset reset(has_channel);
  if (int rc = has_channel.BindText(1, channel); rc != SQLITE_OK) {
    return BindError(*impl_->connection, rc, kOp);
  }
  return has_channel.Step(kOp, path_);
}

Result<std::size_t> SqliteStore::PruneBatch(Statement& prune, std::int64_t before) {
  constexpr std::string_view kOp = "Prune";
  Connection& db = *impl_->connection;
  Transaction transaction(db);
  if (Status s = transaction.Begin(Transaction::Mode::kWrite, kOp); !s.ok()) return s.error();
  {
    ScopedReset reset(prune);
    for (int rc : {prune.BindInt64(1, before),
                   prune.BindInt64(2, static_cast<std::int64_t>(options_.prune_batch_rows))}) {
      if (rc != SQLITE_OK) return BindError(db, rc, kOp);
    }
    if (Result<bool> row = prune.Step(kOp, path_); !row.ok()) return row.error();
  }
  const auto deleted = static_cast<std::size_t>(db.Changes());
  if (Status s = transaction.Commit(kOp); !s.ok()) return s.error();
  return deleted;
}

Result<std::size_t> SqliteStore::Prune(Seconds before, const std::stop_token& stop,
                                       const PruneProgress& progress) {
  if (options_.read_only) return ReadOnlyError("Prune");
  std::size_t total = 0;
  for (Statement* prune : {&impl_->prune, &impl_->sketch_prune}) {
    while (!stop.stop_requested()) {
      Result<std::size_t> batch = [&] {
        std::lock_guard lock(mu_);
        return PruneBatch(*prune, ToEpochSeconds(before));
      }();
      if (!batch.ok()) return batch.error();
      total += *batch;
      // Samples: every batch, the last short one too; sketches: those that deleted some.
      if (progress && (prune == &impl_->prune || *batch > 0)) progress(*batch);
      if (*batch < options_.prune_batch_rows) break;  // nothing older is left
    }
  }
  return total;
}

}  // namespace headcount
