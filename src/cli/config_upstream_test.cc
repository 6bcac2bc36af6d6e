// The upstream credentials of proxy mode (origin.upstream_headers,
// origin.upstream_query): repeatable, from file, environment and flags, and
// secret: no error and no shown value holds a value.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "cli/config.h"
#include "cli/config_settings.h"

namespace headcount {
namespace config_upstream_test {

using ::testing::HasSubstr;
using ::testing::Not;

class UpstreamCredentialsConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    source_.getenv = [this](const std::string& name) -> std::optional<std::string> {
      const auto it = env_.find(name);
      if (it == env_.end()) return std::nullopt;
      return it->second;
    };
  }
  std::string Shown(const Config& c, std::string_view key) {
    for (const auto& setting : config_internal::AllSettings()) {
      if (setting.spec.key == key) return setting.show(c);
    }
    ADD_FAILURE() << key << " is not a setting";
    return "";
  }
  const SettingSpec& Spec(std::string_view key) {
    for (const auto& setting : config_internal::AllSettings()) {
      if (setting.spec.key == key) return setting.spec;
    }
    throw std::logic_error("no such setting");
  }

  std::map<std::string, std::string> env_;
  ConfigSource source_;
};

TEST_F(UpstreamCredentialsConfigTest, HeadersAndQueryFromEachPlaceValuesNeverShown) {
  // Flags: CLI11 joins a repeated flag's values by newlines.
  source_.flags["origin.upstream_headers"] = "Authorization: Bearer s3cret\nX-Api-Key: k3y";
  source_.flags["origin.upstream_query"] = "jwt=t0ken";
  Result<Config> c = LoadConfig(source_);
  ASSERT_TRUE(c.ok()) << c.error().message();
  ASSERT_EQ(c->upstream_credentials.headers.size(), 2U);
  EXPECT_EQ(c->upstream_credentials.headers[0].name, "Authorization");
  EXPECT_EQ(c->upstream_credentials.headers[0].value, "Bearer s3cret");
  EXPECT_EQ(c->upstream_credentials.headers[1].value, "k3y");
  ASSERT_EQ(c->upstream_credentials.query.size(), 1U);
  EXPECT_EQ(c->upstream_credentials.query[0],
            (std::pair<std::string, std::string>{"jwt", "t0ken"}));
  // What --help or any dump of the settings shows: the names only.
  EXPECT_EQ(Shown(*c, "origin.upstream_headers"), "Authorization: ***\nX-Api-Key: ***");
  EXPECT_EQ(Shown(*c, "origin.upstream_query"), "jwt=***");
  EXPECT_TRUE(Spec("origin.upstream_headers").repeatable);
  EXPECT_THAT(Spec("origin.upstream_headers").help, HasSubstr("never logged or shown"));
  EXPECT_THAT(Spec("origin.upstream_query").help, HasSubstr("never logged or shown"));

  // The environment, one per line; flags replace it entirely.
  source_.flags.clear();
  env_["HEADCOUNT_UPSTREAM_HEADERS"] = "Authorization: Bearer a, b\n\nX-One: 1\n";
  c = LoadConfig(source_);
  ASSERT_TRUE(c.ok()) << c.error().message();
  ASSERT_EQ(c->upstream_credentials.headers.size(), 2U);
  EXPECT_EQ(c->upstream_credentials.headers[0].value, "Bearer a, b") << "commas stay in a value";
}

TEST_F(UpstreamCredentialsConfigTest, ATomlListKeepsCommasInValues) {
  const std::filesystem::path file =
      std::filesystem::temp_directory_path() / "headcount_config_upstream_test.toml";
  std::ofstream(file) << "[origin]\nupstream_headers = [\"Authorization: Bearer a,b\", "
                         "\"X-Two: 2\"]\nupstream_query = [\"token=x%2Cy\"]\n";
  source_.file = file;
  Result<Config> c = LoadConfig(source_);
  std::filesystem::remove(file);
  ASSERT_TRUE(c.ok()) << c.error().message();
  ASSERT_EQ(c->upstream_credentials.headers.size(), 2U);
  EXPECT_EQ(c->upstream_credentials.headers[0].value, "Bearer a,b");
  EXPECT_EQ(c->upstream_credentials.query[0].second, "x%2Cy");
}

TEST_F(UpstreamCredentialsConfigTest, ErrorsNameTheSettingNeverTheValue) {
  for (const auto& [key, bad] : std::vector<std::pair<std::string, std::string>>{
           {"origin.upstream_headers", "Authorization Bearer s3cret"},
           {"origin.upstream_headers", "X-Ok: 1\nHost: s3cret"},
           {"origin.upstream_query", "s3cret"},
           {"origin.upstream_query", "jwt=s3cret&more"}}) {
    source_.flags = {{key, bad}};
    Result<Config> c = LoadConfig(source_);
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_THAT(c.error().message(), HasSubstr(key));
    EXPECT_THAT(c.error().message(), Not(HasSubstr("s3cret")));
  }
}

}  // namespace config_upstream_test
}  // namespace headcount
