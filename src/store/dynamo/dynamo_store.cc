// The DynamoDB Store: options, Record and the Query reads. Thread-safe: the
// store keeps no mutable state, and the AwsClient is thread-safe.
#include "store/dynamo/dynamo_store.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "aws/pagination.h"
#include "core/failed_batch.h"
#include "core/parallel.h"
#include "store/dynamo/dynamo_items.h"

namespace headcount {

bool IsStorableChannelId(std::string_view channel) {
  if (channel.empty() || channel.size() > kMaxStoredChannelIdBytes) return false;
  for (const char c : channel) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}
namespace {

using dynamo::IsValidTableName;
using dynamo::kMaxBatchWriteItems;
using dynamo::WithContext;

std::int64_t EpochSeconds(Seconds t) { return t.time_since_epoch().count(); }

// "BatchWriteItem: 3 items still unprocessed after 4 attempts".
std::string Unprocessed(std::size_t items, int attempts) {
  return "BatchWriteItem: " + std::to_string(items) + " items still unprocessed after " +
         std::to_string(attempts) + " attempts";
}

}  // namespace

Result<std::unique_ptr<DynamoStore>> DynamoStore::Create(aws::AwsClient& client, const Clock& clock,
                                                         DynamoStoreOptions options,
                                                         SleepFunction sleep) {
  const auto bad = [](const std::string& why) {
    return Error::InvalidArgument("dynamodb store: " + why);
  };
  if (!IsValidTableName(options.table)) {
    return bad("table name '" + options.table + "' is not 3 to 255 of [A-Za-z0-9_.-]");
  }
  if (options.retention.count() <= 0) return bad("retention must be positive");
  if (options.concurrency == 0) return bad("concurrency must be positive");
  if (options.call_budget.count() <= 0) return bad("call budget must be positive");
  if (options.max_query_items == 0 || options.max_query_pages < 1) {
    return bad("the query caps must be positive");
  }
  if (client.service().target_prefix != aws::kDynamoDbService.target_prefix) {
    return bad("the AWS client is not a DynamoDB client");
  }
  if (!sleep) return bad("no sleep function");
  return std::unique_ptr<DynamoStore>(
      new DynamoStore(client, clock, std::move(options), std::move(sleep)));
}

DynamoStore::DynamoStore(aws::AwsClient& client, const Clock& clock, DynamoStoreOptions options,
                         SleepFunction sleep)
    : client_(client), clock_(clock), options_(std::move(options)), sleep_(std::move(sleep)) {}

WallTime DynamoStore::CallDeadline() const {
  WallTime deadline = clock_.Now() + options_.call_budget;
  if (options_.deadline) {
    if (const std::optional<WallTime> at = options_.deadline(); at && *at < deadline) {
      deadline = *at;
    }
  }
  return deadline;
}

Result<std::size_t> DynamoStore::Record(std::span<const Sample> samples) {
  RecordOutcome outcome = RecordEach(samples);
  if (outcome.error) return *outcome.error;
  return outcome.written;
}

RecordOutcome DynamoStore::RecordEach(std::span<const Sample> samples) {
  RecordOutcome outcome;
  for (const Sample& sample : samples) {
    if (!IsStorableChannelId(sample.channel)) {
      return AllFailed<RecordOutcome>(
          samples.size(),
          Error::InvalidArgument("Record: '" + sample.channel + "' is not a valid channel id"));
    }
    if (sample.viewers < 0) {
      return AllFailed<RecordOutcome>(
          samples.size(),
          Error::InvalidArgument("Record: negative viewers for channel " + sample.channel));
    }
  }
  if (samples.empty()) return outcome;
  const WallTime deadline = CallDeadline();

  // DynamoDB refuses a BatchWriteItem naming one key twice: keep the last
  // sample of each key, at the place its key first appeared.
  std::vector<const Sample*> distinct;
  std::vector<std::size_t> distinct_of(samples.size());  // sample index -> distinct index
  distinct.reserve(samples.size());
  {
    std::unordered_map<std::string, std::size_t> position;
    position.reserve(samples.size());
    for (std::size_t i = 0; i < samples.size(); ++i) {
      const Sample& sample = samples[i];
      std::string key = sample.channel + '/' + std::to_string(EpochSeconds(sample.bucket));
      const auto [it, inserted] = position.try_emplace(std::move(key), distinct.size());
      if (inserted) {
        distinct.push_back(&sample);
      } else {
        distinct[it->second] = &sample;
      }
      distinct_of[i] = it->second;
    }
  }

  const std::size_t chunks = (distinct.size() + kMaxBatchWriteItems - 1) / kMaxBatchWriteItems;
  std::vector<Status> outcomes(chunks);
  std::vector<std::vector<std::string>> unwritten(chunks);
  std::vector<std::string> keys(distinct.size());
  std::atomic<std::size_t> written{0};
  ParallelFor(chunks, options_.concurrency, [&](std::size_t chunk) {
    const std::size_t begin = chunk * kMaxBatchWriteItems;
    const std::size_t end = std::min(begin + kMaxBatchWriteItems, distinct.size());
    nlohmann::json puts = nlohmann::json::array();
    for (std::size_t i = begin; i < end; ++i) {
      puts.push_back(
          {{"PutRequest", {{"Item", dynamo::SampleItem(*distinct[i], options_.retention)}}}});
      keys[i] = PutKey(puts.back()).value_or("");
    }
    std::size_t chunk_written = 0;
    outcomes[chunk] = WriteChunk(std::move(puts), deadline, &chunk_written, &unwritten[chunk]);
    written += chunk_written;
  });
  outcome.written = written.load();

  std::size_t failed = 0;
  const Status* first = nullptr;
  std::unordered_set<std::string> failed_keys;
  for (std::size_t chunk = 0; chunk < chunks; ++chunk) {
    if (outcomes[chunk].ok()) continue;
    ++failed;
    if (first == nullptr) first = &outcomes[chunk];
    failed_keys.insert(unwritten[chunk].begin(), unwritten[chunk].end());
  }
  if (first == nullptr) return outcome;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    if (failed_keys.contains(keys[distinct_of[i]])) outcome.failed.push_back(i);
  }
  outcome.error =
      Error(first->error().code(),
            "Record into table " + options_.table + ": " + std::to_string(failed) + " of " +
                std::to_string(chunks) + " BatchWriteItem chunks failed; " +
                std::to_string(outcome.written) + " of " + std::to_string(distinct.size()) +
                " items were written (and stay written); first error: " + first->error().message());
  return outcome;
}

std::optional<std::string> DynamoStore::PutKey(const nlohmann::json& put_request) {
  const nlohmann::json* item = nullptr;
  if (const auto put = put_request.find("PutRequest");
      put != put_request.end() && put->is_object()) {
    if (const auto it = put->find("Item"); it != put->end() && it->is_object()) item = &*it;
  }
  if (item == nullptr) return std::nullopt;
  const auto text = [item](std::string_view attribute,
                           const char* type) -> std::optional<std::string> {
    const auto value = item->find(std::string(attribute));
    if (value == item->end() || !value->is_object()) return std::nullopt;
    const auto typed = value->find(type);
    if (typed == value->end() || !typed->is_string()) return std::nullopt;
    return typed->get<std::string>();
  };
  const std::optional<std::string> channel = text(dynamo::kChannelAttribute, "S");
  const std::optional<std::string> time = text(dynamo::kTimeAttribute, "N");
  if (!channel || !time) return std::nullopt;
  return *channel + '/' + *time;
}

Status DynamoStore::WriteChunk(nlohmann::json put_requests, WallTime deadline, std::size_t* written,
                               std::vector<std::string>* unwritten) {
  unwritten->clear();
  for (const nlohmann::json& put : put_requests) unwritten->push_back(PutKey(put).value_or(""));
  // One budget for the chunk: a resend of unprocessed items is one more
  // attempt of the same write, never a fresh set of retries.
  RetryBudget budget = client_.StartBudget(deadline);
  for (;;) {
    const std::size_t sent = put_requests.size();
    Result<nlohmann::json> output = client_.Call(
        "BatchWriteItem", dynamo::BatchWriteInput(options_.table, put_requests), budget);
    if (!output.ok()) return output.error();
    Result<nlohmann::json> unprocessed = dynamo::UnprocessedPuts(*output, options_.table, sent);
    if (!unprocessed.ok()) return WithContext(unprocessed.error(), "BatchWriteItem");
    *written += sent - unprocessed->size();
    // What is left to write, when the answer names it in a way we can
    // read; otherwise every item of the chunk stays "not known written".
    std::vector<std::string> left;
    for (const nlohmann::json& put : *unprocessed) {
      std::optional<std::string> key = PutKey(put);
      if (!key || std::find(unwritten->begin(), unwritten->end(), *key) == unwritten->end()) break;
      left.push_back(std::move(*key));
    }
    if (left.size() == unprocessed->size()) *unwritten = std::move(left);
    if (unprocessed->empty()) return {};
    const auto log_resend = [&](std::chrono::nanoseconds wait) {
      spdlog::debug("dynamodb store: {} of {} items unprocessed, resending in {} ms",
                    unprocessed->size(), sent,
                    std::chrono::duration_cast<std::chrono::milliseconds>(wait).count());
    };
    switch (budget.WaitToRetry(log_resend)) {
      case RetryVerdict::kGo:
        break;
      case RetryVerdict::kAttemptsUsedUp:
        return Error::Rejected(Unprocessed(unprocessed->size(), budget.attempts()) +
                               ", the most one write makes (the table is throttling)");
      case RetryVerdict::kPastDeadline:
        return Error::DeadlineExceeded(Unprocessed(unprocessed->size(), budget.attempts()) +
                                       ", and the next would start past the deadline");
    }
    put_requests = std::move(*unprocessed);
  }
}

Result<std::vector<Sample>> DynamoStore::QueryRange(const ChannelId& channel, Seconds from,
                                                    Seconds to, WallTime deadline) {
  const std::string context = "Query of channel " + channel + " in table " + options_.table;
  std::vector<Sample> out;
  const aws::PageLimits limits{.max_pages = options_.max_query_pages,
                               .max_items = options_.max_query_items};
  Status read = aws::ReadAllPages(
      context, limits, [&](int /*page*/, const nlohmann::json& start_key) -> Result<aws::PageRead> {
        Result<nlohmann::json> output =
            client_.Call("Query",
                         dynamo::RangeQueryInput(options_.table, channel, from, to,
                                                 options_.consistent_read, start_key),
                         deadline);
        if (!output.ok()) return WithContext(output.error(), context);
        Result<dynamo::QueryPage> page = dynamo::ReadQueryPage(*output);
        if (!page.ok()) return WithContext(page.error(), context);
        for (const nlohmann::json& item : page->items) {
          Result<Sample> sample = dynamo::ReadSampleItem(item, channel, from, to);
          if (!sample.ok()) return WithContext(sample.error(), context);
          out.push_back(std::move(sample).value());
        }
        return aws::PageRead{.items = page->items.size(), .next = std::move(page->last_evaluated)};
      });
  if (!read.ok()) return read.error();
  // A Query returns its items in sort-key order; sorting again costs little
  // and keeps "oldest first" true whatever the server did.
  std::stable_sort(out.begin(), out.end(),
                   [](const Sample& a, const Sample& b) { return a.bucket < b.bucket; });
  return out;
}

Result<std::vector<Sample>> DynamoStore::Window(std::span<const ChannelId> channels, Seconds from,
                                                Seconds to) {
  WindowOutcome outcome = WindowEach(channels, from, to);
  if (outcome.failed.empty()) return std::move(outcome.samples);
  return outcome.error ? *outcome.error : Error::Internal("Window: some channels failed");
}

WindowOutcome DynamoStore::WindowEach(std::span<const ChannelId> channels, Seconds from,
                                      Seconds to) {
  WindowOutcome outcome;
  // A channel id Record refuses has no samples: no need to ask (DynamoDB
  // would refuse an empty key with a ValidationException). slot[i]: the
  // distinct channel that channels[i] is, if asked.
  std::vector<const ChannelId*> distinct;
  std::vector<std::optional<std::size_t>> slot(channels.size());
  {
    std::unordered_map<std::string_view, std::size_t> seen;
    seen.reserve(channels.size());
    for (std::size_t i = 0; i < channels.size(); ++i) {
      const ChannelId& channel = channels[i];
      if (!IsStorableChannelId(channel)) continue;
      const auto [it, inserted] = seen.emplace(channel, distinct.size());
      if (inserted) distinct.push_back(&channel);
      slot[i] = it->second;
    }
  }
  if (distinct.empty() || from > to) return outcome;
  const WallTime deadline = CallDeadline();

  // Query, not BatchGetItem, by the cost rule of docs/dynamodb.md ("Why a
  // Query per channel"): N Query calls cost about N read units (a channel's
  // few small items are summed, then rounded up to 4 KB once), BatchGetItem
  // on the exact keys costs one unit per key, found or not: N x K for a
  // window of K buckets. BatchGetItem is never cheaper; only for K = 1 does
  // it cost the same with fewer requests, and a tick reads K = kWindowBuckets.
  // Every Query runs to its own end: one that fails (or finds the deadline
  // passed, and then sends nothing) leaves the others' results.
  std::vector<std::vector<Sample>> found(distinct.size());
  std::vector<std::optional<Error>> errors(distinct.size());
  ParallelFor(distinct.size(), options_.concurrency, [&](std::size_t i) {
    Result<std::vector<Sample>> range = QueryRange(*distinct[i], from, to, deadline);
    if (range.ok()) {
      found[i] = std::move(range).value();
    } else {
      errors[i] = range.error();
    }
  });

  std::size_t failed = 0;
  const Error* first = nullptr;
  for (const std::optional<Error>& error : errors) {
    if (!error) continue;
    ++failed;
    if (first == nullptr) first = &*error;
  }
  if (first != nullptr) {
    outcome.error = Error(first->code(), "Window: the Query of " + std::to_string(failed) + " of " +
                                             std::to_string(distinct.size()) +
                                             " channels failed; first error: " + first->message());
    for (std::size_t i = 0; i < channels.size(); ++i) {
      if (slot[i] && errors[*slot[i]]) outcome.failed.push_back(i);
    }
  }
  std::size_t total = 0;
  for (const auto& samples : found) total += samples.size();
  outcome.samples.reserve(total);
  for (auto& samples : found) {
    std::move(samples.begin(), samples.end(), std::back_inserter(outcome.samples));
  }
  return outcome;
}

Result<std::vector<Sample>> DynamoStore::History(const ChannelId& channel, Seconds from,
                                                 Seconds to) {
  if (!IsStorableChannelId(channel) || from > to) return std::vector<Sample>{};
  return QueryRange(channel, from, to, CallDeadline());
}

Result<bool> DynamoStore::HasChannel(const ChannelId& channel) {
  if (!IsStorableChannelId(channel)) return false;
  const std::string context = "HasChannel " + channel + " in table " + options_.table;
  Result<nlohmann::json> output =
      client_.Call("Query", dynamo::AnyItemQueryInput(options_.table, channel), CallDeadline());
  if (!output.ok()) return WithContext(output.error(), context);
  Result<dynamo::QueryPage> page = dynamo::ReadQueryPage(*output);
  if (!page.ok()) return WithContext(page.error(), context);
  return !page->items.empty();
}

Result<DynamoTableSetup> DynamoStore::EnsureTable(std::chrono::milliseconds timeout) {
  return EnsureDynamoTable(client_, clock_, options_.table, timeout, sleep_);
}

}  // namespace headcount
