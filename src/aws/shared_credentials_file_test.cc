// The shared credentials file: its INI dialect, which profile is read, and
// the warning for a file others may read.
#include "aws/shared_credentials_file.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <memory>
#include <sstream>

#include "aws/testing/credentials_fixtures.h"

namespace headcount::aws {
namespace {

using testing::kSecret;
using testing::TempDir;

TEST(Ini, ParsesSectionsCommentsAndContinuations) {
  Result<IniProfiles> r = ParseIni(
      "# comment\n"
      "[default]\n"
      "aws_access_key_id = AKID1\n"
      "AWS_Secret_Access_Key=secret1\r\n"
      "; another comment\n"
      "\n"
      "[ prod ]\n"
      "aws_access_key_id = AKID2\n"
      "s3 =\n"
      "  max_concurrent_requests = 20\n"
      "[default]\n"
      "region = us-west-2\n");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->at("default").at("aws_access_key_id"), "AKID1");
  EXPECT_EQ(r->at("default").at("aws_secret_access_key"), "secret1");
  EXPECT_EQ(r->at("default").at("region"), "us-west-2");
  EXPECT_EQ(r->at("prod").at("aws_access_key_id"), "AKID2");
  EXPECT_EQ(r->at("prod").at("s3"), "\nmax_concurrent_requests = 20");
}

TEST(Ini, RejectsMalformedLinesWithTheirNumber) {
  for (const char* text : {"[default\n", "[default]\nno equals sign\n", "key = value\n",
                           "  indented = first\n", "[default]\n = value\n"}) {
    Result<IniProfiles> r = ParseIni(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_NE(r.error().message().find("line "), std::string::npos);
  }
}

TEST(SharedFileCredentials, ReadsTheProfileNamedByAwsProfile) {
  TempDir dir;
  const std::string file =
      dir.Write("creds",
                "[default]\naws_access_key_id=AKIDDEF\naws_secret_access_key=s1\n"
                "[prod]\naws_access_key_id=AKIDPROD\naws_secret_access_key=s2\n"
                "aws_session_token=t2\n");
  Result<std::optional<Credentials>> def =
      CredentialsFromSharedFile(MapEnvironment({{"AWS_SHARED_CREDENTIALS_FILE", file}}));
  ASSERT_TRUE(def.ok());
  ASSERT_TRUE(def->has_value());
  EXPECT_EQ((*def)->access_key_id(), "AKIDDEF");

  Result<std::optional<Credentials>> prod = CredentialsFromSharedFile(
      MapEnvironment({{"AWS_SHARED_CREDENTIALS_FILE", file}, {"AWS_PROFILE", "prod"}}));
  ASSERT_TRUE(prod.ok());
  ASSERT_TRUE(prod->has_value());
  EXPECT_EQ((*prod)->access_key_id(), "AKIDPROD");
  EXPECT_EQ((*prod)->session_token(), "t2");

  Result<std::optional<Credentials>> missing = CredentialsFromSharedFile(
      MapEnvironment({{"AWS_SHARED_CREDENTIALS_FILE", file}, {"AWS_PROFILE", "staging"}}));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
}

TEST(SharedFileCredentials, DefaultsToHomeAndIsOptional) {
  TempDir dir;
  Result<std::optional<Credentials>> absent =
      CredentialsFromSharedFile(MapEnvironment({{"HOME", dir.path()}}));
  ASSERT_TRUE(absent.ok());
  EXPECT_FALSE(absent->has_value());

  dir.Write(".aws/credentials", "[default]\naws_access_key_id=AKIDHOME\naws_secret_access_key=s\n");
  Result<std::optional<Credentials>> home =
      CredentialsFromSharedFile(MapEnvironment({{"HOME", dir.path()}}));
  ASSERT_TRUE(home.ok());
  ASSERT_TRUE(home->has_value());
  EXPECT_EQ((*home)->access_key_id(), "AKIDHOME");
}

// Captures what the default logger writes while alive.
class DefaultLogCapture {
 public:
  DefaultLogCapture()
      : previous_(spdlog::default_logger()),
        logger_(std::make_shared<spdlog::logger>(
            "capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(out_))) {
    spdlog::set_default_logger(logger_);
  }
  ~DefaultLogCapture() { spdlog::set_default_logger(previous_); }
  DefaultLogCapture(const DefaultLogCapture&) = delete;
  DefaultLogCapture& operator=(const DefaultLogCapture&) = delete;
  std::string str() {
    logger_->flush();
    return out_.str();
  }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
  std::shared_ptr<spdlog::logger> logger_;
};

TEST(SharedFileCredentials, WarnsWhenOtherUsersCanReadTheFile) {
  TempDir dir;
  const std::string file = dir.Write(
      "creds",
      std::string("[default]\naws_access_key_id=AKIDDEF\naws_secret_access_key=") + kSecret + "\n");
  const auto env = MapEnvironment({{"AWS_SHARED_CREDENTIALS_FILE", file}});
  namespace fs = std::filesystem;

  fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write);
  {
    DefaultLogCapture log;
    ASSERT_TRUE(CredentialsFromSharedFile(env).ok());
    EXPECT_EQ(log.str(), "") << "a 0600 file is as it should be";
  }

  fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                            fs::perms::others_read);
  DefaultLogCapture log;
  Result<std::optional<Credentials>> creds = CredentialsFromSharedFile(env);
  ASSERT_TRUE(creds.ok()) << "the keys are still used";
  ASSERT_TRUE(creds->has_value());
  const std::string text = log.str();
  EXPECT_NE(text.find(file), std::string::npos) << text;
  EXPECT_NE(text.find("0644"), std::string::npos) << text;
  EXPECT_NE(text.find("chmod 600"), std::string::npos) << text;
  EXPECT_EQ(text.find(kSecret), std::string::npos) << "never the secret: " << text;
}

TEST(SharedFileCredentials, ProfileWithoutKeysIsAnError) {
  TempDir dir;
  const std::string file = dir.Write("creds", "[default]\nrole_arn = arn:aws:iam::1:role/x\n");
  Result<std::optional<Credentials>> r =
      CredentialsFromSharedFile(MapEnvironment({{"AWS_SHARED_CREDENTIALS_FILE", file}}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace headcount::aws
