// The PostgreSQL Store. Thread-safe: the pool hands each call a connection
// of its own; the store keeps no other mutable state.
#include "store/postgres/postgres_store.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <optional>
#include <pqxx/pqxx>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "store/postgres/postgres_pool.h"
#include "store/postgres/postgres_url.h"

namespace headcount {
namespace {

// One schema step, applied with its row in headcount_schema in one
// transaction. Append only; never edit a released migration. IF NOT EXISTS
// so that a database whose schema table was dropped by hand is adopted,
// not refused.
struct Migration {
  int version;
  const char* sql;
};

constexpr Migration kMigrations[] = {
    {1, R"sql(
      CREATE TABLE IF NOT EXISTS headcount_samples (
        channel text NOT NULL,
        bucket timestamptz NOT NULL,  -- the bucket's start
        viewers bigint NOT NULL CHECK (viewers >= 0),
        PRIMARY KEY (channel, bucket)
      );
      -- Prune deletes by age across all channels.
      CREATE INDEX IF NOT EXISTS headcount_samples_by_bucket ON headcount_samples (bucket);
    )sql"},
    {2, R"sql(
      CREATE TABLE IF NOT EXISTS headcount_distinct_viewers (
        channel text NOT NULL,
        hour_start timestamptz NOT NULL,  -- the UTC hour's start
        viewer_table smallint NOT NULL,   -- 0 origin sessions, 1 heartbeat tokens, 2 CMCD sids
        sketch bytea NOT NULL,            -- a HyperLogLog, core/hyperloglog.h's bytes
        PRIMARY KEY (channel, hour_start, viewer_table)
      );
      -- Prune deletes by age across all channels.
      CREATE INDEX IF NOT EXISTS headcount_distinct_viewers_by_hour
        ON headcount_distinct_viewers (hour_start);
    )sql"},
};
static_assert(std::size(kMigrations) == PostgresStore::kSchemaVersion,
              "kSchemaVersion must name the last migration");

constexpr char kSchemaTableSql[] =
    "CREATE TABLE IF NOT EXISTS headcount_schema ("
    "version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())";
constexpr char kSchemaVersionSql[] = "SELECT coalesce(max(version), 0) FROM headcount_schema";
// Any constant: serializes migrations of one database across processes.
constexpr char kMigrationLockSql[] = "SELECT pg_advisory_xact_lock(7213620917)";

// Prepared statements, by name. Arrays travel as one parameter each, so a
// batch or a window is one round trip.
constexpr char kUpsert[] = "headcount_upsert";
constexpr char kUpsertSql[] =
    "INSERT INTO headcount_samples (channel, bucket, viewers) "
    "SELECT c, to_timestamp(b), v FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS t(c, b, "
    "v) "
    "ON CONFLICT (channel, bucket) DO UPDATE SET viewers = excluded.viewers";
constexpr char kWindow[] = "headcount_window";
constexpr char kWindowSql[] =
    "SELECT channel, extract(epoch FROM bucket)::bigint, viewers FROM headcount_samples "
    "WHERE channel = ANY($1::text[]) "
    "AND bucket BETWEEN to_timestamp($2::bigint) AND to_timestamp($3::bigint)";
constexpr char kRange[] = "headcount_range";
constexpr char kRangeSql[] =
    "SELECT extract(epoch FROM bucket)::bigint, viewers FROM headcount_samples "
    "WHERE channel = $1 AND bucket BETWEEN to_timestamp($2::bigint) AND to_timestamp($3::bigint) "
    "ORDER BY bucket";
constexpr char kHasChannel[] = "headcount_has_channel";
constexpr char kHasChannelSql[] = "SELECT 1 FROM headcount_samples WHERE channel = $1 LIMIT 1";
// Audience by period of $4 seconds (core/audience.h): the peak, its first
// bucket, the sum and the number of stored buckets of each period, from a
// range scan of the primary key.
constexpr char kAudience[] = "headcount_audience";
constexpr char kAudienceSql[] =
    "SELECT p, max(v), (array_agg(b ORDER BY v DESC, b))[1], sum(v)::bigint, count(*) "
    "FROM (SELECT extract(epoch FROM bucket)::bigint AS b, viewers AS v, "
    "(extract(epoch FROM bucket)::bigint / $4::bigint) * $4::bigint AS p "
    "FROM headcount_samples WHERE channel = $1 "
    "AND bucket BETWEEN to_timestamp($2::bigint) AND to_timestamp($3::bigint)) AS s "
    "GROUP BY p ORDER BY p";
// From the bucket index.
constexpr char kChannels[] = "headcount_channels";
constexpr char kChannelsSql[] =
    "SELECT DISTINCT channel FROM headcount_samples "
    "WHERE bucket BETWEEN to_timestamp($1::bigint) AND to_timestamp($2::bigint) "
    "ORDER BY channel LIMIT $3::bigint";
constexpr char kPruneBatch[] = "headcount_prune_batch";
constexpr char kPruneBatchSql[] =
    "DELETE FROM headcount_samples WHERE (channel, bucket) IN ("
    "SELECT channel, bucket FROM headcount_samples WHERE bucket < to_timestamp($1::bigint) "
    "ORDER BY bucket LIMIT $2::bigint)";

// The distinct viewers' sketches travel as hex text (decode/encode on the
// server): the same with every libpqxx version, where bytea parameters are not.
constexpr char kSketchInsert[] = "headcount_sketch_insert";
constexpr char kSketchInsertSql[] =
    "INSERT INTO headcount_distinct_viewers (channel, hour_start, viewer_table, sketch) "
    "VALUES ($1, to_timestamp($2::bigint), $3::smallint, decode($4, 'hex')) "
    "ON CONFLICT DO NOTHING";
constexpr char kSketchLock[] = "headcount_sketch_lock";
constexpr char kSketchLockSql[] =
    "SELECT encode(sketch, 'hex') FROM headcount_distinct_viewers "
    "WHERE channel = $1 AND hour_start = to_timestamp($2::bigint) AND viewer_table = $3::smallint "
    "FOR UPDATE";
constexpr char kSketchUpdate[] = "headcount_sketch_update";
constexpr char kSketchUpdateSql[] =
    "UPDATE headcount_distinct_viewers SET sketch = decode($4, 'hex') "
    "WHERE channel = $1 AND hour_start = to_timestamp($2::bigint) AND viewer_table = $3::smallint";
constexpr char kSketchRange[] = "headcount_sketch_range";
constexpr char kSketchRangeSql[] =
    "SELECT extract(epoch FROM hour_start)::bigint, viewer_table, encode(sketch, 'hex') "
    "FROM headcount_distinct_viewers WHERE channel = $1 "
    "AND hour_start BETWEEN to_timestamp($2::bigint) AND to_timestamp($3::bigint) "
    "ORDER BY hour_start, viewer_table";
// An hour's sketch goes once the whole hour is older than the cut.
constexpr char kSketchPrune[] = "headcount_sketch_prune";
constexpr char kSketchPruneSql[] =
    "DELETE FROM headcount_distinct_viewers WHERE (channel, hour_start, viewer_table) IN ("
    "SELECT channel, hour_start, viewer_table FROM headcount_distinct_viewers "
    "WHERE hour_start <= to_timestamp($1::bigint - 3600) ORDER BY hour_start LIMIT $2::bigint)";

std::string ToHex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * bytes.size());
  for (const char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out += kDigits[b >> 4];
    out += kDigits[b & 0xF];
  }
  return out;
}

// The bytes of lowercase hex text (what encode(..., 'hex') gives); nullopt if it is not.
std::optional<std::string> FromHex(std::string_view hex) {
  const auto value = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = value(hex[i]);
    const int lo = value(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

// The sketch stored as `hex`, or kIo naming where it is.
Result<HyperLogLog> StoredSketch(std::string_view hex, const ChannelId& channel,
                                 std::int64_t hour) {
  const std::optional<std::string> bytes = FromHex(hex);
  Result<HyperLogLog> sketch = bytes ? HyperLogLog::Deserialize(*bytes)
                                     : Result<HyperLogLog>(Error::InvalidArgument("not hex"));
  if (sketch.ok()) return sketch;
  return Error::Io("the sketch of " + channel + " at " + std::to_string(hour) + ": " +
                   sketch.error().message());
}

// Lowers the statement timeout of `transaction` to `left`, when given.
void LimitTo(pqxx::transaction_base& transaction,
             const std::optional<std::chrono::milliseconds>& left) {
  if (left) {
    transaction.exec("SET LOCAL statement_timeout = " + std::to_string(left->count()));
  }
}

std::int64_t EpochSeconds(Seconds t) { return t.time_since_epoch().count(); }
Seconds FromEpoch(std::int64_t s) { return Seconds{std::chrono::seconds{s}}; }

// A PostgreSQL array literal of text: {"a","b\"c"}; every element quoted,
// '"' and '\' escaped, so any channel id travels unchanged.
class TextArray {
 public:
  void Add(std::string_view text) {
    out_ += out_.size() > 1 ? ",\"" : "\"";
    for (const char c : text) {
      if (c == '"' || c == '\\') out_ += '\\';
      out_ += c;
    }
    out_ += '"';
  }
  std::string Done() { return out_ + "}"; }

 private:
  std::string out_ = "{";
};

class IntArray {
 public:
  void Add(std::int64_t v) {
    if (out_.size() > 1) out_ += ',';
    out_ += std::to_string(v);
  }
  std::string Done() { return out_ + "}"; }

 private:
  std::string out_ = "{";
};

// Brings the schema to kSchemaVersion; `read_only` only checks it.
void Migrate(pqxx::connection_base& connection, bool read_only, std::string* error) {
  pqxx::work work(connection);
  if (read_only) {
    const pqxx::result exists = work.exec("SELECT to_regclass('headcount_schema') IS NOT NULL");
    const int version = exists[0][0].as<bool>() ? work.exec(kSchemaVersionSql)[0][0].as<int>() : 0;
    if (version != PostgresStore::kSchemaVersion) {
      *error = "database schema version " + std::to_string(version) + " is not the " +
               std::to_string(PostgresStore::kSchemaVersion) +
               " this headcount reads; start `headcount serve` on it once to create or upgrade it";
    }
    return;
  }
  work.exec(kMigrationLockSql);
  work.exec(kSchemaTableSql);
  const int version = work.exec(kSchemaVersionSql)[0][0].as<int>();
  if (version > PostgresStore::kSchemaVersion) {
    *error = "database schema version " + std::to_string(version) +
             " is newer than this headcount supports (" +
             std::to_string(PostgresStore::kSchemaVersion) + ")";
    return;
  }
  for (const Migration& migration : kMigrations) {
    if (migration.version <= version) continue;
    work.exec(migration.sql);
    work.exec("INSERT INTO headcount_schema (version) VALUES (" +
              std::to_string(migration.version) + ")");
    spdlog::info("postgres store: migrated to schema version {}", migration.version);
  }
  work.commit();
}

}  // namespace

Result<std::unique_ptr<PostgresStore>> PostgresStore::Open(PostgresStoreOptions options) {
  if (Status s = CheckPostgresUrl(options.url); !s.ok()) {
    return Error::InvalidArgument("postgres store: " + s.error().message());
  }
  if (options.connect_timeout.count() <= 0 || options.prune_batch_rows == 0) {
    return Error::InvalidArgument(
        "postgres store: connect_timeout and prune_batch_rows must be positive");
  }
  postgres::PoolOptions pool_options;
  pool_options.url = WithPostgresParam(options.url, "connect_timeout",
                                       std::to_string(options.connect_timeout.count()));
  pool_options.url = WithPostgresParam(pool_options.url, "application_name", "headcount");
  pool_options.size = options.pool_size;
  pool_options.statement_timeout = options.statement_timeout;
  pool_options.wait = options.pool_wait;
  pool_options.statements = {
      {kWindow, kWindowSql},     {kRange, kRangeSql},       {kHasChannel, kHasChannelSql},
      {kAudience, kAudienceSql}, {kChannels, kChannelsSql}, {kSketchRange, kSketchRangeSql},
  };
  if (!options.read_only) {
    pool_options.statements.emplace_back(kUpsert, kUpsertSql);
    pool_options.statements.emplace_back(kPruneBatch, kPruneBatchSql);
    pool_options.statements.emplace_back(kSketchInsert, kSketchInsertSql);
    pool_options.statements.emplace_back(kSketchLock, kSketchLockSql);
    pool_options.statements.emplace_back(kSketchUpdate, kSketchUpdateSql);
    pool_options.statements.emplace_back(kSketchPrune, kSketchPruneSql);
  }
  auto pool = postgres::Pool::Create(std::move(pool_options));
  if (!pool.ok()) return pool.error();

  std::string schema_error;
  const Status migrated = (*pool)->Run("open", [&](pqxx::connection_base& connection) {
    Migrate(connection, options.read_only, &schema_error);
  });
  if (!migrated.ok()) return migrated.error();
  if (!schema_error.empty()) {
    return Error::InvalidArgument("postgres store " + RedactPostgresUrl(options.url) + ": " +
                                  schema_error);
  }
  return std::unique_ptr<PostgresStore>(new PostgresStore(std::move(options), std::move(*pool)));
}

PostgresStore::PostgresStore(PostgresStoreOptions options, std::unique_ptr<postgres::Pool> pool)
    : options_(std::move(options)),
      redacted_url_(RedactPostgresUrl(options_.url)),
      pool_(std::move(pool)) {}

PostgresStore::~PostgresStore() = default;

Error PostgresStore::ReadOnlyError(std::string_view op) const {
  return Error::InvalidArgument("postgres " + std::string(op) + " on " + redacted_url_ +
                                ": the store is opened read-only");
}

Result<std::optional<std::chrono::milliseconds>> PostgresStore::TimeLeft(
    std::string_view op) const {
  std::optional<std::chrono::milliseconds> left;
  if (options_.time_left) left = options_.time_left();
  if (!left || *left >= options_.statement_timeout) {
    return std::optional<std::chrono::milliseconds>();
  }
  if (left->count() <= 0) {
    return Error::DeadlineExceeded("postgres " + std::string(op) +
                                   ": the deadline passed before the call started");
  }
  return left;
}

Status PostgresStore::Read(std::string_view op,
                           const std::function<void(pqxx::transaction_base&)>& read) {
  const auto left = TimeLeft(op);
  if (!left.ok()) return left.error();
  return pool_->Run(op, [&](pqxx::connection_base& connection) {
    pqxx::read_transaction transaction(connection);
    LimitTo(transaction, *left);
    read(transaction);
  });
}

Result<std::size_t> PostgresStore::Record(std::span<const Sample> samples) {
  constexpr std::string_view kOp = "Record";
  if (options_.read_only) return ReadOnlyError(kOp);
  // One row per key, the last sample winning: ON CONFLICT DO UPDATE refuses
  // a statement that touches a row twice.
  std::unordered_map<std::string_view, std::unordered_map<std::int64_t, std::size_t>> last;
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const Sample& s = samples[i];
    if (s.viewers < 0) {
      return Error::InvalidArgument("postgres Record: negative viewers for channel " + s.channel);
    }
    auto [it, inserted] = last[s.channel].try_emplace(EpochSeconds(s.bucket), i);
    if (inserted) {
      order.push_back(i);
    } else {
      it->second = i;
    }
  }
  if (order.empty()) return std::size_t{0};
  // Written in key order: two nodes upserting the same buckets (each listing
  // channels its own way) then lock the rows in one order, where opposite
  // orders deadlock and fail one node's tick.
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (const int c = samples[a].channel.compare(samples[b].channel); c != 0) return c < 0;
    return samples[a].bucket < samples[b].bucket;
  });
  const auto left = TimeLeft(kOp);
  if (!left.ok()) return left.error();
  const Status s = pool_->Run(kOp, [&](pqxx::connection_base& connection) {
    pqxx::work work(connection);
    LimitTo(work, *left);
    for (std::size_t begin = 0; begin < order.size(); begin += kPostgresRecordChunk) {
      TextArray channels;
      IntArray buckets;
      IntArray viewers;
      const std::size_t end = std::min(order.size(), begin + kPostgresRecordChunk);
      for (std::size_t k = begin; k < end; ++k) {
        const Sample& first = samples[order[k]];
        const Sample& sample = samples[last[first.channel][EpochSeconds(first.bucket)]];
        channels.Add(sample.channel);
        buckets.Add(EpochSeconds(sample.bucket));
        viewers.Add(sample.viewers);
      }
      work.exec_prepared(kUpsert, channels.Done(), buckets.Done(), viewers.Done());
    }
    work.commit();
  });
  if (!s.ok()) return s.error();
  return order.size();
}

Result<std::vector<Sample>> PostgresStore::Window(std::span<const ChannelId> channels, Seconds from,
                                                  Seconds to) {
  std::vector<Sample> out;
  if (channels.empty() || from > to) return out;
  std::unordered_map<std::string_view, std::size_t> rank;  // first position given
  TextArray names;
  for (const ChannelId& channel : channels) {
    if (rank.try_emplace(channel, rank.size()).second) names.Add(channel);
  }
  const std::string names_literal = names.Done();
  const Status s = Read("Window", [&](pqxx::transaction_base& read) {
    out.clear();  // a second attempt starts over
    const pqxx::result rows =
        read.exec_prepared(kWindow, names_literal, EpochSeconds(from), EpochSeconds(to));
    out.reserve(rows.size());
    for (const auto& row : rows) {
      out.push_back(Sample{row[0].as<std::string>(), FromEpoch(row[1].as<std::int64_t>()),
                           row[2].as<std::int64_t>()});
    }
  });
  if (!s.ok()) return s.error();
  std::sort(out.begin(), out.end(), [&](const Sample& a, const Sample& b) {
    const std::size_t ra = rank.at(a.channel);
    const std::size_t rb = rank.at(b.channel);
    return ra != rb ? ra < rb : a.bucket < b.bucket;
  });
  return out;
}

Result<std::vector<Sample>> PostgresStore::History(const ChannelId& channel, Seconds from,
                                                   Seconds to) {
  std::vector<Sample> out;
  if (from > to) return out;
  const Status s = Read("History", [&](pqxx::transaction_base& read) {
    out.clear();
    const pqxx::result rows =
        read.exec_prepared(kRange, channel, EpochSeconds(from), EpochSeconds(to));
    out.reserve(rows.size());
    for (const auto& row : rows) {
      out.push_back(
          Sample{channel, FromEpoch(row[0].as<std::int64_t>()), row[1].as<std::int64_t>()});
    }
  });
  if (!s.ok()) return s.error();
  return out;
}

Result<bool> PostgresStore::HasChannel(const ChannelId& channel) {
  bool found = false;
  const Status s = Read("HasChannel", [&](pqxx::transaction_base& read) {
    found = !read.exec_prepared(kHasChannel, channel).empty();
  });
  if (!s.ok()) return s.error();
  return found;
}

Result<std::vector<AudienceSummary>> PostgresStore::Audience(const ChannelId& channel, Seconds from,
                                                             Seconds to, AudiencePeriod period) {
  std::vector<AudienceSummary> out;
  if (from > to) return out;
  const Status s = Read("Audience", [&](pqxx::transaction_base& read) {
    out.clear();
    const pqxx::result rows =
        read.exec_prepared(kAudience, channel, EpochSeconds(from), EpochSeconds(to),
                           static_cast<std::int64_t>(AudiencePeriodLength(period).count()));
    out.reserve(rows.size());
    for (const auto& row : rows) {
      AudienceSummary a;
      a.start = FromEpoch(row[0].as<std::int64_t>());
      a.peak = row[1].as<std::int64_t>();
      a.peak_at = FromEpoch(row[2].as<std::int64_t>());
      a.viewer_sum = row[3].as<std::int64_t>();
      a.buckets = row[4].as<std::int64_t>();
      out.push_back(a);
    }
  });
  if (!s.ok()) return s.error();
  if (out.empty()) return out;
  auto sketches = Sketches(channel, std::chrono::floor<std::chrono::hours>(from), to);
  if (!sketches.ok()) return sketches.error();
  AddDistinct(out, *sketches, period);
  return out;
}

Status PostgresStore::MergeSketches(std::span<const HourSketch> sketches) {
  constexpr std::string_view kOp = "MergeSketches";
  if (options_.read_only) return ReadOnlyError(kOp);
  if (sketches.empty()) return {};
  // In key order, as Record writes: two nodes merging the same hours lock
  // the rows in one order.
  std::vector<const HourSketch*> order;
  order.reserve(sketches.size());
  for (const HourSketch& sketch : sketches) order.push_back(&sketch);
  std::sort(order.begin(), order.end(), [](const HourSketch* a, const HourSketch* b) {
    return std::tie(a->channel, a->hour, a->table) < std::tie(b->channel, b->hour, b->table);
  });
  const auto left = TimeLeft(kOp);
  if (!left.ok()) return left.error();
  std::string unreadable;
  Status s = pool_->Run(kOp, [&](pqxx::connection_base& connection) {
    unreadable.clear();
    pqxx::work work(connection);
    LimitTo(work, *left);
    for (const HourSketch* in : order) {
      const std::int64_t hour = EpochSeconds(in->hour);
      const int table = in->table;
      // A new row, or (once another writer's insert committed) the row
      // locked, merged here and written back: never a lost merge.
      if (work.exec_prepared(kSketchInsert, in->channel, hour, table, ToHex(in->sketch.Serialize()))
              .affected_rows() == 1) {
        continue;
      }
      const pqxx::result row = work.exec_prepared(kSketchLock, in->channel, hour, table);
      HyperLogLog merged = in->sketch;
      if (!row.empty()) {
        Result<HyperLogLog> stored = StoredSketch(row[0][0].as<std::string>(), in->channel, hour);
        // One that cannot be read is replaced rather than failing every merge of its hour.
        if (stored.ok()) {
          merged.Merge(*stored);
        } else {
          unreadable = stored.error().message();
        }
      }
      work.exec_prepared(kSketchUpdate, in->channel, hour, table, ToHex(merged.Serialize()));
    }
    work.commit();
  });
  if (!unreadable.empty()) spdlog::warn("postgres store: replaced {}", unreadable);
  return s;
}

Result<std::vector<HourSketch>> PostgresStore::Sketches(const ChannelId& channel, Seconds from,
                                                        Seconds to) {
  std::vector<HourSketch> out;
  if (from > to) return out;
  std::optional<Error> bad;
  const Status s = Read("Sketches", [&](pqxx::transaction_base& read) {
    out.clear();
    bad.reset();
    const pqxx::result rows =
        read.exec_prepared(kSketchRange, channel, EpochSeconds(from), EpochSeconds(to));
    for (const auto& row : rows) {
      const std::int64_t hour = row[0].as<std::int64_t>();
      Result<HyperLogLog> sketch = StoredSketch(row[2].as<std::string>(), channel, hour);
      if (!sketch.ok()) {
        bad = sketch.error();
        return;
      }
      out.push_back({channel, FromEpoch(hour), static_cast<std::uint8_t>(row[1].as<int>()),
                     std::move(sketch).value()});
    }
  });
  if (!s.ok()) return s.error();
  if (bad) return Error::Io("postgres Sketches on " + redacted_url_ + ": " + bad->message());
  return out;
}

Result<std::vector<ChannelId>> PostgresStore::Channels(Seconds from, Seconds to,
                                                       std::size_t limit) {
  std::vector<ChannelId> out;
  if (from > to || limit == 0) return out;
  const auto most = static_cast<std::int64_t>(
      std::min<std::size_t>(limit, std::numeric_limits<std::int64_t>::max()));
  const Status s = Read("Channels", [&](pqxx::transaction_base& read) {
    out.clear();
    const pqxx::result rows =
        read.exec_prepared(kChannels, EpochSeconds(from), EpochSeconds(to), most);
    out.reserve(rows.size());
    for (const auto& row : rows) out.push_back(row[0].as<std::string>());
  });
  if (!s.ok()) return s.error();
  return out;
}

Result<std::size_t> PostgresStore::Prune(Seconds before, const std::stop_token& stop) {
  if (options_.read_only) return ReadOnlyError("Prune");
  std::size_t total = 0;
  for (const char* statement : {kPruneBatch, kSketchPrune}) {
    while (!stop.stop_requested()) {
      std::size_t deleted = 0;
      const Status s = pool_->Run("Prune", [&](pqxx::connection_base& connection) {
        pqxx::work work(connection);
        deleted = work.exec_prepared(statement, EpochSeconds(before),
                                     static_cast<std::int64_t>(options_.prune_batch_rows))
                      .affected_rows();
        work.commit();
      });
      if (!s.ok()) return s.error();
      total += deleted;
      if (deleted < options_.prune_batch_rows) break;  // nothing older is left
    }
  }
  return total;
}

}  // namespace headcount
