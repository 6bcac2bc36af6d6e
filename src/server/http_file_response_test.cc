// Tests of responses whose body is not a string of their own: a file, sent
// with its length (sendfile), 404 when it is gone or not a regular file,
// whole when it is bigger than the socket buffers, a client that stops
// reading dropped; and shared bytes (a cache's), sent from where they are.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <thread>

#include "server/http_server.h"
#include "server/http_server_testing.h"

namespace headcount {
namespace {

using namespace std::chrono_literals;
using http_testing::Get;
using http_testing::HttpServerTest;
using http_testing::RawResponse;
using http_testing::Steady;

class FileResponseTest : public HttpServerTest {
 protected:
  FileResponseTest() {
    file_ = std::filesystem::temp_directory_path() /
            ("headcount_http_server_test_" + std::to_string(::getpid()) + ".ts");
    created_ = file_;
    std::mt19937 rng(7);
    content_.resize(300 * 1000 + 7);
    for (char& ch : content_) ch = static_cast<char>(rng());
    std::ofstream(file_, std::ios::binary) << content_;
  }
  ~FileResponseTest() override {
    std::error_code ec;
    std::filesystem::remove(created_, ec);
  }

  std::filesystem::path created_;  // the one file this test made (file_ may change)
  std::string content_;
};

TEST_F(FileResponseTest, StreamsTheFileWithItsLength) {
  Start();
  auto c = Connect();
  auto r = c->Exchange(Get("/file"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->headers["content-type"], "video/mp2t");
  EXPECT_EQ(r->headers["content-length"], std::to_string(content_.size()));
  EXPECT_TRUE(r->body == content_);

  ASSERT_TRUE(c->Send("HEAD /file HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto head = c->Read(/*head=*/true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->headers["content-length"], std::to_string(content_.size()));
  EXPECT_TRUE(c->Quiet(300ms));  // no body after HEAD

  const auto exchanges = Exchanges(2);
  ASSERT_EQ(exchanges.size(), 2u);
  EXPECT_EQ(exchanges[0].body_bytes, content_.size());
  EXPECT_EQ(exchanges[1].body_bytes, 0u);
}

TEST_F(FileResponseTest, VanishedFileIs404) {
  Start();
  std::filesystem::remove(created_);
  auto c = Connect();
  auto r = c->Exchange(Get("/file"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->headers["content-type"], "application/json");
  EXPECT_TRUE(nlohmann::json::parse(r->body).contains("error"));

  file_ = std::filesystem::temp_directory_path();  // a folder is not a file either
  auto dir = c->Exchange(Get("/file"));
  ASSERT_TRUE(dir);
  EXPECT_EQ(dir->status, 404);
}

// Bigger than loopback's socket buffers, so the server has to wait for the
// client to read.
constexpr std::size_t kBigFileBytes = std::size_t{32} * 1024 * 1024;

std::string BigContent() {
  std::string content(kBigFileBytes, '\0');
  for (std::size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>(i * 131 / 7);
  return content;
}

TEST_F(FileResponseTest, FileBiggerThanTheSocketBuffersArrivesWhole) {
  content_ = BigContent();
  std::ofstream(file_, std::ios::binary | std::ios::trunc) << content_;
  Start();
  auto c = Connect();
  ASSERT_TRUE(c->Send(Get("/file")));
  std::this_thread::sleep_for(300ms);  // the server fills the socket and waits
  auto r = c->Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->headers["content-length"], std::to_string(kBigFileBytes));
  EXPECT_TRUE(r->body == content_);
  EXPECT_TRUE(c->Exchange(Get("/a")));  // and the connection goes on
}

TEST_F(FileResponseTest, SharedBytesGoWholeToEveryClientFromTheOneCopy) {
  shared_ = std::make_shared<const std::string>(BigContent());
  Start();
  auto slow = Connect();
  ASSERT_TRUE(slow->Send(Get("/shared")));
  std::this_thread::sleep_for(300ms);  // the server fills the socket and waits
  // Still being sent: the server holds the one copy, not bytes of its own.
  EXPECT_EQ(shared_.use_count(), 2);
  auto first = slow->Read();  // before the write timeout lets it go
  ASSERT_TRUE(first);
  EXPECT_EQ(first->headers["content-length"], std::to_string(kBigFileBytes));
  EXPECT_TRUE(first->body == *shared_);
  auto fast = Connect();
  auto second = fast->Exchange(Get("/shared"));
  ASSERT_TRUE(second);
  EXPECT_TRUE(second->body == *shared_);

  ASSERT_TRUE(fast->Send("HEAD /shared HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto head = fast->Read(/*head=*/true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->headers["content-length"], std::to_string(kBigFileBytes));
  EXPECT_TRUE(fast->Quiet(300ms));         // no body after HEAD
  EXPECT_TRUE(fast->Exchange(Get("/a")));  // and the connection goes on
  EXPECT_EQ(shared_.use_count(), 1) << "every response let go of it";
}

TEST_F(FileResponseTest, ClientThatStopsReadingIsDroppedAfterTheWriteTimeout) {
  content_ = BigContent();
  std::ofstream(file_, std::ios::binary | std::ios::trunc) << content_;
  options_.write_timeout = 1s;
  options_.max_connections_per_client = 1;
  Start();
  const auto t0 = Steady::now();
  auto stalled = Connect();
  ASSERT_TRUE(stalled->Send(Get("/file")));  // and never reads
  std::this_thread::sleep_for(200ms);
  EXPECT_TRUE(Connect()->WaitClosed(500ms));  // its connection holds the only slot

  // Once the write timeout ends the stalled response, the slot is free again.
  std::optional<RawResponse> served;
  while (!served && Steady::now() - t0 < 5s) {
    auto next = Connect();
    served = next->Exchange(Get("/a"));
    if (!served) std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(served);
  EXPECT_GE(Steady::now() - t0, 900ms);
  const auto exchanges = Exchanges(1);
  ASSERT_FALSE(exchanges.empty());
  EXPECT_EQ(exchanges[0].path, "/file");
}

TEST_F(FileResponseTest, FifoIsNotServedAndDoesNotBlock) {
  const std::filesystem::path fifo = created_.string() + ".fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  file_ = fifo;
  Start();
  auto c = Connect();
  auto r = c->Exchange(Get("/file"));
  std::filesystem::remove(fifo);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
}

}  // namespace
}  // namespace headcount
