// DynamoStore against dynalite (npm), a DynamoDB implementation the test
// starts on a free port of 127.0.0.1 and stops: the same requests AWS gets,
// answered by a real server. Needs node and `npm ci` (scripts/setup).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>

#include "aws/aws_client.h"
#include "aws/credentials.h"
#include "aws/http_transport.h"
#include "core/testing/sketches.h"
#include "http_client/beast_transport.h"
#include "store/dynamo/dynamo_store.h"

namespace headcount {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr std::chrono::milliseconds kDynaliteStartTimeout{20000};
constexpr std::chrono::seconds kRetention{std::chrono::hours{24 * 7}};
constexpr std::int64_t kT0 = 1'700'000'040;  // a bucket start (a whole minute)
constexpr std::int64_t kBucket = 60;         // seconds
constexpr int kChannels = 200;
constexpr int kBuckets = 5;
constexpr std::size_t kReadChunkBytes = 256;
constexpr std::string_view kPortPrefix = "PORT ";  // what kLauncher prints
constexpr char kSetupHint[] = "; run scripts/setup (it installs node and runs npm ci)";

// Listens on port 0 (the kernel picks a free one, so no race with other
// tests), prints it, and exits when its stdin closes: if this test process
// dies without a TearDown, dynalite does not outlive it.
constexpr char kLauncher[] = R"js(
const dynalite = require(process.argv[1]);
const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.listen(0, '127.0.0.1', () => console.log('PORT ' + server.address().port));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
)js";

Seconds At(std::int64_t epoch) { return Seconds{std::chrono::seconds{epoch}}; }

// The first executable `name` on PATH, or "".
std::string FindOnPath(const std::string& name) {
  // Read before any test thread starts.
  const char* path = std::getenv("PATH");  // NOLINT(concurrency-mt-unsafe)
  std::string dirs = path != nullptr ? path : "";
  std::size_t begin = 0;
  while (begin <= dirs.size()) {
    const std::size_t end = std::min(dirs.find(':', begin), dirs.size());
    std::string candidate = dirs.substr(begin, end - begin) + "/" + name;
    if (end > begin && ::access(candidate.c_str(), X_OK) == 0) return candidate;
    begin = end + 1;
  }
  return "";
}

// A dynalite process, in memory, on 127.0.0.1. Not thread-safe.
class Dynalite {
 public:
  // Starts it and waits until it listens; the error says what is missing.
  static Result<std::unique_ptr<Dynalite>> Start() {
    const std::filesystem::path module =
        std::filesystem::path(HEADCOUNT_SOURCE_DIR) / "node_modules" / "dynalite";
    if (!std::filesystem::exists(module / "index.js")) {
      return Error::NotFound("dynalite is not installed (no " + module.string() + ")" + kSetupHint);
    }
    const std::string node = FindOnPath("node");
    if (node.empty()) return Error::NotFound(std::string("node is not on PATH") + kSetupHint);

    int to_child[2];
    int from_child[2];
    if (::pipe2(to_child, O_CLOEXEC) != 0) return Error::Io("pipe failed");
    if (::pipe2(from_child, O_CLOEXEC) != 0) {
      ::close(to_child[0]);
      ::close(to_child[1]);
      return Error::Io("pipe failed");
    }
    const std::string module_path = module.string();
    const pid_t pid = ::fork();
    if (pid < 0) return Error::Io("fork failed");
    if (pid == 0) {
      // dup2 clears O_CLOEXEC on the new descriptors only.
      ::dup2(to_child[0], STDIN_FILENO);
      ::dup2(from_child[1], STDOUT_FILENO);
      const char* argv[] = {node.c_str(), "-e", kLauncher, module_path.c_str(), nullptr};
      ::execv(node.c_str(), const_cast<char* const*>(argv));
      ::_exit(127);
    }
    ::close(to_child[0]);
    ::close(from_child[1]);
    auto dynalite = std::unique_ptr<Dynalite>(new Dynalite(pid, to_child[1], from_child[0]));
    Result<int> port = dynalite->ReadPort();
    if (!port.ok()) return port.error();
    dynalite->endpoint_ = "http://127.0.0.1:" + std::to_string(*port);
    return dynalite;
  }

  ~Dynalite() {
    ::close(stdin_);        // the launcher exits on its own...
    ::kill(pid_, SIGTERM);  // ...and this makes sure
    int status = 0;
    ::waitpid(pid_, &status, 0);
    ::close(stdout_);
  }

  const std::string& endpoint() const { return endpoint_; }

 private:
  Dynalite(pid_t pid, int stdin_fd, int stdout_fd)
      : pid_(pid), stdin_(stdin_fd), stdout_(stdout_fd) {}

  // Reads "PORT <n>" from the launcher, within kDynaliteStartTimeout.
  Result<int> ReadPort() {
    std::string out;
    const auto give_up = std::chrono::steady_clock::now() + kDynaliteStartTimeout;
    for (;;) {
      if (const std::size_t line = out.find('\n'); line != std::string::npos) {
        if (!out.starts_with(kPortPrefix)) return Error::Io("dynalite said: " + out + kSetupHint);
        int port = 0;
        const char* digits = out.data() + kPortPrefix.size();
        const auto [end, ec] = std::from_chars(digits, out.data() + line, port);
        if (ec != std::errc() || end != out.data() + line || port <= 0) {
          return Error::Io("dynalite said: " + out + kSetupHint);
        }
        return port;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          give_up - std::chrono::steady_clock::now());
      if (left <= 0ms) return Error::DeadlineExceeded("dynalite did not start in time");
      pollfd fd{stdout_, POLLIN, 0};
      const int ready = ::poll(&fd, 1, static_cast<int>(left.count()));
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) continue;
      char buffer[kReadChunkBytes];
      const ssize_t n = ::read(stdout_, buffer, sizeof buffer);
      if (n <= 0) {
        return Error::Io("dynalite exited before listening (output: '" + out + "')" + kSetupHint);
      }
      out.append(buffer, static_cast<std::size_t>(n));
    }
  }

  const pid_t pid_;
  const int stdin_;
  const int stdout_;
  std::string endpoint_;
};

class DynaliteTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    Result<std::unique_ptr<Dynalite>> started = Dynalite::Start();
    if (started.ok()) {
      shared_dynalite = std::move(started).value().release();
    } else {
      start_error = new std::string(started.error().ToString());
    }
  }
  static void TearDownTestSuite() {
    delete shared_dynalite;
    shared_dynalite = nullptr;
    delete start_error;
    start_error = nullptr;
  }

  void SetUp() override {
    // Missing tools are a failure, never a silent skip.
    ASSERT_NE(shared_dynalite, nullptr) << "cannot start dynalite: " << *start_error;
    aws::AwsClientOptions options;
    options.region = "us-east-1";
    options.endpoint = shared_dynalite->endpoint();
    Result<std::unique_ptr<aws::AwsClient>> client =
        aws::AwsClient::Create(aws::kDynamoDbService, options, credentials_, transport_, clock_);
    ASSERT_TRUE(client.ok()) << client.error().ToString();
    client_ = std::move(*client);
    DynamoStoreOptions store_options;
    // One table per test: tests do not see each other's items.
    store_options.table =
        std::string("headcount-") + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    store_options.retention = kRetention;
    Result<std::unique_ptr<DynamoStore>> store =
        DynamoStore::Create(*client_, clock_, store_options);
    ASSERT_TRUE(store.ok()) << store.error().ToString();
    store_ = std::move(*store);
    Result<DynamoTableSetup> setup = store_->EnsureTable();
    ASSERT_TRUE(setup.ok()) << setup.error().ToString();
    EXPECT_TRUE(setup->created);
  }

  static std::vector<Sample> Samples(int viewers_offset = 0) {
    std::vector<Sample> out;
    for (int c = 0; c < kChannels; ++c) {
      for (int b = 0; b < kBuckets; ++b) {
        out.push_back({Channel(c), At(kT0 + kBucket * b), c * 10 + b + viewers_offset});
      }
    }
    return out;
  }
  static ChannelId Channel(int c) { return "channel-" + std::to_string(c); }
  static std::vector<ChannelId> Channels() {
    std::vector<ChannelId> out;
    for (int c = 0; c < kChannels; ++c) out.push_back(Channel(c));
    return out;
  }

  inline static Dynalite* shared_dynalite = nullptr;
  inline static std::string* start_error = nullptr;

  SystemClock clock_;
  aws::StaticCredentialsProvider credentials_{aws::Credentials("test", "test")};
  http_client::BeastTransport transport_;
  std::unique_ptr<aws::AwsClient> client_;
  std::unique_ptr<DynamoStore> store_;
};

TEST_F(DynaliteTest, EnsureTableIsIdempotent) {
  Result<DynamoTableSetup> again = store_->EnsureTable();
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  EXPECT_FALSE(again->created);
  // dynalite has no UpdateTimeToLive: reported, not fatal.
  EXPECT_FALSE(again->ttl_enabled);
  EXPECT_FALSE(again->ttl_note.empty());
}

TEST_F(DynaliteTest, RecordTwiceStoresEachBucketOnce) {
  const std::vector<Sample> samples = Samples();  // 1,000 items: 40 chunks
  Result<std::size_t> first = store_->Record(samples);
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  EXPECT_EQ(*first, samples.size());
  Result<std::size_t> second = store_->Record(samples);
  ASSERT_TRUE(second.ok()) << second.error().ToString();
  EXPECT_EQ(*second, samples.size());

  const std::vector<ChannelId> channels = Channels();
  Result<std::vector<Sample>> window =
      store_->Window(channels, At(kT0), At(kT0 + kBucket * (kBuckets - 1)));
  ASSERT_TRUE(window.ok()) << window.error().ToString();
  EXPECT_EQ(*window, samples);  // grouped by channel as asked, oldest first, no duplicates
}

TEST_F(DynaliteTest, WindowReturnsExactlyTheBucketsInRange) {
  ASSERT_TRUE(store_->Record(Samples()).ok());
  // Later counts replace earlier ones (a put is an upsert).
  const std::vector<Sample> replaced = Samples(1000);
  ASSERT_TRUE(store_->Record(replaced).ok());

  const std::vector<ChannelId> channels = Channels();
  const Seconds from = At(kT0 + 60);
  const Seconds to = At(kT0 + 180);
  Result<std::vector<Sample>> window = store_->Window(channels, from, to);
  ASSERT_TRUE(window.ok()) << window.error().ToString();
  std::vector<Sample> expected;
  for (const Sample& s : replaced) {
    if (s.bucket >= from && s.bucket <= to) expected.push_back(s);
  }
  EXPECT_EQ(expected.size(), static_cast<std::size_t>(kChannels * 3));
  EXPECT_EQ(*window, expected);

  const std::vector<ChannelId> unknown = {"nobody", Channel(3)};
  Result<std::vector<Sample>> one = store_->Window(unknown, from, from);
  ASSERT_TRUE(one.ok()) << one.error().ToString();
  EXPECT_EQ(*one, (std::vector<Sample>{{Channel(3), from, 3 * 10 + 1 + 1000}}));
}

TEST_F(DynaliteTest, DuplicateKeysInOneBatchAreMerged) {
  // dynalite, like DynamoDB, refuses a batch naming a key twice.
  const std::vector<Sample> samples = {
      {"a", At(kT0), 1}, {"a", At(kT0), 2}, {"b", At(kT0), 3}, {"a", At(kT0), 4}};
  Result<std::size_t> written = store_->Record(samples);
  ASSERT_TRUE(written.ok()) << written.error().ToString();
  EXPECT_EQ(*written, 2u);
  Result<std::vector<Sample>> history = store_->History("a", At(kT0), At(kT0));
  ASSERT_TRUE(history.ok()) << history.error().ToString();
  EXPECT_EQ(*history, (std::vector<Sample>{{"a", At(kT0), 4}}));
}

TEST_F(DynaliteTest, HistoryHasChannelAndExpiry) {
  ASSERT_TRUE(store_->Record(Samples()).ok());
  Result<std::vector<Sample>> history = store_->History(Channel(7), At(kT0 - 3600), At(kT0 + 3600));
  ASSERT_TRUE(history.ok()) << history.error().ToString();
  ASSERT_EQ(history->size(), static_cast<std::size_t>(kBuckets));
  for (int b = 0; b < kBuckets; ++b) {
    EXPECT_EQ((*history)[b], (Sample{Channel(7), At(kT0 + kBucket * b), 70 + b}));
  }

  Result<bool> has = store_->HasChannel(Channel(199));
  ASSERT_TRUE(has.ok()) << has.error().ToString();
  EXPECT_TRUE(*has);
  Result<bool> hasnt = store_->HasChannel("never-recorded");
  ASSERT_TRUE(hasnt.ok()) << hasnt.error().ToString();
  EXPECT_FALSE(*hasnt);

  // The raw items: expiresAt = bucket + retention, as a number.
  Result<json> raw = client_->Call("Query",
                                   {{"TableName", store_->options().table},
                                    {"KeyConditionExpression", "#c = :c"},
                                    {"ExpressionAttributeNames", {{"#c", "channel"}}},
                                    {"ExpressionAttributeValues", {{":c", {{"S", Channel(7)}}}}}},
                                   clock_.Now() + 10s);
  ASSERT_TRUE(raw.ok()) << raw.error().ToString();
  ASSERT_EQ((*raw)["Items"].size(), static_cast<std::size_t>(kBuckets));
  for (const json& item : (*raw)["Items"]) {
    const std::int64_t time = std::stoll(item["time"]["N"].get<std::string>());
    EXPECT_EQ(item["expiresAt"]["N"], std::to_string(time + kRetention.count()));
  }
}

// Issue 14, point 1: a history longer than the store reads stops at the cap
// and says so; within the cap, the same range reads in full.
TEST_F(DynaliteTest, HistoryOverAYearStopsAtTheItemCap) {
  constexpr int kStored = 30;
  std::vector<Sample> samples;
  for (int b = 0; b < kStored; ++b) samples.push_back({"long", At(kT0 + kBucket * b), b});
  ASSERT_TRUE(store_->Record(samples).ok());
  const Seconds year_ago = At(kT0) - std::chrono::days{366};
  const Seconds to = At(kT0 + kBucket * kStored);

  Result<std::vector<Sample>> full = store_->History("long", year_ago, to);
  ASSERT_TRUE(full.ok()) << full.error().ToString();
  EXPECT_EQ(*full, samples);

  DynamoStoreOptions capped_options = store_->options();
  capped_options.max_query_items = 10;
  Result<std::unique_ptr<DynamoStore>> capped =
      DynamoStore::Create(*client_, clock_, capped_options);
  ASSERT_TRUE(capped.ok()) << capped.error().ToString();
  Result<std::vector<Sample>> history = (*capped)->History("long", year_ago, to);
  ASSERT_FALSE(history.ok());
  EXPECT_EQ(history.error().code(), ErrorCode::kRejected);
  EXPECT_NE(history.error().message().find("more than 10 items (the cap)"), std::string::npos)
      << history.error().message();
}

// The tick of docs/dynamodb.md at full size: 10,000 channels, one bucket
// written (400 BatchWriteItem) and five read back (10,000 Query).
TEST_F(DynaliteTest, SketchesOfSeveralNodesAtOnceMergeAndJoinTheAudience) {
  const Seconds hour = std::chrono::floor<std::chrono::hours>(At(kT0));
  constexpr int kNodes = 4;
  constexpr int kRounds = 3;
  std::vector<std::thread> nodes;
  std::atomic<int> failures{0};
  for (int n = 0; n < kNodes; ++n) {
    nodes.emplace_back([&, n] {
      // Node n's viewers 100n+1..100n+60, in merges of 20, each racing the others.
      for (int round = 0; round < kRounds; ++round) {
        const std::uint64_t first = 100 * n + 20 * round + 1;
        const std::vector<HourSketch> mine = {
            {"live", hour, 0, testing::ViewerSketch(first, first + 19)},
            {"live", hour, 2, testing::ViewerSketch(1, 7)}};
        if (Status st = store_->MergeSketches(mine); !st.ok()) {
          ADD_FAILURE() << st.error().ToString();
          ++failures;
        }
      }
    });
  }
  for (auto& node : nodes) node.join();
  ASSERT_EQ(failures.load(), 0);
  Result<std::vector<HourSketch>> sketches =
      store_->Sketches("live", hour, hour + std::chrono::hours(1));
  ASSERT_TRUE(sketches.ok()) << sketches.error().ToString();
  ASSERT_EQ(sketches->size(), 2U);
  HyperLogLog all;
  for (int n = 0; n < kNodes; ++n) all.Merge(testing::ViewerSketch(100 * n + 1, 100 * n + 60));
  EXPECT_EQ((*sketches)[0].sketch, all) << "no node's merge lost";
  EXPECT_EQ((*sketches)[0].sketch.Estimate(), kNodes * 60);
  EXPECT_EQ((*sketches)[1].table, 2);
  EXPECT_EQ((*sketches)[1].sketch.Estimate(), 7);

  // The samples' reads never meet the sketches' items; the audience adds them.
  ASSERT_TRUE(store_->Record(std::vector<Sample>{{"live", At(kT0), 5}}).ok());
  Result<std::vector<Sample>> history = store_->History("live", hour, At(kT0 + 3600));
  ASSERT_TRUE(history.ok()) << history.error().ToString();
  EXPECT_EQ(history->size(), 1U);
  auto audience = store_->Audience("live", At(kT0), At(kT0), AudiencePeriod::kHour);
  ASSERT_TRUE(audience.ok()) << audience.error().ToString();
  ASSERT_EQ(audience->size(), 1U);
  EXPECT_EQ((*audience)[0].DistinctViewers(), kNodes * 60);
  EXPECT_TRUE(store_->Sketches("other", hour, hour)->empty());
}

TEST_F(DynaliteTest, TickOfTenThousandChannels) {
  constexpr int kTickChannels = 10'000;
  std::vector<Sample> samples;
  std::vector<ChannelId> channels;
  for (int c = 0; c < kTickChannels; ++c) {
    channels.push_back("tick-" + std::to_string(c));
    samples.push_back({channels.back(), At(kT0 + 240), c});
  }
  const auto start = std::chrono::steady_clock::now();
  Result<std::size_t> written = store_->Record(samples);
  ASSERT_TRUE(written.ok()) << written.error().ToString();
  const auto wrote = std::chrono::steady_clock::now();
  Result<std::vector<Sample>> window = store_->Window(channels, At(kT0), At(kT0 + 240));
  ASSERT_TRUE(window.ok()) << window.error().ToString();
  const auto read = std::chrono::steady_clock::now();
  EXPECT_EQ(*window, samples);
  const auto ms = [](auto d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  };
  std::printf("10,000 channels against dynalite: Record %lld ms, Window %lld ms\n",
              static_cast<long long>(ms(wrote - start)), static_cast<long long>(ms(read - wrote)));
}

}  // namespace
}  // namespace headcount
