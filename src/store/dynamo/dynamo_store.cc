// The DynamoDB Store. Thread-safe: the AwsClient is, and the only mutable
// state here (the jitter generator) is guarded by jitter_mu_.
#include "store/dynamo/dynamo_store.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <numeric>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

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

using dynamo::kExpiresAtAttribute;
using dynamo::kMaxBatchWriteItems;

// DynamoDB's table name rule.
constexpr std::size_t kMinTableNameBytes = 3;
constexpr std::size_t kMaxTableNameBytes = 255;

bool IsValidTableName(std::string_view name) {
  if (name.size() < kMinTableNameBytes || name.size() > kMaxTableNameBytes) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
}

std::int64_t EpochSeconds(Seconds t) { return t.time_since_epoch().count(); }

// `error` with `context` in front of its message, same code.
Error WithContext(const Error& error, const std::string& context) {
  return Error(error.code(), context + ": " + error.message());
}

// A DescribeTable output's Table.TableStatus, or "" when absent.
std::string TableStatus(const nlohmann::json& described) {
  const auto table = described.find("Table");
  if (table == described.end() || !table->is_object()) return "";
  const auto status = table->find("TableStatus");
  return status != table->end() && status->is_string() ? status->get<std::string>() : "";
}

}  // namespace

Result<std::unique_ptr<DynamoStore>> DynamoStore::Create(aws::AwsClient& client, const Clock& clock,
                                                         DynamoStoreOptions options,
                                                         aws::SleepFunction sleep) {
  const auto bad = [](const std::string& why) {
    return Error::InvalidArgument("dynamodb store: " + why);
  };
  if (!IsValidTableName(options.table)) {
    return bad("table name '" + options.table + "' is not 3 to 255 of [A-Za-z0-9_.-]");
  }
  if (options.retention.count() <= 0) return bad("retention must be positive");
  if (options.concurrency == 0) return bad("concurrency must be positive");
  if (options.call_budget.count() <= 0) return bad("call budget must be positive");
  if (options.unprocessed_backoff_base.count() <= 0 ||
      options.unprocessed_backoff_cap < options.unprocessed_backoff_base) {
    return bad("the unprocessed-items backoff needs 0 < base <= cap");
  }
  if (client.service().target_prefix != aws::kDynamoDbService.target_prefix) {
    return bad("the AWS client is not a DynamoDB client");
  }
  if (!sleep) return bad("no sleep function");
  return std::unique_ptr<DynamoStore>(
      new DynamoStore(client, clock, std::move(options), std::move(sleep)));
}

DynamoStore::DynamoStore(aws::AwsClient& client, const Clock& clock, DynamoStoreOptions options,
                         aws::SleepFunction sleep)
    : client_(client),
      clock_(clock),
      options_(std::move(options)),
      sleep_(std::move(sleep)),
      jitter_(options_.jitter_seed != 0 ? options_.jitter_seed : std::random_device{}()) {}

WallTime DynamoStore::CallDeadline() const {
  WallTime deadline = clock_.Now() + options_.call_budget;
  if (options_.deadline) {
    if (const std::optional<WallTime> at = options_.deadline(); at && *at < deadline) {
      deadline = *at;
    }
  }
  return deadline;
}

std::chrono::nanoseconds DynamoStore::Backoff(int resend) {
  const std::chrono::nanoseconds cap = options_.unprocessed_backoff_cap;
  std::chrono::nanoseconds ceiling = options_.unprocessed_backoff_base;
  for (int i = 1; i < resend && ceiling < cap; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, cap);
  std::uniform_int_distribution<std::int64_t> wait(0, ceiling.count());
  std::lock_guard lock(jitter_mu_);
  return std::chrono::nanoseconds{wait(jitter_)};
}

Result<std::size_t> DynamoStore::Record(std::span<const Sample> samples) {
  RecordOutcome outcome = RecordEach(samples);
  if (outcome.error) return *outcome.error;
  return outcome.written;
}

RecordOutcome DynamoStore::RecordEach(std::span<const Sample> samples) {
  RecordOutcome outcome;
  const auto fail_all = [&](Error error) {
    outcome.failed.resize(samples.size());
    std::iota(outcome.failed.begin(), outcome.failed.end(), std::size_t{0});
    outcome.error = std::move(error);
    return outcome;
  };
  for (const Sample& sample : samples) {
    if (!IsStorableChannelId(sample.channel)) {
      return fail_all(
          Error::InvalidArgument("Record: '" + sample.channel + "' is not a valid channel id"));
    }
    if (sample.viewers < 0) {
      return fail_all(
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
  for (int resend = 1;; ++resend) {
    const std::size_t sent = put_requests.size();
    Result<nlohmann::json> output = client_.Call(
        "BatchWriteItem", dynamo::BatchWriteInput(options_.table, put_requests), deadline);
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
    const std::chrono::nanoseconds wait = Backoff(resend);
    if (clock_.Now() + wait >= deadline) {
      return Error::DeadlineExceeded("BatchWriteItem: " + std::to_string(unprocessed->size()) +
                                     " items still unprocessed after " + std::to_string(resend) +
                                     " attempts, and the next would start past the deadline");
    }
    spdlog::debug("dynamodb store: {} of {} items unprocessed, resending in {} ms",
                  unprocessed->size(), sent,
                  std::chrono::duration_cast<std::chrono::milliseconds>(wait).count());
    sleep_(wait);
    put_requests = std::move(*unprocessed);
  }
}

Result<std::vector<Sample>> DynamoStore::QueryRange(const ChannelId& channel, Seconds from,
                                                    Seconds to, WallTime deadline) {
  const std::string context = "Query of channel " + channel + " in table " + options_.table;
  std::vector<Sample> out;
  nlohmann::json start_key = nullptr;
  for (;;) {
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
    if (page->last_evaluated.is_null()) break;
    // A server that hands back the key it was given would loop forever.
    if (page->last_evaluated == start_key) {
      return Error::Rejected(context + ": LastEvaluatedKey repeats the ExclusiveStartKey " +
                             dynamo::Quote(start_key));
    }
    start_key = std::move(page->last_evaluated);
  }
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
  const WallTime deadline = clock_.Now() + timeout;
  const nlohmann::json describe_input = {{"TableName", options_.table}};
  const std::string context = "EnsureTable " + options_.table;
  DynamoTableSetup setup;

  aws::AwsError aws_error;
  Result<nlohmann::json> described =
      client_.Call("DescribeTable", describe_input, deadline, &aws_error);
  if (!described.ok()) {
    if (aws_error.code != "ResourceNotFoundException") {
      return WithContext(described.error(), context);
    }
    aws_error = {};
    Result<nlohmann::json> created =
        client_.Call("CreateTable", dynamo::CreateTableInput(options_.table), deadline, &aws_error);
    // ResourceInUseException: someone else created it meanwhile; wait for it too.
    if (!created.ok() && aws_error.code != "ResourceInUseException") {
      return WithContext(created.error(), context);
    }
    setup.created = created.ok();
    if (setup.created) spdlog::info("dynamodb store: created table {}", options_.table);
    described = nlohmann::json::object();  // not ACTIVE yet: ask below
  }

  for (;;) {
    const std::string status = TableStatus(*described);
    if (status == "ACTIVE") break;
    if (!status.empty() && status != "CREATING" && status != "UPDATING") {
      std::string why = context + ": the table is ";
      why += status;
      return Error::Unavailable(why);
    }
    if (!described->empty()) {  // asked at least once: wait before asking again
      if (clock_.Now() + kTableStatusPollInterval >= deadline) {
        std::string why = context + ": the table is still ";
        why += status;
        why += " after " + std::to_string(timeout.count()) + " ms";
        return Error::DeadlineExceeded(why);
      }
      sleep_(kTableStatusPollInterval);
    }
    described = client_.Call("DescribeTable", describe_input, deadline);
    if (!described.ok()) return WithContext(described.error(), context);
    if (TableStatus(*described).empty()) {
      return Error::Rejected(context + ": DescribeTable answered without Table.TableStatus");
    }
  }
  if (Status s = dynamo::CheckKeySchema((*described)["Table"], options_.table); !s.ok()) {
    return s.error();
  }
  return EnableTtl(setup, deadline);
}

DynamoTableSetup DynamoStore::EnableTtl(DynamoTableSetup setup, WallTime deadline) {
  const nlohmann::json table = {{"TableName", options_.table}};
  Result<nlohmann::json> described = client_.Call("DescribeTimeToLive", table, deadline);
  if (described.ok()) {
    const auto description = described->find("TimeToLiveDescription");
    const auto field = [&](const char* name) {
      if (description == described->end() || !description->is_object()) return std::string();
      const auto it = description->find(name);
      return it != description->end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    const std::string status = field("TimeToLiveStatus");
    const std::string attribute = field("AttributeName");
    if (status == "ENABLED" || status == "ENABLING") {
      if (attribute == kExpiresAtAttribute) {
        setup.ttl_enabled = true;
        return setup;
      }
      // A table has at most one TTL attribute; changing it is not ours to do.
      setup.ttl_note =
          "TTL is on for attribute '" + attribute + "', not " + std::string(kExpiresAtAttribute);
      spdlog::warn("dynamodb store: table {}: {}; samples will not expire", options_.table,
                   setup.ttl_note);
      return setup;
    }
  }
  aws::AwsError aws_error;
  const nlohmann::json update = {
      {"TableName", options_.table},
      {"TimeToLiveSpecification", {{"AttributeName", kExpiresAtAttribute}, {"Enabled", true}}},
  };
  Result<nlohmann::json> updated = client_.Call("UpdateTimeToLive", update, deadline, &aws_error);
  if (updated.ok()) {
    setup.ttl_enabled = true;
    spdlog::info("dynamodb store: table {}: TTL enabled on {}", options_.table,
                 kExpiresAtAttribute);
    return setup;
  }
  setup.ttl_note = aws_error.code.empty() ? updated.error().ToString() : aws_error.code;
  spdlog::warn(
      "dynamodb store: table {}: could not enable TTL on {} ({}); samples will not expire by "
      "themselves (fine for a local emulator)",
      options_.table, kExpiresAtAttribute, updated.error().ToString());
  return setup;
}

}  // namespace headcount
