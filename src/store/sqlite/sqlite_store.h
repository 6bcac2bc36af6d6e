// The embedded Store: samples in one SQLite file (WAL mode), one row per
// (channel, bucket), and the distinct viewers' sketches, one row per
// (channel, hour, viewer table). Thread-safe: one connection guarded by a mutex; other
// processes and connections may use the same file at the same time.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <stop_token>
#include <vector>

#include "core/distinct_store.h"
#include "core/history.h"
#include "core/result.h"
#include "core/samples.h"
#include "core/tick.h"

namespace headcount {
namespace sqlite {
class Statement;
}  // namespace sqlite

// How many rows one Prune transaction deletes at most: small enough that a
// tick's write waiting for the write lock waits for one short batch only.
inline constexpr std::size_t kPruneBatchRows = 2000;
// How long a statement waits for another connection's lock before failing
// with kUnavailable.
inline constexpr std::chrono::milliseconds kDefaultBusyTimeout{5000};

struct SqliteStoreOptions {
  // Open an existing database for reading only: nothing is created or
  // migrated, and Record/Prune fail.
  bool read_only = false;
  std::chrono::milliseconds busy_timeout{kDefaultBusyTimeout};
  // Rows per Prune transaction; must be positive.
  std::size_t prune_batch_rows = kPruneBatchRows;
};

class SqliteStore final : public Store, public HistoryReader, public DistinctStore {
 public:
  // The schema version (PRAGMA user_version) this build creates and reads.
  static constexpr int kSchemaVersion = 2;

  // Called by Prune after each committed batch with the rows it deleted.
  using PruneProgress = std::function<void(std::size_t batch_rows)>;

  // Opens the database file at `path`.
  // Read-write (default): creates the file if it is missing (its directory
  // must exist: kNotFound otherwise), switches it to WAL mode and migrates
  // the schema to kSchemaVersion, each migration in its own transaction.
  // Read-only: the file must exist (kNotFound naming the path otherwise) and
  // already be at kSchemaVersion.
  // Fails with kInvalidArgument when the file's schema is newer than this
  // build ("database schema version N is newer than this headcount supports
  // (M)") or bad options, and with the mapped SQLite error (kIo, kUnavailable
  // after the busy timeout) otherwise.
  static Result<std::unique_ptr<SqliteStore>> Open(const std::filesystem::path& path,
                                                   SqliteStoreOptions options = {});

  ~SqliteStore() override;

  // Store. Record upserts every sample in one transaction and returns how
  // many rows it wrote (samples.size()). On any failure the whole batch is
  // rolled back: kInvalidArgument for a sample the schema refuses (negative
  // viewers) or a read-only store, kUnavailable when the write lock stayed
  // taken for the busy timeout, kIo for disk trouble.
  Result<std::size_t> Record(std::span<const Sample> samples) override;
  // Every stored sample of `channels` with from <= bucket <= to, read in one
  // transaction (a consistent snapshot); grouped by channel in the order
  // given, each channel's oldest first; a channel listed twice appears once.
  Result<std::vector<Sample>> Window(std::span<const ChannelId> channels, Seconds from,
                                     Seconds to) override;

  // HistoryReader. History: `channel`'s samples with from <= bucket <= to,
  // oldest first. HasChannel: whether any sample of `channel` is stored.
  Result<std::vector<Sample>> History(const ChannelId& channel, Seconds from, Seconds to) override;
  Result<bool> HasChannel(const ChannelId& channel) override;
  // Channels: from the bucket index, sorted by name.
  Result<std::vector<ChannelId>> Channels(Seconds from, Seconds to, std::size_t limit) override;
  // Audience: summed up by SQLite (one query, core/audience.h's rules),
  // with the distinct viewers' sketches of the hours from the one holding
  // `from` to `to` (a sketch is of a whole hour).
  Result<std::vector<AudienceSummary>> Audience(const ChannelId& channel, Seconds from, Seconds to,
                                                AudiencePeriod period) override;

  // DistinctStore. MergeSketches reads, merges and writes each sketch in
  // one write transaction (rolled back on any failure; kInvalidArgument on
  // a read-only store). Sketches: kIo for stored bytes that are not a sketch.
  Status MergeSketches(std::span<const HourSketch> sketches) override;
  Result<std::vector<HourSketch>> Sketches(const ChannelId& channel, Seconds from,
                                           Seconds to) override;

  // Deletes every sample with bucket < `before`, and every sketch of an
  // hour that ended by `before`, oldest first, in batches of
  // at most prune_batch_rows, each in its own short transaction; the mutex
  // is released between batches, so other calls on this store interleave.
  // Stops early (successfully) once `stop` is requested. Returns the rows
  // deleted. On failure, batches already committed stay deleted and the
  // error is returned (kInvalidArgument on a read-only store).
  Result<std::size_t> Prune(Seconds before, const std::stop_token& stop = {},
                            const PruneProgress& progress = {});

  const std::filesystem::path& path() const { return path_; }
  bool read_only() const { return options_.read_only; }

 private:
  struct Impl;  // the connection and its prepared statements

  SqliteStore(std::filesystem::path path, SqliteStoreOptions options, std::unique_ptr<Impl> impl);

  // Reads `channel`'s samples in [from, to] and appends them to `out`.
  // Requires mu_ held.
  Status AppendRange(const ChannelId& channel, Seconds from, Seconds to, std::string_view op,
                     std::vector<Sample>& out);
  // Deletes one batch with `prune` (samples or sketches); returns its rows.
  // Requires mu_ held.
  Result<std::size_t> PruneBatch(sqlite::Statement& prune, std::int64_t before);
  // Appends `channel`'s sketches with from <= hour <= to. Requires mu_ held.
  Status AppendSketches(const ChannelId& channel, Seconds from, Seconds to, std::string_view op,
                        std::vector<HourSketch>& out);
  // The error for a write attempted on a read-only store.
  Error ReadOnlyError(std::string_view op) const;

  const std::filesystem::path path_;
  const SqliteStoreOptions options_;

  std::mutex mu_;
  // Guarded by mu_: the connection is not shared between threads.
  const std::unique_ptr<Impl> impl_;
};

}  // namespace headcount
