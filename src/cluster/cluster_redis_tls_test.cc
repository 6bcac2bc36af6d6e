// RedisPool over rediss:// against a real redis-server with TLS, and the
// pool's deadlines against a server that accepts and never answers
// (integration).
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "cluster/redis_client.h"
#include "cluster/redis_url.h"
#include "cluster/shared_viewers.h"
#include "cluster/testing/redis_server.h"
#include "core/testing/time.h"

namespace headcount {
namespace {

using std::chrono::milliseconds;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::RedisServer;
using SteadyClock = std::chrono::steady_clock;

constexpr char kTlsPassword[] = "redis-tls-s3cret";
constexpr milliseconds kConnectTimeout{500};
constexpr milliseconds kIoTimeout{1000};
// What a loaded machine may add to a deadline before the call returns.
constexpr milliseconds kSlack{700};

RedisOptions OptionsFor(const std::string& url, const std::string& ca_file) {
  RedisOptions options;
  Result<RedisEndpoint> endpoint = ParseRedisUrl(url);
  EXPECT_TRUE(endpoint.ok()) << url;
  if (endpoint.ok()) options.endpoint = *endpoint;
  options.connect_timeout = kConnectTimeout;
  options.io_timeout = kIoTimeout;
  options.ca_file = ca_file;
  return options;
}

class ClusterRedisTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    Result<std::unique_ptr<RedisServer>> made =
        RedisServer::Create(testing::RedisServerOptions{.password = kTlsPassword, .tls = true});
    ASSERT_TRUE(made.ok()) << made.error().message();
    tls_redis = std::move(*made);
  }
  static void TearDownTestSuite() { tls_redis.reset(); }
  void SetUp() override {
    ASSERT_NE(tls_redis, nullptr);
    ASSERT_TRUE(tls_redis->Start().ok());
  }

  static RedisOptions Options() { return OptionsFor(tls_redis->Url(), tls_redis->ca_file()); }
  static std::string HostPort() { return "localhost:" + std::to_string(tls_redis->port()); }

  static std::unique_ptr<RedisServer> tls_redis;
};

std::unique_ptr<RedisServer> ClusterRedisTlsTest::tls_redis;

TEST_F(ClusterRedisTlsTest, PipelinesOverRediss) {
  ASSERT_THAT(tls_redis->Url(), HasSubstr("rediss://"));
  RedisPool redis(Options());
  const std::vector<RedisCommand> commands = {
      {"SET", "k", "v"}, {"GET", "k"}, {"INCR", "k"}, {"GET", "missing"}, {"ZADD", "z", "1", "m"}};
  const Result<std::vector<RedisReply>> r = redis.Run(commands);
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_EQ(r->size(), 5u);
  EXPECT_EQ((*r)[0].text, "OK");
  EXPECT_EQ((*r)[1].text, "v");
  EXPECT_TRUE((*r)[2].is_error());
  EXPECT_EQ((*r)[3].type, RedisReply::Type::kNil);
  EXPECT_EQ((*r)[4].integer, 1);

  // Replies larger than one read (16 KiB), and many pipelined at once.
  const std::string big(std::size_t{100} * 1024, 'x');
  std::vector<RedisCommand> many = {{"SET", "big", big}};
  for (int i = 0; i < 20; ++i) many.push_back({"GET", "big"});
  for (int i = 0; i < 500; ++i) many.push_back({"INCR", "n"});
  const Result<std::vector<RedisReply>> all = redis.Run(many);
  ASSERT_TRUE(all.ok()) << all.error().message();
  ASSERT_EQ(all->size(), 521u);
  EXPECT_EQ((*all)[20].text, big);
  EXPECT_EQ(all->back().integer, 500);

  // The port speaks TLS only: the same server over redis:// gets no answer.
  RedisOptions plain = Options();
  plain.endpoint.tls = false;
  RedisPool plain_redis(plain);
  EXPECT_FALSE(plain_redis.RunOne({"PING"}).ok());
}

TEST_F(ClusterRedisTlsTest, TheClusterCountsOverRediss) {
  RedisPool redis(Options());
  SharedViewers a(redis, {}), b(redis, {});
  const WallTime now = testing::At("2026-12-07T17:00:00Z");
  SessionTable::Key key{};
  a.Seen(ViewerSink::Kind::kSession, "tls", key, now);
  b.Seen(ViewerSink::Kind::kSession, "tls", key, now);
  key[0] = 1;
  b.Seen(ViewerSink::Kind::kSession, "tls", key, now);
  ASSERT_TRUE(a.Flush().ok());
  ASSERT_TRUE(b.Flush().ok());
  const std::vector<ChannelId> channels = {"tls"};
  const auto counts = a.Count(channels, now);
  ASSERT_TRUE(counts.ok()) << counts.error().message();
  EXPECT_EQ(counts->at("tls"), 2);
}

TEST_F(ClusterRedisTlsTest, TheSystemCasAloneRefuseTheServersCertificate) {
  RedisPool redis(OptionsFor(tls_redis->Url(), ""));
  const Result<RedisReply> r = redis.RunOne({"PING"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable);
  EXPECT_THAT(r.error().message(),
              AllOf(HasSubstr(HostPort()), HasSubstr("TLS handshake"),
                    HasSubstr("certificate verify failed"), Not(HasSubstr(kTlsPassword))));
}

TEST_F(ClusterRedisTlsTest, AnIpAddressTheCertificateDoesNotNameIsRefused) {
  const std::string url =
      std::string("rediss://:") + kTlsPassword + "@127.0.0.1:" + std::to_string(tls_redis->port());
  RedisPool redis(OptionsFor(url, tls_redis->ca_file()));
  const Result<RedisReply> r = redis.RunOne({"PING"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable);
  EXPECT_THAT(r.error().message(),
              AllOf(HasSubstr("IP address mismatch"), Not(HasSubstr(kTlsPassword))));
}

TEST_F(ClusterRedisTlsTest, AHostNameTheCertificateDoesNotNameIsRefused) {
  // A server whose certificate is for another name; its CA is trusted.
  Result<std::unique_ptr<RedisServer>> other = RedisServer::Create(testing::RedisServerOptions{
      .password = kTlsPassword, .tls = true, .tls_name = "redis.invalid"});
  ASSERT_TRUE(other.ok()) << other.error().message();
  RedisPool redis(OptionsFor((*other)->Url(), (*other)->ca_file()));
  const Result<RedisReply> r = redis.RunOne({"PING"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable);
  EXPECT_THAT(r.error().message(),
              AllOf(HasSubstr("hostname mismatch"), Not(HasSubstr(kTlsPassword))));
}

TEST_F(ClusterRedisTlsTest, AWrongPasswordIsRefusedWithoutSayingIt) {
  RedisOptions options = Options();
  options.endpoint.password = "not-the-password";
  RedisPool redis(options);
  const Result<RedisReply> r = redis.RunOne({"PING"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kRejected);
  EXPECT_THAT(r.error().message(),
              AllOf(HasSubstr(HostPort()), Not(HasSubstr("not-the-password"))));
}

TEST_F(ClusterRedisTlsTest, ACaFileThatCannotBeReadFailsEveryCallNamingIt) {
  RedisPool redis(OptionsFor(tls_redis->Url(), "/nonexistent/redis-ca.pem"));
  const Result<RedisReply> r = redis.RunOne({"PING"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(r.error().message(), HasSubstr("/nonexistent/redis-ca.pem"));
}

TEST_F(ClusterRedisTlsTest, ARestartCostsTheCallsInFlightAndTheNextOneReconnects) {
  RedisPool redis(Options());
  ASSERT_TRUE(redis.RunOne({"PING"}).ok());
  tls_redis->Kill();
  const Result<RedisReply> down = redis.RunOne({"PING"});
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.error().code(), ErrorCode::kUnavailable);
  EXPECT_THAT(down.error().message(), AllOf(HasSubstr(HostPort()), Not(HasSubstr(kTlsPassword))));
  ASSERT_TRUE(tls_redis->Start().ok());
  const Result<RedisReply> back = redis.RunOne({"PING"});
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(back->text, "PONG");
}

// A TCP listener on a free loopback port that never accepts: the kernel
// completes connections into its backlog, and nothing ever answers them.
class SilentListener {
 public:
  SilentListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len), 0);
    EXPECT_EQ(::listen(fd_, 16), 0);
    EXPECT_EQ(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    port_ = ntohs(addr.sin_port);
  }
  ~SilentListener() { ::close(fd_); }
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;

  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST(RedisDeadlineTest, AServerThatNeverAnswersCostsAtMostTheIoTimeout) {
  SilentListener silent;
  RedisPool redis(OptionsFor("redis://127.0.0.1:" + std::to_string(silent.port()), ""));
  const SteadyClock::time_point start = SteadyClock::now();
  const Result<RedisReply> r = redis.RunOne({"PING"});
  const auto took = SteadyClock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kDeadlineExceeded);
  EXPECT_THAT(r.error().message(), HasSubstr("127.0.0.1:" + std::to_string(silent.port())));
  EXPECT_GE(took, kIoTimeout);
  EXPECT_LT(took, kIoTimeout + kSlack);
}

TEST(RedisDeadlineTest, ATlsHandshakeThatNeverEndsCostsAtMostTheConnectTimeout) {
  SilentListener silent;
  RedisPool redis(OptionsFor(
      std::string("rediss://:") + kTlsPassword + "@localhost:" + std::to_string(silent.port()),
      ""));
  const SteadyClock::time_point start = SteadyClock::now();
  const Result<RedisReply> r = redis.RunOne({"PING"});
  const auto took = SteadyClock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kDeadlineExceeded);
  EXPECT_THAT(r.error().message(), AllOf(HasSubstr("TLS handshake"), Not(HasSubstr(kTlsPassword))));
  EXPECT_GE(took, kConnectTimeout);
  EXPECT_LT(took, kConnectTimeout + kSlack);
}

}  // namespace
}  // namespace headcount
