// The shared Store: samples in a PostgreSQL table, one row per (channel,
// bucket), for several `headcount serve` nodes writing one history.
// Thread-safe: every call may run on many threads at once; each takes a
// connection of a small pool (postgres_pool.h) for its duration.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <vector>

#include "core/distinct_store.h"
#include "core/history.h"
#include "core/result.h"
#include "core/samples.h"
#include "core/tick.h"

namespace pqxx {
class transaction_base;
}  // namespace pqxx

namespace headcount {

namespace postgres {
class Pool;
}  // namespace postgres

// Connections one store opens at most: a tick, the pruner and a few API
// readers at once.
inline constexpr std::size_t kDefaultPostgresPoolSize = 4;
// libpq's connect_timeout, added to the URI unless it sets one.
inline constexpr std::chrono::seconds kDefaultPostgresConnectTimeout{5};
// The server cancels a statement running longer (statement_timeout).
inline constexpr std::chrono::milliseconds kDefaultPostgresStatementTimeout{10000};
// How long a call waits for a free connection when all are busy.
inline constexpr std::chrono::milliseconds kDefaultPostgresPoolWait{10000};
// Rows one Prune transaction deletes at most (short locks, short WAL bursts).
inline constexpr std::size_t kDefaultPostgresPruneBatchRows = 10000;
// Samples one INSERT statement carries (Record sends a batch in chunks).
inline constexpr std::size_t kPostgresRecordChunk = 1000;

struct PostgresStoreOptions {
  // A libpq URI: postgresql://[user[:password]@]host[:port]/db[?param=...].
  // The password may also come from PGPASSWORD or a ~/.pgpass file (libpq).
  std::string url;
  // Reads only: the schema is not created (it must be current), and
  // Record/Prune fail.
  bool read_only = false;
  std::size_t pool_size = kDefaultPostgresPoolSize;
  std::chrono::seconds connect_timeout{kDefaultPostgresConnectTimeout};
  std::chrono::milliseconds statement_timeout{kDefaultPostgresStatementTimeout};
  std::chrono::milliseconds pool_wait{kDefaultPostgresPoolWait};
  std::size_t prune_batch_rows = kDefaultPostgresPruneBatchRows;
  // The time left before the caller's deadline (a tick's), asked at the
  // start of every call; nullopt or unset = none. A call that starts with
  // none left fails with kDeadlineExceeded and sends nothing; otherwise its
  // statements run with statement_timeout lowered to what is left (SET
  // LOCAL), so the server cancels them by the deadline. Store's interface
  // carries no deadline, hence this (as DynamoStoreOptions::deadline).
  std::function<std::optional<std::chrono::milliseconds>()> time_left;
};

class PostgresStore final : public Store, public HistoryReader, public DistinctStore {
 public:
  // The schema version (table headcount_schema) this build creates and reads.
  static constexpr int kSchemaVersion = 2;

  // Connects once and brings the schema to kSchemaVersion (read-write: each
  // missing migration in one transaction, under an advisory lock, so nodes
  // starting together migrate once; read-only: checks it is current).
  // Fails with kInvalidArgument for bad options (a URI that is not
  // postgresql:// or postgres://) or a schema newer than this build,
  // kRejected when the server refused the login, kUnavailable when it could
  // not be reached. No message contains the password.
  static Result<std::unique_ptr<PostgresStore>> Open(PostgresStoreOptions options);

  ~PostgresStore() override;

  // Store. Record upserts the samples in key order (so nodes writing the
  // same buckets at once never deadlock), in chunks of kPostgresRecordChunk,
  // all in one transaction: a sample whose (channel, bucket) is stored
  // replaces its count (as the SQLite store does), so a re-run tick leaves
  // one row per bucket. Samples naming one key twice count once, the last
  // winning. Returns the distinct samples written. On failure nothing of the
  // batch is stored: kInvalidArgument for negative viewers or a read-only
  // store, kUnavailable when the server cannot be reached (a connection found
  // broken is replaced once), kDeadlineExceeded after the statement timeout.
  Result<std::size_t> Record(std::span<const Sample> samples) override;
  // Every stored sample of `channels` with from <= bucket <= to, in one
  // query (a consistent snapshot), grouped by channel in the order given,
  // each channel's oldest first; a channel listed twice appears once.
  Result<std::vector<Sample>> Window(std::span<const ChannelId> channels, Seconds from,
                                     Seconds to) override;

  // HistoryReader. History: `channel`'s samples with from <= bucket <= to,
  // oldest first. HasChannel: whether any sample of `channel` is stored.
  Result<std::vector<Sample>> History(const ChannelId& channel, Seconds from, Seconds to) override;
  Result<bool> HasChannel(const ChannelId& channel) override;
  // Audience: summed up by PostgreSQL (one query, core/audience.h's rules),
  // with the distinct viewers' sketches of the hours from the one holding
  // `from` to `to` (a sketch is of a whole hour).
  // Channels: from the bucket index, sorted by name.
  Result<std::vector<AudienceSummary>> Audience(const ChannelId& channel, Seconds from, Seconds to,
                                                AudiencePeriod period) override;
  Result<std::vector<ChannelId>> Channels(Seconds from, Seconds to, std::size_t limit) override;

  // DistinctStore. MergeSketches: in one transaction, in key order, each
  // sketch inserted or, when its row exists, merged with the row locked
  // (FOR UPDATE), so nodes merging the same hour at once lose nothing; all
  // or nothing, with Record's errors. Sketches: kIo for a stored sketch
  // that cannot be read.
  Status MergeSketches(std::span<const HourSketch> sketches) override;
  Result<std::vector<HourSketch>> Sketches(const ChannelId& channel, Seconds from,
                                           Seconds to) override;

  // Deletes every sample with bucket < `before`, and every sketch of an
  // hour that ended by `before`, oldest first, in
  // transactions of at most prune_batch_rows rows; stops early
  // (successfully) once `stop` is requested. Returns the rows deleted. On
  // failure, batches already committed stay deleted.
  Result<std::size_t> Prune(Seconds before, const std::stop_token& stop = {});

  // The URI with its password replaced, for logs.
  const std::string& redacted_url() const { return redacted_url_; }

 private:
  PostgresStore(PostgresStoreOptions options, std::unique_ptr<postgres::Pool> pool);

  Error ReadOnlyError(std::string_view op) const;
  // What options_.time_left leaves of the statement timeout: nothing when
  // there is no deadline or it is further off than statement_timeout;
  // kDeadlineExceeded when it has passed.
  Result<std::optional<std::chrono::milliseconds>> TimeLeft(std::string_view op) const;
  // One read, `op`: the deadline checked (TimeLeft), then `read` in a
  // read-only transaction whose statement timeout is what is left of it, on a
  // pooled connection. `read` starts over when the pool retries on a fresh
  // connection.
  Status Read(std::string_view op, const std::function<void(pqxx::transaction_base&)>& read);

  const PostgresStoreOptions options_;
  const std::string redacted_url_;
  const std::unique_ptr<postgres::Pool> pool_;
};

}  // namespace headcount
