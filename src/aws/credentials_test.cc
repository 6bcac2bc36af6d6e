// Credentials: redaction, each source of the chain, the chain's order and
// its expiry-aware cache (fake transport, no sockets), and the region.
#include "aws/credentials.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <concepts>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <sstream>

#include "aws/testing/fake_transport.h"
#include "core/time_text.h"

namespace headcount::aws {
namespace {

using testing::FakeTransport;

constexpr char kSecret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr char kToken[] = "FQoGZXIvYXdzEXAMPLETOKENxyz";

template <typename T>
concept Streamable = requires(std::ostream& out, const T& value) {
  out << value;
};
static_assert(!Streamable<Credentials>, "Credentials must not have an operator<<");

WallTime At(const char* rfc3339) {
  Result<WallTime> t = ParseRfc3339(rfc3339);
  EXPECT_TRUE(t.ok());
  return t.ok() ? *t : WallTime{};
}

// A scratch directory removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("headcount-aws-" + std::to_string(::getpid()) + "-" + std::to_string(next_id_++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string Write(const std::string& name, const std::string& text) const {
    const auto file = path_ / name;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file) << text;
    return file.string();
  }
  std::string path() const { return path_.string(); }

 private:
  static inline std::atomic<int> next_id_{0};  // NOLINT(readability-identifier-naming)
  std::filesystem::path path_;
};

std::string ContainerJson(const std::string& key, const std::string& expiration) {
  return R"({"AccessKeyId":")" + key + R"(","SecretAccessKey":")" + kSecret + R"(","Token":")" +
         kToken + R"(","Expiration":")" + expiration + R"("})";
}

TEST(Credentials, ToStringRedactsSecretAndToken) {
  const Credentials creds("AKIDEXAMPLE12345", kSecret, kToken, At("2026-01-01T00:00:00Z"));
  const std::string text = creds.ToString();
  EXPECT_EQ(text.find(kSecret), std::string::npos) << text;
  EXPECT_EQ(text.find(kToken), std::string::npos) << text;
  EXPECT_EQ(text.find("AKIDEXAMPLE12345"), std::string::npos) << text;
  EXPECT_NE(text.find("AKID****"), std::string::npos) << text;
  EXPECT_NE(text.find("2026-01-01T00:00:00Z"), std::string::npos) << text;
}

TEST(Credentials, LoggingThemNeverShowsTheSecret) {
  std::ostringstream captured;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(captured);
  spdlog::logger logger("creds-test", sink);
  logger.set_level(spdlog::level::trace);
  const Credentials creds("AKIDEXAMPLE12345", kSecret, kToken);
  logger.info("using {}", creds.ToString());
  // What a careless caller would log on failure, too.
  Result<std::optional<Credentials>> partial =
      CredentialsFromEnvironment(MapEnvironment({{"AWS_SECRET_ACCESS_KEY", kSecret}}));
  ASSERT_FALSE(partial.ok());
  logger.error("{}", partial.error().ToString());
  logger.flush();
  EXPECT_NE(captured.str().find("<redacted>"), std::string::npos);
  EXPECT_EQ(captured.str().find(kSecret), std::string::npos) << captured.str();
  EXPECT_EQ(captured.str().find(kToken), std::string::npos) << captured.str();
}

TEST(Credentials, NeedsRefreshBeforeExpiry) {
  const Credentials lasting("AKID", kSecret);
  EXPECT_FALSE(lasting.NeedsRefresh(At("2100-01-01T00:00:00Z")));
  const Credentials expiring("AKID", kSecret, kToken, At("2026-01-01T01:00:00Z"));
  EXPECT_FALSE(expiring.NeedsRefresh(At("2026-01-01T00:54:59Z")));
  EXPECT_TRUE(expiring.NeedsRefresh(At("2026-01-01T00:55:00Z")));
}

TEST(EnvironmentCredentials, ReadsKeySecretAndToken) {
  Result<std::optional<Credentials>> r =
      CredentialsFromEnvironment(MapEnvironment({{"AWS_ACCESS_KEY_ID", "AKIDENV"},
                                                 {"AWS_SECRET_ACCESS_KEY", kSecret},
                                                 {"AWS_SESSION_TOKEN", kToken}}));
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->access_key_id(), "AKIDENV");
  EXPECT_EQ((*r)->secret_access_key(), kSecret);
  EXPECT_EQ((*r)->session_token(), kToken);
}

TEST(EnvironmentCredentials, UnsetIsNotConfiguredAndHalfSetIsAnError) {
  Result<std::optional<Credentials>> none = CredentialsFromEnvironment(MapEnvironment({}));
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  Result<std::optional<Credentials>> half =
      CredentialsFromEnvironment(MapEnvironment({{"AWS_ACCESS_KEY_ID", "AKID"}}));
  ASSERT_FALSE(half.ok());
  EXPECT_EQ(half.error().code(), ErrorCode::kInvalidArgument);
}

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

TEST(ContainerEndpoint, RelativeUriGoesToTheEcsAgent) {
  Result<std::optional<ContainerEndpoint>> r = ContainerEndpointFromEnvironment(
      MapEnvironment({{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc"},
                      {"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:9/ignored"}}));
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->url, "http://169.254.170.2/v2/credentials/abc");
}

TEST(ContainerEndpoint, FullUriOverHttpMustBeLocal) {
  for (const char* ok : {"http://127.0.0.1:9001/creds", "http://localhost/x", "http://[::1]:1/",
                         "http://169.254.170.23/v1/credentials",
                         "http://[FD00:EC2::23]/v1/credentials", "https://creds.example.com/"}) {
    Result<std::optional<ContainerEndpoint>> r = ContainerEndpointFromEnvironment(
        MapEnvironment({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", ok}}));
    ASSERT_TRUE(r.ok()) << ok << ": " << r.error().ToString();
    EXPECT_EQ((*r)->url, ok);
  }
  // A name that merely starts like a loopback address is another host.
  for (const char* bad :
       {"http://10.0.0.1/creds", "http://127.evil.example/creds", "http://[fd00:ec2::24]/creds"}) {
    Result<std::optional<ContainerEndpoint>> r = ContainerEndpointFromEnvironment(
        MapEnvironment({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", bad}}));
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  }
}

TEST(ContainerEndpoint, ErrorsNeverQuoteTheQuery) {
  Result<std::optional<ContainerEndpoint>> r = ContainerEndpointFromEnvironment(MapEnvironment(
      {{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:99999/creds?token=SECRET"}}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message().find("SECRET"), std::string::npos) << r.error().message();

  FakeTransport transport;
  transport.PushResponse(403, "{}");
  Result<Credentials> rejected = FetchContainerCredentials(
      ContainerEndpoint{.url = "http://127.0.0.1:1/creds?token=SECRET"}, transport);
  ASSERT_FALSE(rejected.ok());
  EXPECT_EQ(rejected.error().message().find("SECRET"), std::string::npos)
      << rejected.error().message();
  EXPECT_NE(rejected.error().message().find("http://127.0.0.1:1/creds"), std::string::npos)
      << rejected.error().message();
}

TEST(ContainerEndpoint, TokenFileWinsOverToken) {
  Result<std::optional<ContainerEndpoint>> r = ContainerEndpointFromEnvironment(
      MapEnvironment({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:1/"},
                      {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "literal"},
                      {"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "/run/token"}}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->authorization_token_file, "/run/token");
  EXPECT_FALSE((*r)->authorization_token.has_value());
}

TEST(ContainerCredentials, ParsesTheEndpointAnswer) {
  Result<Credentials> r = ParseContainerCredentials(ContainerJson("AKIDC", "2026-01-01T01:00:00Z"));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->access_key_id(), "AKIDC");
  EXPECT_EQ(r->session_token(), kToken);
  EXPECT_EQ(r->expiration(), At("2026-01-01T01:00:00Z"));
  Result<Credentials> bad = ParseContainerCredentials(R"({"AccessKeyId":"A"})");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), ErrorCode::kRejected);
  EXPECT_FALSE(ParseContainerCredentials("not json").ok());
}

TEST(ContainerCredentials, SendsTheTokenFromTheTokenFile) {
  TempDir dir;
  ContainerEndpoint endpoint{.url = "http://127.0.0.1:1/creds",
                             .authorization_token = std::nullopt,
                             .authorization_token_file = dir.Write("token", "from-file\n")};
  FakeTransport transport;
  transport.PushResponse(200, ContainerJson("AKIDC", "2026-01-01T01:00:00Z"));
  Result<Credentials> r = FetchContainerCredentials(endpoint, transport);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  ASSERT_EQ(transport.requests().size(), 1u);
  const HttpRequest sent = transport.requests()[0];
  EXPECT_EQ(sent.url, "http://127.0.0.1:1/creds");
  ASSERT_NE(FindHeader(sent.headers, "Authorization"), nullptr);
  EXPECT_EQ(*FindHeader(sent.headers, "Authorization"), "from-file");
}

TEST(ContainerCredentials, NonOkAnswerIsRejectedAndUnreachableIsUnavailable) {
  ContainerEndpoint endpoint{.url = "http://127.0.0.1:1/creds"};
  FakeTransport transport;
  transport.PushResponse(403, "{}");
  Result<Credentials> rejected = FetchContainerCredentials(endpoint, transport);
  ASSERT_FALSE(rejected.ok());
  EXPECT_EQ(rejected.error().code(), ErrorCode::kRejected);
  Result<Credentials> down = FetchContainerCredentials(endpoint, transport);  // nothing queued
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.error().code(), ErrorCode::kUnavailable);
}

TEST(CredentialsChain, EnvironmentThenSharedFileThenContainer) {
  TempDir dir;
  const std::string file =
      dir.Write("creds", "[default]\naws_access_key_id=AKIDFILE\naws_secret_access_key=s\n");
  const std::map<std::string, std::string, std::less<>> all = {
      {"AWS_ACCESS_KEY_ID", "AKIDENV"},
      {"AWS_SECRET_ACCESS_KEY", kSecret},
      {"AWS_SHARED_CREDENTIALS_FILE", file},
      {"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:1/creds"}};
  const WallTime now = At("2026-01-01T00:00:00Z");
  FakeTransport transport;
  transport.PushResponse(200, ContainerJson("AKIDCONTAINER", "2026-01-01T06:00:00Z"));

  DefaultCredentialsChain with_env(MapEnvironment(all), transport);
  Result<Credentials> r = with_env.Get(now);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->access_key_id(), "AKIDENV");
  EXPECT_EQ(with_env.source(), "environment");

  auto without_env = all;
  without_env.erase("AWS_ACCESS_KEY_ID");
  without_env.erase("AWS_SECRET_ACCESS_KEY");
  DefaultCredentialsChain with_file(MapEnvironment(without_env), transport);
  r = with_file.Get(now);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->access_key_id(), "AKIDFILE");
  EXPECT_EQ(with_file.source(), "shared-file");

  auto only_container = without_env;
  only_container.erase("AWS_SHARED_CREDENTIALS_FILE");
  only_container["HOME"] = dir.path();  // no .aws/credentials there
  DefaultCredentialsChain with_container(MapEnvironment(only_container), transport);
  r = with_container.Get(now);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->access_key_id(), "AKIDCONTAINER");
  EXPECT_EQ(with_container.source(), "container");
  EXPECT_EQ(transport.requests().size(), 1u);  // env and file never touched the network

  DefaultCredentialsChain nothing(MapEnvironment({{"HOME", dir.path()}}), transport);
  r = nothing.Get(now);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
}

TEST(CredentialsChain, RefreshesBeforeExpiryAndRidesOutAFailedRefresh) {
  FakeTransport transport;
  DefaultCredentialsChain chain(
      MapEnvironment({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:1/creds"}}),
      transport);
  transport.PushResponse(200, ContainerJson("AKIDONE", "2026-01-01T01:00:00Z"));

  Result<Credentials> r = chain.Get(At("2026-01-01T00:00:00Z"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->access_key_id(), "AKIDONE");
  r = chain.Get(At("2026-01-01T00:54:00Z"));  // cached
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(transport.requests().size(), 1u);

  transport.PushResponse(200, ContainerJson("AKIDTWO", "2026-01-01T02:00:00Z"));
  r = chain.Get(At("2026-01-01T00:56:00Z"));  // inside the refresh margin
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->access_key_id(), "AKIDTWO");
  EXPECT_EQ(transport.requests().size(), 2u);

  transport.PushResponse(500, "");  // refresh fails while AKIDTWO is still valid
  r = chain.Get(At("2026-01-01T01:57:00Z"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->access_key_id(), "AKIDTWO");

  transport.PushResponse(500, "");  // and once it has expired, the failure shows
  r = chain.Get(At("2026-01-01T02:00:01Z"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kRejected);
}

TEST(CredentialsChain, InvalidateFetchesContainerCredentialsAgainButNotEnvironmentOnes) {
  FakeTransport transport;
  DefaultCredentialsChain chain(
      MapEnvironment({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:1/creds"}}),
      transport);
  const WallTime now = At("2026-01-01T00:00:00Z");
  transport.PushResponse(200, ContainerJson("AKIDONE", "2026-01-01T06:00:00Z"));
  Result<Credentials> first = chain.Get(now);
  ASSERT_TRUE(first.ok());

  // Another caller's stale copy: the cache already holds something else.
  EXPECT_TRUE(chain.Invalidate(Credentials("AKIDOLD", kSecret, kToken)));
  ASSERT_TRUE(chain.Get(now).ok());
  EXPECT_EQ(transport.requests().size(), 1u);

  // The cached ones were refused long before their expiry: fetched again.
  EXPECT_TRUE(chain.Invalidate(*first));
  transport.PushResponse(200, ContainerJson("AKIDTWO", "2026-01-01T06:00:00Z"));
  Result<Credentials> second = chain.Get(now);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->access_key_id(), "AKIDTWO");
  EXPECT_EQ(transport.requests().size(), 2u);

  // Refused ones are never used again, even when the endpoint is down.
  EXPECT_TRUE(chain.Invalidate(*second));
  transport.PushResponse(500, "");
  EXPECT_FALSE(chain.Get(now).ok());

  DefaultCredentialsChain from_env(
      MapEnvironment({{"AWS_ACCESS_KEY_ID", "AKIDENV"}, {"AWS_SECRET_ACCESS_KEY", kSecret}}),
      transport);
  Result<Credentials> env = from_env.Get(now);
  ASSERT_TRUE(env.ok());
  EXPECT_FALSE(from_env.Invalidate(*env));  // they cannot change: do not ask again
  EXPECT_EQ(from_env.source(), "environment");
}

TEST(Region, AwsRegionThenDefaultRegion) {
  Result<std::string> r = RegionFromEnvironment(
      MapEnvironment({{"AWS_REGION", "eu-west-1"}, {"AWS_DEFAULT_REGION", "us-east-1"}}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "eu-west-1");
  r = RegionFromEnvironment(MapEnvironment({{"AWS_DEFAULT_REGION", "us-east-1"}}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "us-east-1");
  r = RegionFromEnvironment(MapEnvironment({}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message().find("AWS_REGION"), std::string::npos);
  EXPECT_FALSE(RegionFromEnvironment(MapEnvironment({{"AWS_REGION", "us east"}})).ok());
}

}  // namespace
}  // namespace headcount::aws
