// The cloud Store: samples in a DynamoDB table (or anything speaking its API:
// ScyllaDB Alternator, dynalite), one item per (channel, bucket). Thread-safe:
// every call may run on many threads at once (see docs/dynamodb.md).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "aws/aws_client.h"
#include "core/clock.h"
#include "core/distinct_store.h"
#include "core/history.h"
#include "core/result.h"
#include "core/retry.h"
#include "core/samples.h"
#include "core/tick.h"
#include "store/dynamo/dynamo_table.h"

namespace headcount {

// Requests in flight at once in one Record or Window call.
inline constexpr std::size_t kDefaultDynamoConcurrency = 16;
// How long one Store or HistoryReader call may take, retries included.
inline constexpr std::chrono::milliseconds kDefaultDynamoCallBudget{20000};
// How long an item is kept: expiresAt = bucket + retention.
inline constexpr std::chrono::seconds kDefaultDynamoRetention{std::chrono::hours{24 * 30}};
// What one channel's Query over a range (Window, History) may read before
// it stops with an error: 366 days of one-minute buckets, both ends
// included (the longest history the API serves), and pages enough for that
// at DynamoDB's 1 MB a page, with room for a server that answers in small
// pages.
inline constexpr std::size_t kDefaultMaxQueryItems = 366 * 24 * 60 + 1;
inline constexpr int kDefaultMaxQueryPages = 1000;

// The longest channel id stored (an IVS channel ARN is at most 128 bytes;
// DynamoDB allows partition keys of 2048).
inline constexpr std::size_t kMaxStoredChannelIdBytes = 1024;

// A channel id this store keeps: 1 to kMaxStoredChannelIdBytes printable
// ASCII characters, so both origin channel names and IVS channel ARNs fit.
bool IsStorableChannelId(std::string_view channel);

struct DynamoStoreOptions {
  // The table: 3 to 255 of [A-Za-z0-9_.-]. Required.
  std::string table;
  // expiresAt = bucket + retention; must be positive. DynamoDB deletes
  // expired items by itself once TTL is enabled on expiresAt.
  std::chrono::seconds retention{kDefaultDynamoRetention};
  // Requests in flight at once per call; must be positive.
  std::size_t concurrency = kDefaultDynamoConcurrency;
  // Deadlines. Store's interface carries none, so every public call takes
  // one when it starts: now + call_budget, or deadline() when that is set,
  // returns a time, and is earlier (e.g. the tick's own deadline). The
  // deadline bounds the AwsClient's retries and the UnprocessedItems
  // resends alike. call_budget must be positive.
  std::chrono::milliseconds call_budget{kDefaultDynamoCallBudget};
  std::function<std::optional<WallTime>()> deadline;
  // Strongly consistent Query reads cost twice the eventually consistent
  // ones; a tick does not need them (docs/dynamodb.md).
  bool consistent_read = false;
  // Caps on one channel's Query over a range (see QueryRange); positive.
  std::size_t max_query_items = kDefaultMaxQueryItems;
  int max_query_pages = kDefaultMaxQueryPages;
};

class DynamoStore final : public Store, public HistoryReader, public DistinctStore {
 public:
  // Checks `options` (kInvalidArgument for a bad table name, non-positive
  // retention, concurrency, budget or query caps, or a client for another
  // service than DynamoDB). `client` and `clock` must outlive the store;
  // `sleep` waits between EnsureTable's polls (tests pass one that advances
  // a fake clock; retries wait with the client's own).
  static Result<std::unique_ptr<DynamoStore>> Create(aws::AwsClient& client, const Clock& clock,
                                                     DynamoStoreOptions options,
                                                     SleepFunction sleep = RealSleep());

  // Store. Record puts every sample (channel, time = bucket, count =
  // viewers, expiresAt) with BatchWriteItem. Samples with the same
  // (channel, bucket) are de-duplicated first, the last one winning
  // (DynamoDB refuses a batch that names a key twice); the rest go in
  // chunks of 25, `concurrency` chunks at a time. A put replaces the item,
  // so recording the same batch again is harmless. UnprocessedItems are
  // resent with the client's backoff, and a chunk's resends share one
  // aws::AwsClient budget with the retries of its calls: at most
  // max_attempts requests a chunk in all, within the deadline. Unprocessed
  // items left when those run out fail the chunk (kRejected).
  // Returns the distinct items written. Fails before sending anything with
  // kInvalidArgument for an invalid channel id or negative viewers. When a
  // chunk cannot be written, returns the first chunk's error code with a
  // message saying how many chunks failed and how many of the batch's items
  // were written anyway (those stay written: retrying the batch is safe).
  Result<std::size_t> Record(std::span<const Sample> samples) override;
  // Record, and which samples are not known to be stored: those of the
  // chunks that failed, less the items such a chunk wrote before it failed
  // (the ones not named in its last UnprocessedItems). An invalid batch
  // fails every sample.
  RecordOutcome RecordEach(std::span<const Sample> samples) override;

  // One Query per distinct channel (KeyCondition on channel and a BETWEEN
  // on time, paginated on LastEvaluatedKey, at most max_query_pages pages
  // and max_query_items items), `concurrency` at a time.
  // Returns the samples grouped by channel in the order given, each
  // channel's oldest first; a channel listed twice appears once, and an
  // invalid channel id (which Record never stores) is not asked for. Every
  // item is validated (types, integers, range, channel): a malformed one is
  // kRejected. If any channel's Query fails, the call fails with the first
  // failure's code and a message saying how many channels failed.
  Result<std::vector<Sample>> Window(std::span<const ChannelId> channels, Seconds from,
                                     Seconds to) override;
  // Window, channel by channel: the Queries that succeeded keep their
  // samples when others fail (an error, a malformed answer, or the deadline
  // reached before a channel's Query is sent); `failed` lists every index of
  // the channels whose Query failed, and `error` is the message Window
  // would return.
  WindowOutcome WindowEach(std::span<const ChannelId> channels, Seconds from, Seconds to) override;

  // HistoryReader. History: the same Query for one channel, oldest first; a
  // range holding more than max_query_items samples (or pages past
  // max_query_pages) is kRejected, naming the cap, rather than read on.
  // HasChannel: a Query with Limit 1. An invalid channel id has no
  // samples (empty, false) and sends nothing. Errors as for Window.
  Result<std::vector<Sample>> History(const ChannelId& channel, Seconds from, Seconds to) override;
  Result<bool> HasChannel(const ChannelId& channel) override;

  // Audience: summed up here from History (DynamoDB has no query language),
  // with the distinct viewers' sketches of the hours from the one holding
  // `from` to `to`.
  Result<std::vector<AudienceSummary>> Audience(const ChannelId& channel, Seconds from, Seconds to,
                                                AudiencePeriod period) override;

  // DistinctStore (dynamo_sketches.cc): an item per channel, hour and
  // viewer table in the same table, under a partition key no channel id has,
  // expiring with the samples of its hour. MergeSketches, `concurrency`
  // sketches at a time: per sketch a consistent GetItem, the merge, and a
  // PutItem on the condition that the item is unchanged (or still absent),
  // again when another node won the race (up to 32 rounds, then
  // kUnavailable); the sketches merged before a failure stay merged
  // (merging again is harmless), and the error says how many failed.
  // Sketches: one Query per table; an item that is not a sketch is kIo.
  Status MergeSketches(std::span<const HourSketch> sketches) override;
  Result<std::vector<HourSketch>> Sketches(const ChannelId& channel, Seconds from,
                                           Seconds to) override;

  // For development and tests: EnsureDynamoTable (dynamo_table.h) for this
  // store's table, with this store's client, clock and sleep.
  Result<DynamoTableSetup> EnsureTable(
      std::chrono::milliseconds timeout = kDefaultEnsureTableTimeout);

  const DynamoStoreOptions& options() const { return options_; }

 private:
  DynamoStore(aws::AwsClient& client, const Clock& clock, DynamoStoreOptions options,
              SleepFunction sleep);

  // The deadline of a call starting now.
  WallTime CallDeadline() const;
  // Writes one chunk of PutRequests, resending UnprocessedItems within one
  // retry budget. Adds the items written to *written, also when it then
  // fails; *unwritten gets the PutKey of every item not known to be written
  // (none on success).
  Status WriteChunk(nlohmann::json put_requests, WallTime deadline, std::size_t* written,
                    std::vector<std::string>* unwritten);
  // "channel/time" of a PutRequest's item, as sent; nullopt if it has none.
  static std::optional<std::string> PutKey(const nlohmann::json& put_request);
  // One sketch's rounds of MergeSketches, by `deadline`.
  Status MergeSketch(const HourSketch& in, WallTime deadline);
  // Every page of `channel`'s Query over [from, to], validated, oldest
  // first; kRejected past max_query_pages or max_query_items.
  Result<std::vector<Sample>> QueryRange(const ChannelId& channel, Seconds from, Seconds to,
                                         WallTime deadline);

  aws::AwsClient& client_;
  const Clock& clock_;
  const DynamoStoreOptions options_;
  const SleepFunction sleep_;
};

}  // namespace headcount
