// The default chain: the environment source, the order of the sources and
// the expiry-aware cache (fake transport, no sockets).
#include "aws/credentials.h"

#include <gtest/gtest.h>

#include <map>

#include "aws/testing/credentials_fixtures.h"
#include "aws/testing/fake_transport.h"

namespace headcount::aws {
namespace {

using testing::At;
using testing::ContainerJson;
using testing::FakeTransport;
using testing::kSecret;
using testing::kToken;
using testing::TempDir;

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

}  // namespace
}  // namespace headcount::aws
