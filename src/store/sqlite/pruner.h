// Retention for the SQLite store (and, through StartWith, the PostgreSQL
// one): a background thread that, on its own connection, deletes samples
// older than a retention period at a fixed interval. Thread-safe; Stop()
// returns promptly even mid-prune.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>

#include "core/clock.h"
#include "core/result.h"
#include "store/sqlite/sqlite_store.h"

namespace headcount {

// Samples are kept this long by default (trends and `headcount history`
// look back days, not months).
inline constexpr std::chrono::seconds kDefaultRetention = std::chrono::days{30};
// How often the pruner looks for old samples by default.
inline constexpr std::chrono::milliseconds kDefaultPruneInterval = std::chrono::hours{1};

struct PrunerOptions {
  // Samples whose bucket starts before clock.Now() - retention are deleted.
  std::chrono::seconds retention{kDefaultRetention};
  // Time between passes; the first pass runs at Start().
  std::chrono::milliseconds interval{kDefaultPruneInterval};
  // For the pruner's own connection; read_only must be false.
  SqliteStoreOptions store{};
};

class Pruner {
 public:
  // One pass over a store: deletes its samples with bucket < `before`,
  // returning early (successfully) once `stop` is requested; returns the
  // rows deleted (SqliteStore::Prune, PostgresStore::Prune).
  using PruneFunction =
      std::function<Result<std::size_t>(Seconds before, const std::stop_token& stop)>;

  // Opens its own connection to the database at `path` and starts the
  // thread, whose first pass runs at once. Fails with kInvalidArgument for a
  // non-positive retention or interval or read-only store options, and with
  // SqliteStore::Open's errors. `clock` must outlive the Pruner.
  static Result<std::unique_ptr<Pruner>> Start(const std::filesystem::path& path,
                                               const Clock& clock, PrunerOptions options = {});

  // Starts the thread over another store: `prune` is called from the
  // pruner's thread only, and must stay callable until the Pruner is
  // destroyed; `what` names the store in logs (no secrets). options.store is
  // unused. Fails with kInvalidArgument for a non-positive retention or
  // interval.
  static Result<std::unique_ptr<Pruner>> StartWith(std::string what, PruneFunction prune,
                                                   const Clock& clock, PrunerOptions options = {});

  // Stops the thread (see Stop).
  ~Pruner();
  Pruner(const Pruner&) = delete;
  Pruner& operator=(const Pruner&) = delete;

  // Wakes the thread and joins it: a pass in progress ends after its current
  // batch. Idempotent; safe from any thread but the pruner's own.
  void Stop();

  // Passes finished (successful or not) and rows deleted so far.
  std::uint64_t passes() const { return passes_.load(); }
  std::uint64_t rows_deleted() const { return rows_deleted_.load(); }

 private:
  Pruner(std::string what, PruneFunction prune, const Clock& clock, PrunerOptions options);
  // Checks retention and interval.
  static Status CheckOptions(const PrunerOptions& options);
  // Starts the thread of a constructed pruner.
  static std::unique_ptr<Pruner> Launch(std::unique_ptr<Pruner> pruner);

  void Run(const std::stop_token& stop);
  // One pass: prunes, then logs what it deleted (info) or its error (warn).
  void PruneOnce(const std::stop_token& stop);

  const std::string what_;
  const PruneFunction prune_;
  const Clock& clock_;
  const PrunerOptions options_;
  std::atomic<std::uint64_t> passes_{0};
  std::atomic<std::uint64_t> rows_deleted_{0};

  std::mutex wait_mu_;                // only for waiting on wake_
  std::condition_variable_any wake_;  // notified by the stop request
  std::mutex stop_mu_;                // serializes Stop()
  std::jthread thread_;               // last: started after, and joined before, the rest
};

}  // namespace headcount
