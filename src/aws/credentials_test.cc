// The default chain: the environment source, the order of the sources,
// the expiry-aware cache, and one refresh at a time that never holds up
// callers while the cached credentials are valid (fake transport, no
// sockets).
#include "aws/credentials.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <vector>

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

// A transport whose Send waits while it is closed: a refresh that stays in
// flight for as long as the test wants. Answers come from a FakeTransport.
class GatedTransport final : public HttpTransport {
 public:
  FakeTransport& answers() { return answers_; }

  void Close() {
    std::lock_guard lock(mu_);
    open_ = false;
  }
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    changed_.notify_all();
  }
  // Waits until `n` Sends have started (each is a resolve of the chain).
  void AwaitSends(int n) {
    std::unique_lock lock(mu_);
    changed_.wait(lock, [&] { return sends_ >= n; });
  }
  int sends() const {
    std::lock_guard lock(mu_);
    return sends_;
  }

  Result<HttpResponse> Send(const HttpRequest& request) override {
    {
      std::unique_lock lock(mu_);
      ++sends_;
      changed_.notify_all();
      changed_.wait(lock, [&] { return open_; });
    }
    return answers_.Send(request);
  }

 private:
  FakeTransport answers_;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  // Guarded by mu_.
  bool open_ = true;
  int sends_ = 0;
};

// How long a caller may take to be answered from the cache while a refresh
// is held up: generous, as the answer needs no I/O at all.
constexpr std::chrono::seconds kCachedAnswerBound{10};

Environment ContainerEnvironment() {
  return MapEnvironment({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:1/creds"}});
}

// `callers` calls of chain.Get(now), each on a thread of its own.
std::vector<std::future<Result<Credentials>>> GetOnThreads(DefaultCredentialsChain& chain,
                                                           WallTime now, int callers) {
  std::vector<std::future<Result<Credentials>>> futures;
  for (int i = 0; i < callers; ++i) {
    futures.push_back(std::async(std::launch::async, [&chain, now] { return chain.Get(now); }));
  }
  return futures;
}

TEST(CredentialsChain, ServesTheCachedCredentialsWhileOneCallerRefreshes) {
  GatedTransport transport;
  DefaultCredentialsChain chain(ContainerEnvironment(), transport);
  transport.answers().PushResponse(200, ContainerJson("AKIDONE", "2026-01-01T01:00:00Z"));
  ASSERT_TRUE(chain.Get(At("2026-01-01T00:00:00Z")).ok());

  // Inside the refresh margin, AKIDONE still valid: the first caller
  // refreshes, and the endpoint holds its answer.
  const WallTime in_margin = At("2026-01-01T00:56:00Z");
  transport.Close();
  transport.answers().PushResponse(200, ContainerJson("AKIDTWO", "2026-01-01T02:00:00Z"));
  auto refresher = std::async(std::launch::async, [&] { return chain.Get(in_margin); });
  transport.AwaitSends(2);

  std::vector<std::future<Result<Credentials>>> others = GetOnThreads(chain, in_margin, 4);
  const auto deadline = std::chrono::steady_clock::now() + kCachedAnswerBound;
  bool all_answered = true;
  for (auto& other : others) {
    all_answered = all_answered && other.wait_until(deadline) == std::future_status::ready;
  }
  transport.Open();  // before any assertion can return, so no thread is left waiting
  EXPECT_TRUE(all_answered) << "callers waited for the refresh with valid credentials cached";
  for (auto& other : others) {
    Result<Credentials> r = other.get();
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    EXPECT_EQ(r->access_key_id(), "AKIDONE");
  }
  Result<Credentials> refreshed = refresher.get();
  ASSERT_TRUE(refreshed.ok()) << refreshed.error().ToString();
  EXPECT_EQ(refreshed->access_key_id(), "AKIDTWO");
  EXPECT_EQ(transport.sends(), 2) << "one fetch at start, one refresh";
  Result<Credentials> after = chain.Get(in_margin);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->access_key_id(), "AKIDTWO");
  EXPECT_EQ(transport.sends(), 2);
}

TEST(CredentialsChain, WithNothingValidCallersWaitForTheOneRefresh) {
  GatedTransport transport;
  DefaultCredentialsChain chain(ContainerEnvironment(), transport);
  const WallTime now = At("2026-01-01T00:00:00Z");
  transport.Close();
  transport.answers().PushResponse(200, ContainerJson("AKIDONE", "2026-01-01T01:00:00Z"));
  std::vector<std::future<Result<Credentials>>> callers = GetOnThreads(chain, now, 1);
  transport.AwaitSends(1);  // the first caller is refreshing

  for (auto& other : GetOnThreads(chain, now, 4)) callers.push_back(std::move(other));
  transport.Open();
  for (auto& caller : callers) {
    Result<Credentials> r = caller.get();
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    EXPECT_EQ(r->access_key_id(), "AKIDONE");
  }
  EXPECT_EQ(transport.sends(), 1) << "the callers started refreshes of their own";
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
