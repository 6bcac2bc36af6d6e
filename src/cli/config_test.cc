#include "cli/config.h"

#include <gtest/gtest.h>

#include <fstream>

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

TEST_F(ConfigTest, DefaultsAreDocumented) {
  auto c = LoadConfig(source_);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->listen_address, "127.0.0.1");
  EXPECT_EQ(c->listen_port, 8080);
  EXPECT_EQ(c->tick_interval, seconds{60});
  EXPECT_EQ(c->retention, seconds{30 * 86400});
  EXPECT_EQ(c->session_idle_timeout, seconds{30});
  EXPECT_EQ(c->database, "headcount.db");
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
  EXPECT_EQ(c->source, "ivs");
  EXPECT_EQ(c->store, "dynamodb");
  EXPECT_EQ(c->dynamodb_table, "viewers");
  EXPECT_TRUE(c->dynamodb_create_table);
  EXPECT_EQ(c->ivs_channels.size(), 2u);
  EXPECT_EQ(c->ivs_metadata_format, "seed");
  EXPECT_EQ(c->ivs_account_tps, 100);
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
