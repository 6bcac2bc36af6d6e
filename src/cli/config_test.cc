#include "cli/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "cli/config_settings.h"

namespace headcount {
namespace {

using std::chrono::seconds;

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("headcount_config_test_" +
            std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    source_.getenv = [this](const std::string& name) -> std::optional<std::string> {
      const auto it = env_.find(name);
      if (it == env_.end()) return std::nullopt;
      return it->second;
    };
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void WriteFile(const std::string& text) {
    std::ofstream(dir_ / "headcount.toml") << text;
    source_.file = dir_ / "headcount.toml";
  }

  std::string ErrorOf() {
    auto c = LoadConfig(source_);
    EXPECT_FALSE(c.ok());
    return c.ok() ? "" : c.error().message();
  }

  std::filesystem::path dir_;
  std::map<std::string, std::string> env_;
  ConfigSource source_;
};

// One row of README.md's configuration table, backticks removed.
struct ReadmeRow {
  std::string key, env, flag, default_text;
};

std::string Trimmed(std::string s) {
  s.erase(0, s.find_first_not_of(' '));
  s.erase(s.find_last_not_of(' ') + 1);
  return s;
}

// The rows of the table under README.md's "## Configuration" heading.
std::vector<ReadmeRow> ReadmeConfigTable() {
  std::ifstream in(std::string(HEADCOUNT_SOURCE_DIR) + "/README.md");
  EXPECT_TRUE(in.good()) << "README.md not found";
  std::vector<ReadmeRow> rows;
  std::string line;
  bool in_section = false;
  while (std::getline(in, line)) {
    if (line.starts_with("## ")) in_section = line == "## Configuration";
    if (!in_section || !line.starts_with("| `")) continue;
    std::vector<std::string> cells;
    std::stringstream cells_in(line.substr(1));
    for (std::string cell; std::getline(cells_in, cell, '|');) {
      std::erase(cell, '`');
      cells.push_back(Trimmed(cell));
    }
    if (cells.size() < 5) {
      ADD_FAILURE() << "README configuration row without 5 columns: " << line;
      continue;
    }
    rows.push_back({cells[0], cells[1], cells[2], cells[3]});
  }
  return rows;
}

TEST_F(ConfigTest, EverySettingIsInTheReadmeTableWithItsDefault) {
  const std::vector<ReadmeRow> rows = ReadmeConfigTable();
  ASSERT_FALSE(rows.empty()) << "no configuration table in README.md";
  for (const SettingSpec& spec : Settings()) {
    const auto row = std::find_if(rows.begin(), rows.end(),
                                  [&](const ReadmeRow& r) { return r.key == spec.key; });
    if (row == rows.end()) {
      ADD_FAILURE() << spec.key << " is not in README.md's configuration table";
      continue;
    }
    EXPECT_EQ(row->env, spec.env) << spec.key;
    EXPECT_EQ(row->flag, spec.flag) << spec.key;
    EXPECT_EQ(row->default_text, spec.default_text) << spec.key;
  }
  for (const ReadmeRow& row : rows) {
    const bool known = std::any_of(Settings().begin(), Settings().end(),
                                   [&](const SettingSpec& s) { return s.key == row.key; });
    EXPECT_TRUE(known) << "README.md documents " << row.key << ", which is not a setting";
  }
}

TEST_F(ConfigTest, HelpShowsTheDefaultOfTheCode) {
  // --help prints spec.help; its default is the default Config's value.
  const auto loaded = LoadConfig(source_);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  for (const auto& setting : config_internal::AllSettings()) {
    const SettingSpec& spec = setting.spec;
    EXPECT_TRUE(spec.help.ends_with("(default " + spec.default_text + ")")) << spec.help;
    const std::string shown = setting.show(Config{});
    if (shown.empty()) continue;  // unset lists and files, described in words
    EXPECT_EQ(shown, spec.default_text) << spec.key;
    EXPECT_EQ(setting.show(*loaded), shown) << spec.key << ": LoadConfig with nothing set";
  }
}

TEST_F(ConfigTest, EveryShownValueReadsBack) {
  for (const auto& setting : config_internal::AllSettings()) {
    Config config;
    const std::string shown = setting.show(config);
    if (shown.empty()) continue;
    Config read;
    ASSERT_TRUE(setting.set(read, shown).ok()) << setting.spec.key << " = " << shown;
    EXPECT_EQ(setting.show(read), shown) << setting.spec.key;
  }
}

TEST_F(ConfigTest, DefaultsComeFromTheComponents) {
  const Config c;
  EXPECT_EQ(c.listen_address, "127.0.0.1");
  EXPECT_EQ(c.listen_port, 8080);
  EXPECT_EQ(c.tick_interval, seconds{60});
  EXPECT_EQ(c.database, "headcount.db");
  EXPECT_EQ(c.source, SourceKind::kOrigin);
  EXPECT_EQ(c.store, StoreKind::kSqlite);
  const OriginOptions origin;
  EXPECT_EQ(c.session_idle_timeout, origin.session_idle_timeout);
  EXPECT_EQ(c.live_timeout, origin.live_timeout);
  EXPECT_EQ(c.max_sessions_per_client, origin.max_sessions_per_client);
  EXPECT_EQ(c.segment_metadata, origin.segment_metadata);
  const IvsOptions ivs;
  EXPECT_EQ(c.ivs_metadata_format, ivs.metadata_format);
  EXPECT_EQ(c.ivs_account_tps, ivs.account_tps);
  EXPECT_EQ(c.ivs_channel_tps, ivs.channel_tps);
  EXPECT_EQ(c.ivs_publish_concurrency, ivs.publish_concurrency);
  EXPECT_EQ(c.retention, PrunerOptions{}.retention);
}

TEST_F(ConfigTest, SessionKeyFileDefaultsBesideTheDatabaseOrInTheCurrentFolder) {
  auto c = LoadConfig(source_);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->session_key_file, "headcount.db.session-key");

  source_.flags["store.database"] = "/var/lib/headcount/counts.db";
  c = LoadConfig(source_);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->session_key_file, "/var/lib/headcount/counts.db.session-key");

  // DynamoDB uses no database file: the key is not named after one.
  source_.flags["store.kind"] = "dynamodb";
  c = LoadConfig(source_);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->session_key_file, "headcount.session-key");

  source_.flags["origin.session_key_file"] = "/etc/headcount/key";
  c = LoadConfig(source_);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->session_key_file, "/etc/headcount/key");
}

TEST_F(ConfigTest, ChecksBelongToTheirComponents) {
  // The DynamoDB table name rule (store/dynamo IsValidTableName).
  source_.flags["dynamodb.table"] = "ab";
  EXPECT_NE(ErrorOf().find("is not a table name (3-255"), std::string::npos);
  source_.flags["dynamodb.table"] = std::string(255, 't');
  EXPECT_TRUE(LoadConfig(source_).ok());
  source_.flags.clear();
  // IVS publish concurrency and quotas (ivs_options.h).
  source_.flags["ivs.publish_concurrency"] = std::to_string(kMaxPublishConcurrency + 1);
  EXPECT_NE(ErrorOf().find("from 1 to 256"), std::string::npos);
  source_.flags["ivs.publish_concurrency"] = "2.5";
  EXPECT_FALSE(LoadConfig(source_).ok());
  source_.flags.clear();
  source_.flags["ivs.metadata_format"] = "v2";
  EXPECT_NE(ErrorOf().find("is not one of v1, seed"), std::string::npos);
  source_.flags.clear();
  source_.flags["origin.segment_metadata"] = "maybe";
  EXPECT_NE(ErrorOf().find("is not on or off"), std::string::npos);
  source_.flags.clear();
  // No more sessions per client than the origin tracks in all.
  source_.flags["origin.max_sessions_per_client"] = std::to_string(kMaxSessions + 1);
  EXPECT_NE(ErrorOf().find("origin.max_sessions_per_client"), std::string::npos);
}

TEST_F(ConfigTest, PostgresStoreNeedsAPostgresUriAndNeverEchoesItsPassword) {
  source_.flags["store.kind"] = "postgres";
  const std::string missing = ErrorOf();
  EXPECT_THAT(missing, ::testing::HasSubstr("store.kind = postgres needs store.postgres_url"));
  EXPECT_THAT(missing, ::testing::HasSubstr("HEADCOUNT_POSTGRES_URL"));

  env_["HEADCOUNT_POSTGRES_URL"] = "mysql://app:hunter2@db/hc";
  const std::string scheme = ErrorOf();
  EXPECT_THAT(scheme, ::testing::HasSubstr("store.postgres_url (env HEADCOUNT_POSTGRES_URL)"));
  EXPECT_THAT(scheme, ::testing::HasSubstr("\"mysql\""));
  EXPECT_THAT(scheme, ::testing::Not(::testing::HasSubstr("hunter2")));

  env_["HEADCOUNT_POSTGRES_URL"] = "postgresql://app:hunter2@db:5432/hc?sslmode=require";
  auto c = LoadConfig(source_);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->store, StoreKind::kPostgres);
  EXPECT_EQ(c->postgres_url, "postgresql://app:hunter2@db:5432/hc?sslmode=require");
  // No database file: the session key is kept in the current folder.
  EXPECT_EQ(c->session_key_file, "headcount.session-key");
  // What --help and any dump of the settings show.
  for (const auto& setting : config_internal::AllSettings()) {
    if (setting.spec.key == "store.postgres_url") {
      EXPECT_EQ(setting.show(*c), "postgresql://app:***@db:5432/hc?sslmode=require");
    }
  }
  // The flag wins over the environment, as for every setting.
  source_.flags["store.postgres_url"] = "postgres://db2/hc";
  c = LoadConfig(source_);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->postgres_url, "postgres://db2/hc");
}

TEST_F(ConfigTest, AClusterNeedsARedisUrlAndASharedStoreAndNeverEchoesItsPassword) {
  env_["HEADCOUNT_REDIS_URL"] = "redis://:hunter2@cache:6379/1";
  const std::string sqlite = ErrorOf();
  EXPECT_THAT(sqlite, ::testing::HasSubstr("cluster.redis needs a store the nodes share"));

  source_.flags["store.kind"] = "postgres";
  source_.flags["store.postgres_url"] = "postgresql://db/hc";
  auto c = LoadConfig(source_);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->redis_url, "redis://:hunter2@cache:6379/1");
  EXPECT_EQ(c->cluster_key_prefix, "headcount:");
  for (const auto& setting : config_internal::AllSettings()) {
    if (setting.spec.key == "cluster.redis") {
      EXPECT_EQ(setting.show(*c), "redis://:***@cache:6379/1");
    }
  }

  for (const char* bad :
       {"redis+tls://:hunter2@cache:6380", "http://:hunter2@cache", "redis://:hunter2@"}) {
    source_.flags["cluster.redis"] = bad;
    const std::string error = ErrorOf();
    EXPECT_THAT(error, ::testing::HasSubstr("cluster.redis (flag --cluster)")) << bad;
    EXPECT_THAT(error, ::testing::Not(::testing::HasSubstr("hunter2"))) << bad;
  }
  source_.flags["cluster.redis"] = "rediss://:hunter2@cache";
  env_["HEADCOUNT_REDIS_CA_FILE"] = "/etc/headcount/redis-ca.pem";
  c = LoadConfig(source_);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->redis_url, "rediss://:hunter2@cache");
  EXPECT_EQ(c->redis_ca_file, "/etc/headcount/redis-ca.pem");
  // The CA of a connection without TLS would be ignored: refused instead.
  source_.flags["cluster.redis"] = "redis://:hunter2@cache";
  EXPECT_THAT(ErrorOf(),
              ::testing::HasSubstr("cluster.redis_ca_file is the CA of a TLS connection"));
  EXPECT_THAT(ErrorOf(), ::testing::Not(::testing::HasSubstr("hunter2")));
  source_.flags.erase("cluster.redis");
  EXPECT_THAT(ErrorOf(), ::testing::HasSubstr("needs a rediss:// cluster.redis URL"));
  env_.erase("HEADCOUNT_REDIS_CA_FILE");
  source_.flags["cluster.redis"] = "redis://cache";
  source_.flags["cluster.key_prefix"] = "has space";
  EXPECT_THAT(ErrorOf(), ::testing::HasSubstr("cluster.key_prefix (flag --cluster-key-prefix)"));
  source_.flags["cluster.key_prefix"] = "stage:";
  c = LoadConfig(source_);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->cluster_key_prefix, "stage:");
}

TEST_F(ConfigTest, FlagsOverrideEnvironmentOverrideFile) {
  WriteFile(R"(
[tick]
interval = "30s"
[store]
retention = "7d"
database = "from-file.db"
[server]
listen = "0.0.0.0:9000"
)");
  env_["HEADCOUNT_TICK_INTERVAL"] = "10s";
  env_["HEADCOUNT_RETENTION"] = "2d";
  source_.flags["tick.interval"] = "5s";
  auto c = LoadConfig(source_);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->tick_interval, seconds{5});      // flag beats env and file
  EXPECT_EQ(c->retention, seconds{2 * 86400});  // env beats file
  EXPECT_EQ(c->database, "from-file.db");       // file beats default
  EXPECT_EQ(c->listen_address, "0.0.0.0");
  EXPECT_EQ(c->listen_port, 9000);
}

TEST_F(ConfigTest, BadValueNamesTheKeyTheSourceAndTheReason) {
  env_["HEADCOUNT_TICK_INTERVAL"] = "5x";
  const std::string e = ErrorOf();
  EXPECT_NE(e.find("tick.interval"), std::string::npos) << e;
  EXPECT_NE(e.find("env HEADCOUNT_TICK_INTERVAL"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown unit"), std::string::npos) << e;
}

TEST_F(ConfigTest, BadFlagIsNamedAsAFlag) {
  source_.flags["server.listen"] = "127.0.0.1:99999";
  const std::string e = ErrorOf();
  EXPECT_NE(e.find("flag --listen"), std::string::npos) << e;
  EXPECT_NE(e.find("0 to 65535"), std::string::npos) << e;
}

TEST_F(ConfigTest, UnknownFileKeyIsATypo) {
  WriteFile("[tick]\nintervall = \"5s\"\n");
  const std::string e = ErrorOf();
  EXPECT_NE(e.find("tick.intervall"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown setting"), std::string::npos) << e;
}

TEST_F(ConfigTest, TomlSyntaxErrorGivesTheLine) {
  WriteFile("[tick]\ninterval = \"5s\"\n[store\n");
  const std::string e = ErrorOf();
  EXPECT_NE(e.find("line 3"), std::string::npos) << e;
}

TEST_F(ConfigTest, WrongTypeInFile) {
  WriteFile("[tick]\ninterval = { minutes = 1 }\n");
  EXPECT_NE(ErrorOf().find("must be a string"), std::string::npos);
}

TEST_F(ConfigTest, MissingFileIsAnError) {
  source_.file = dir_ / "nope.toml";
  EXPECT_NE(ErrorOf().find("does not exist"), std::string::npos);
}

TEST_F(ConfigTest, TickIntervalMustTileTheMinuteOrTheDay) {
  for (const char* ok : {"1s", "5s", "15s", "1m", "5m", "1h"}) {
    source_.flags["tick.interval"] = ok;
    EXPECT_TRUE(LoadConfig(source_).ok()) << ok;
  }
  for (const char* bad : {"7s", "0s", "90s", "7m", "1500ms"}) {
    source_.flags["tick.interval"] = bad;
    EXPECT_FALSE(LoadConfig(source_).ok()) << bad;
  }
}

TEST_F(ConfigTest, RetentionMustHoldTheWindow) {
  source_.flags["tick.interval"] = "1h";
  source_.flags["store.retention"] = "2h";
  EXPECT_NE(ErrorOf().find("store.retention"), std::string::npos);
}

TEST_F(ConfigTest, SessionCapIsANumber) {
  WriteFile("[origin]\nmax_sessions_per_client = 20\n");
  auto c = LoadConfig(source_);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->max_sessions_per_client, 20u);
  env_["HEADCOUNT_MAX_SESSIONS_PER_CLIENT"] = "-1";
  EXPECT_NE(ErrorOf().find("origin.max_sessions_per_client (env"), std::string::npos);
}

TEST_F(ConfigTest, CountModeProxiesAndCorsFromFileEnvAndFlag) {
  WriteFile(R"(
[server]
trusted_proxies = ["10.0.0.0/8", "2001:db8::/32"]
cors_origins = "https://a.example, https://b.example"
[origin]
count = "heartbeats"
)");
  auto c = LoadConfig(source_);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->count, CountMode::kHeartbeats);
  EXPECT_EQ(c->trusted_proxies.ToString(), "10.0.0.0/8,2001:db8::/32");
  EXPECT_TRUE(c->cors_origins.Allows("https://b.example"));
  EXPECT_FALSE(c->cors_origins.Allows("https://c.example"));

  env_["HEADCOUNT_COUNT"] = "sessions";
  source_.flags["server.cors_origins"] = "*";
  c = LoadConfig(source_);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->count, CountMode::kSessions);
  EXPECT_TRUE(c->cors_origins.allows_any());
}

TEST_F(ConfigTest, CmcdFollowsTheCountModeUnlessSet) {
  auto c = LoadConfig(source_);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_FALSE(CmcdOn(*c));                              // sessions: off
  EXPECT_EQ(c->cmcd_timeout, std::chrono::seconds(75));  // 2.5 x the standard's 30 s
  source_.flags["origin.count"] = "heartbeats";
  c = LoadConfig(source_);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_TRUE(CmcdOn(*c));  // heartbeats: on
  WriteFile("[origin]\ncmcd = false\ncmcd_timeout = \"25s\"\n");
  c = LoadConfig(source_);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_FALSE(CmcdOn(*c));
  EXPECT_EQ(c->cmcd_timeout, std::chrono::seconds(25));
  source_.flags.clear();
  env_["HEADCOUNT_CMCD"] = "on";
  c = LoadConfig(source_);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_TRUE(CmcdOn(*c));  // on with sessions too
  source_.flags["origin.cmcd"] = "maybe";
  std::string e = ErrorOf();
  EXPECT_NE(e.find("origin.cmcd (flag --cmcd)"), std::string::npos) << e;
  source_.flags.clear();
  env_["HEADCOUNT_CMCD_TIMEOUT"] = "0s";
  e = ErrorOf();
  EXPECT_NE(e.find("origin.cmcd_timeout (env HEADCOUNT_CMCD_TIMEOUT)"), std::string::npos) << e;
}

TEST_F(ConfigTest, BadCountProxiesAndCorsSayWhy) {
  env_["HEADCOUNT_COUNT"] = "viewers";
  std::string e = ErrorOf();
  EXPECT_NE(e.find("origin.count (env HEADCOUNT_COUNT)"), std::string::npos) << e;
  EXPECT_NE(e.find("sessions or heartbeats"), std::string::npos) << e;
  env_.clear();
  source_.flags["server.trusted_proxies"] = "10.0.0.1/8";
  e = ErrorOf();
  EXPECT_NE(e.find("server.trusted_proxies (flag --trusted-proxies)"), std::string::npos) << e;
  EXPECT_NE(e.find("write 10.0.0.0/8"), std::string::npos) << e;
  source_.flags.clear();
  source_.flags["server.cors_origins"] = "https://a.example/";
  e = ErrorOf();
  EXPECT_NE(e.find("server.cors_origins (flag --cors-origins)"), std::string::npos) << e;
  EXPECT_NE(e.find("not a page origin"), std::string::npos) << e;
}

TEST_F(ConfigTest, CloudSettingsFromTomlTypes) {
  WriteFile(R"(
[tick]
source = "ivs"
[store]
kind = "dynamodb"
[dynamodb]
table = "viewers"
create_table = true
[ivs]
channels = ["arn:aws:ivs:us-west-2:123456789012:channel/AbCd1234", "arn:aws:ivs:us-west-2:123456789012:channel/EfGh5678"]
metadata_format = "seed"
account_tps = 100
)");
  auto c = LoadConfig(source_);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->source, SourceKind::kIvs);
  EXPECT_EQ(c->store, StoreKind::kDynamoDb);
  EXPECT_EQ(c->dynamodb_table, "viewers");
  EXPECT_TRUE(c->dynamodb_create_table);
  EXPECT_EQ(c->ivs_channels.size(), 2u);
  EXPECT_EQ(c->ivs_metadata_format, MetadataFormat::kSeed);
  EXPECT_EQ(c->ivs_account_tps, 100);
  EXPECT_FALSE(c->ivs_burst.has_value());  // one second's quota
  env_["HEADCOUNT_IVS_BURST"] = "40";
  auto with_burst = LoadConfig(source_);
  ASSERT_TRUE(with_burst.ok()) << with_burst.error().message();
  EXPECT_EQ(with_burst->ivs_burst, 40.0);
  env_["HEADCOUNT_IVS_BURST"] = "0.5";
  EXPECT_NE(ErrorOf().find("ivs.burst (env HEADCOUNT_IVS_BURST): \"0.5\" is not a number from 1"),
            std::string::npos)
      << ErrorOf();
  env_.erase("HEADCOUNT_IVS_BURST");
  env_["HEADCOUNT_IVS_CHANNELS"] = "arn:aws:ivs:us-west-2:1:channel/A, not-an-arn";
  EXPECT_NE(ErrorOf().find("not-an-arn\" is not an IVS channel ARN"), std::string::npos);
}

TEST_F(ConfigTest, ChannelsOfEveryAwsPartitionPass) {
  // The rule of core IsIvsChannelArn, which the CDK app's `channels` context
  // follows too: a China or GovCloud ARN that synthesizes also starts.
  source_.flags["ivs.channels"] =
      "arn:aws-cn:ivs:cn-north-1:123456789012:channel/AbCd1234,"
      "arn:aws-us-gov:ivs:us-gov-west-1:123456789012:channel/EfGh5678";
  auto c = LoadConfig(source_);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->ivs_channels.size(), 2u);
  source_.flags["ivs.channels"] = "arn:aws-iso:ivs:us-iso-east-1:123456789012:channel/AbCd1234";
  EXPECT_NE(ErrorOf().find("is not an IVS channel ARN"), std::string::npos);
}

TEST_F(ConfigTest, ChannelTagFromFileEnvAndFlag) {
  WriteFile("[ivs]\nchannel_tag = \"team=blue\"\n");
  auto c = LoadConfig(source_);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->ivs_tag_key, "team");
  EXPECT_EQ(c->ivs_tag_value, "blue");

  env_["HEADCOUNT_IVS_CHANNEL_TAG"] = "stage=live=1";  // the value may hold '='
  c = LoadConfig(source_);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->ivs_tag_key, "stage");
  EXPECT_EQ(c->ivs_tag_value, "live=1");

  source_.flags["ivs.channel_tag"] = "";  // an empty flag turns the filter off
  c = LoadConfig(source_);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->ivs_tag_key, "");

  source_.flags["ivs.channel_tag"] = "empty=";  // an empty value is a value
  c = LoadConfig(source_);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->ivs_tag_key, "empty");
  EXPECT_EQ(c->ivs_tag_value, "");
}

TEST_F(ConfigTest, UpstreamProxySettings) {
  WriteFile(
      "[origin]\nupstream = \"http://127.0.0.1:8888/{channel}/\"\nchannels = [\"cam1\", "
      "\"cam2\"]\n");
  env_["HEADCOUNT_UPSTREAM_CACHE_SIZE"] = "512MB";
  source_.flags["origin.upstream_timeout"] = "3s";
  auto c = LoadConfig(source_);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->upstream, "http://127.0.0.1:8888/{channel}/");
  EXPECT_EQ(c->channels, (std::vector<std::string>{"cam1", "cam2"}));
  EXPECT_EQ(c->upstream_cache_bytes, std::size_t{512} << 20);
  EXPECT_EQ(c->upstream_timeout, seconds(3));
}

TEST_F(ConfigTest, UpstreamAndHlsRootExcludeEachOther) {
  source_.flags["origin.upstream"] = "http://127.0.0.1:8888/{channel}/";
  source_.flags["origin.hls_root"] = "/srv/hls";
  EXPECT_THAT(ErrorOf(),
              ::testing::HasSubstr("origin.hls_root and origin.upstream exclude each other"));
}

TEST_F(ConfigTest, BadUpstreamSettingsNameTheSettingAndTheReason) {
  source_.flags["origin.upstream"] = "http://{channel}.example/";
  EXPECT_THAT(ErrorOf(),
              ::testing::HasSubstr(
                  "origin.upstream (flag --upstream): may hold {channel} in its path only"));
  source_.flags.clear();
  env_["HEADCOUNT_UPSTREAM"] = "ftp://h/{channel}/";
  EXPECT_THAT(ErrorOf(), ::testing::HasSubstr("origin.upstream (env HEADCOUNT_UPSTREAM)"));
  env_.clear();
  source_.flags["origin.channels"] = "cam1,../etc";
  EXPECT_THAT(ErrorOf(), ::testing::HasSubstr("\"../etc\" is not a channel name"));
  source_.flags.clear();
  source_.flags["origin.upstream_cache_size"] = "lots";
  EXPECT_THAT(ErrorOf(), ::testing::HasSubstr("is not a size like 256MB"));
}

TEST_F(ConfigTest, BadChannelTagNamesTheSetting) {
  const std::vector<std::string> bad_values = {"team", "=blue", std::string(129, 'k') + "=v",
                                               "k=" + std::string(257, 'v'), "k=a\nb"};
  for (const std::string& bad : bad_values) {
    source_.flags["ivs.channel_tag"] = bad;
    const std::string error = ErrorOf();
    EXPECT_NE(error.find("ivs.channel_tag (flag --ivs-channel-tag)"), std::string::npos) << error;
    EXPECT_NE(error.find("is not key=value"), std::string::npos) << error;
  }
}

TEST_F(ConfigTest, LogLevelIsChecked) {
  env_["HEADCOUNT_LOG_LEVEL"] = "loud";
  EXPECT_NE(ErrorOf().find("log.level"), std::string::npos);
}

TEST_F(ConfigTest, EverySettingHasAKeyEnvAndFlag) {
  for (const auto& s : Settings()) {
    EXPECT_EQ(s.env.rfind("HEADCOUNT_", 0), 0u) << s.key;
    EXPECT_EQ(s.flag.rfind("--", 0), 0u) << s.key;
    EXPECT_NE(s.key.find('.'), std::string::npos) << s.key;
  }
}

}  // namespace
}  // namespace headcount
