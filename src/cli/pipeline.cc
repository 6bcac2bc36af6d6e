#include "cli/pipeline.h"

#include <mutex>

#include "aws/aws_client.h"
#include "aws/credentials.h"
#include "aws/environment.h"
#include "aws/http_transport.h"
#include "http_client/beast_transport.h"
#include "ivs/ivs_factory.h"
#include "store/dynamo/dynamo_store.h"
#include "store/postgres/postgres_url.h"
#include "store/sqlite/sqlite_store.h"
#if HEADCOUNT_WITH_POSTGRES
#include "store/postgres/postgres_store.h"
#endif

namespace headcount {
namespace {

// The deadline Pipeline::SetDeadline sets, read by the DynamoDB and
// PostgreSQL stores on whichever thread calls them. Thread-safe.
class DeadlineCell {
 public:
  std::optional<WallTime> Get() const {
    std::lock_guard lock(mu_);
    return at_;
  }
  void Set(std::optional<WallTime> at) {
    std::lock_guard lock(mu_);
    at_ = at;
  }

 private:
  mutable std::mutex mu_;
  std::optional<WallTime> at_;  // guarded by mu_
};

class Parts final : public Pipeline {
 public:
  Source* source() override { return ivs ? ivs->source.get() : nullptr; }
  Publisher* publisher() override { return ivs ? ivs->publisher.get() : nullptr; }
  ChannelDirectory* directory() override { return ivs ? ivs->directory.get() : nullptr; }
  Store& store() override { return *store_ptr; }
  HistoryReader& history() override { return *history_ptr; }
  DistinctStore* distinct() override { return distinct_ptr; }
  void SetDeadline(std::optional<WallTime> d) override { deadline->Set(d); }

  // Declared in dependency order: destroyed users first.
  std::shared_ptr<DeadlineCell> deadline = std::make_shared<DeadlineCell>();
  std::unique_ptr<IvsAdapters> ivs;
  std::unique_ptr<SqliteStore> sqlite;
  std::unique_ptr<aws::HttpTransport> dynamo_transport;
  std::unique_ptr<aws::CredentialsProvider> dynamo_credentials;
  std::unique_ptr<aws::AwsClient> dynamo_client;
  std::unique_ptr<DynamoStore> dynamo;
#if HEADCOUNT_WITH_POSTGRES
  std::unique_ptr<PostgresStore> postgres;
#endif
  // The one of the stores above that is configured.
  Store* store_ptr = nullptr;
  HistoryReader* history_ptr = nullptr;
  DistinctStore* distinct_ptr = nullptr;
};

#if !HEADCOUNT_WITH_POSTGRES
// The error for store.kind = postgres in a build without the store.
Error NoPostgresError() {
  return Error::InvalidArgument(
      "store.kind = postgres: this headcount was built without the PostgreSQL store "
      "(HEADCOUNT_POSTGRES=OFF, the default of the static release build); build it with "
      "-DHEADCOUNT_POSTGRES=ON (it then needs libpq at run time)");
}
#endif

Error Setting(const std::string& key, const Error& e) {
  return Error(e.code(), key + ": " + e.message());
}

}  // namespace

TickReport RunPipelineTick(Pipeline& pipeline, TickRunner& runner, WallTime now, WallTime deadline,
                           std::chrono::seconds bucket_length) {
  pipeline.SetDeadline(deadline);
  TickOptions options;
  options.bucket_length = bucket_length;
  options.deadline = deadline;
  TickReport report = runner.Run(now, options);
  pipeline.SetDeadline(std::nullopt);
  return report;
}

Result<std::unique_ptr<Pipeline>> MakePipeline(const Config& config, const Clock& clock,
                                               bool with_source, bool read_only_store) {
  auto parts = std::make_unique<Parts>();
  const aws::Environment env = aws::ProcessEnvironment();

  if (config.store == StoreKind::kSqlite) {
    SqliteStoreOptions options;
    options.read_only = read_only_store;
    auto store = SqliteStore::Open(config.database, options);
    if (!store.ok()) return Setting("store.database", store.error());
    parts->sqlite = std::move(*store);
    parts->store_ptr = parts->sqlite.get();
    parts->history_ptr = parts->sqlite.get();
    parts->distinct_ptr = parts->sqlite.get();
  } else if (config.store == StoreKind::kPostgres) {
#if HEADCOUNT_WITH_POSTGRES
    PostgresStoreOptions options;
    options.url = config.postgres_url;
    options.read_only = read_only_store;
    options.time_left = [deadline = parts->deadline,
                         &clock]() -> std::optional<std::chrono::milliseconds> {
      const std::optional<WallTime> at = deadline->Get();
      if (!at) return std::nullopt;
      return std::chrono::ceil<std::chrono::milliseconds>(*at - clock.Now());
    };
    auto store = PostgresStore::Open(options);
    if (!store.ok()) return Setting("store.postgres_url", store.error());
    parts->postgres = std::move(*store);
    parts->store_ptr = parts->postgres.get();
    parts->history_ptr = parts->postgres.get();
    parts->distinct_ptr = parts->postgres.get();
#else
    return NoPostgresError();
#endif
  } else {
    auto client_options = aws::ClientOptionsFromEnvironment(aws::kDynamoDbService, env);
    if (!client_options.ok()) return Setting("store.kind = dynamodb", client_options.error());
    parts->dynamo_transport = std::make_unique<http_client::BeastTransport>();
    parts->dynamo_credentials =
        std::make_unique<aws::DefaultCredentialsChain>(env, *parts->dynamo_transport);
    auto client =
        aws::AwsClient::Create(aws::kDynamoDbService, *client_options, *parts->dynamo_credentials,
                               *parts->dynamo_transport, clock);
    if (!client.ok()) return Setting("store.kind = dynamodb", client.error());
    parts->dynamo_client = std::move(*client);
    DynamoStoreOptions options;
    options.table = config.dynamodb_table;
    options.retention = config.retention;
    options.deadline = [deadline = parts->deadline] { return deadline->Get(); };
    auto store = DynamoStore::Create(*parts->dynamo_client, clock, options);
    if (!store.ok()) return Setting("dynamodb.table", store.error());
    parts->dynamo = std::move(*store);
    if (config.dynamodb_create_table && !read_only_store) {
      // EnsureTable logs what it created and whether TTL is on.
      auto setup = parts->dynamo->EnsureTable();
      if (!setup.ok()) return Setting("dynamodb.create_table", setup.error());
    }
    parts->store_ptr = parts->dynamo.get();
    parts->history_ptr = parts->dynamo.get();
    parts->distinct_ptr = parts->dynamo.get();
  }

  if (with_source && config.source == SourceKind::kIvs) {
    IvsOptions options;
    options.channels.insert(config.ivs_channels.begin(), config.ivs_channels.end());
    options.channel_tag_key = config.ivs_tag_key;
    options.channel_tag_value = config.ivs_tag_value;
    options.include_offline = config.ivs_include_offline;
    options.metadata_format = config.ivs_metadata_format;
    options.account_tps = config.ivs_account_tps;
    options.channel_tps = config.ivs_channel_tps;
    options.burst = config.ivs_burst;
    options.publish_concurrency = config.ivs_publish_concurrency;
    auto ivs = MakeIvsAdapters(options, env, clock);
    if (!ivs.ok()) return Setting("tick.source = ivs", ivs.error());
    parts->ivs = std::move(*ivs);
  }
  return std::unique_ptr<Pipeline>(std::move(parts));
}

Result<std::unique_ptr<Pruner>> StartPruner(const Config& config, const Clock& clock,
                                            std::chrono::milliseconds interval) {
  PrunerOptions options;
  options.retention = config.retention;
  options.interval = interval;
  switch (config.store) {
    case StoreKind::kSqlite: {
      auto pruner = Pruner::Start(config.database, clock, options);
      if (!pruner.ok()) {
        return Setting("store.database " + config.database.string(), pruner.error());
      }
      return pruner;
    }
    case StoreKind::kPostgres: {
#if HEADCOUNT_WITH_POSTGRES
      PostgresStoreOptions store_options;
      store_options.url = config.postgres_url;
      store_options.pool_size = 1;  // one pass at a time
      auto store = PostgresStore::Open(store_options);
      if (!store.ok()) return Setting("store.postgres_url", store.error());
      std::shared_ptr<PostgresStore> owned = std::move(*store);
      const std::string what = owned->redacted_url();
      return Pruner::StartWith(
          what,
          [owned](Seconds before, const std::stop_token& stop) {
            return owned->Prune(before, stop);
          },
          clock, options);
#else
      return NoPostgresError();
#endif
    }
    case StoreKind::kDynamoDb:
      break;
  }
  return std::unique_ptr<Pruner>{};
}

}  // namespace headcount
