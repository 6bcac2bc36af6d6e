// The parts of a tick that run in this process (Amazon IVS as source and
// publisher; SQLite, DynamoDB or PostgreSQL as store), built from the configuration and
// the standard AWS environment (credentials chain, AWS_REGION,
// AWS_ENDPOINT_URL_*). Used by `headcount serve`, `tick`, `lambda` and
// `history`; not thread-safe to build, the parts themselves say what they
// allow (SetDeadline may be called from any thread).
#pragma once

#include <memory>
#include <optional>

#include "cli/config.h"
#include "core/channel_directory.h"
#include "core/clock.h"
#include "core/distinct_store.h"
#include "core/history.h"
#include "core/result.h"
#include "core/tick.h"
#include "store/sqlite/pruner.h"

namespace headcount {

class Pipeline {
 public:
  virtual ~Pipeline() = default;
  Pipeline() = default;
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Present when config.source is SourceKind::kIvs.
  virtual Source* source() = 0;
  virtual Publisher* publisher() = 0;
  // Present with the source: what it knows of its channels (names, playback URLs).
  virtual ChannelDirectory* directory() = 0;
  virtual Store& store() = 0;
  virtual HistoryReader& history() = 0;
  // Where the distinct viewers' sketches go: the configured store.
  virtual DistinctStore* distinct() = 0;
  // Bounds the store's calls (DynamoDB retries, PostgreSQL statements) by the tick's deadline;
  // nullopt lifts the bound (each call then has its own budget).
  // Thread-safe: a tick may set it while the history API reads the store.
  virtual void SetDeadline(std::optional<WallTime> deadline) = 0;
};

// One tick of `runner` at `now` in buckets of `bucket_length`, starting no
// work after `deadline`; the store's calls are bounded by `deadline` while
// it runs (Pipeline::SetDeadline), and unbounded again when it returns, so
// history reads between ticks get their own budget. The same code for
// `headcount tick`, every tick of `headcount serve` and every invocation of
// `headcount lambda`.
TickReport RunPipelineTick(Pipeline& pipeline, TickRunner& runner, WallTime now, WallTime deadline,
                           std::chrono::seconds bucket_length);

// Builds the store of config.store (creating the DynamoDB table first when
// dynamodb.create_table is set) and, when `with_source` and config.source is
// SourceKind::kIvs, the IVS source and publisher. Errors name the setting or variable
// to fix (kInvalidArgument) or say what could not be reached; they never
// contain a secret.
Result<std::unique_ptr<Pipeline>> MakePipeline(const Config& config, const Clock& clock,
                                               bool with_source, bool read_only_store);

// The pruner of samples older than config.retention for the SQLite and
// PostgreSQL stores, each on a connection of its own, passing every
// `interval`; null for DynamoDB (it expires samples itself: TTL, set per
// item). An error naming the store (never a password) when it cannot start.
Result<std::unique_ptr<Pruner>> StartPruner(const Config& config, const Clock& clock,
                                            std::chrono::milliseconds interval);

}  // namespace headcount
