#include "origin/session_key.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <thread>
#include <vector>

namespace headcount {
namespace {

namespace fs = std::filesystem;

class SessionKeyTest : public ::testing::Test {
 protected:
  SessionKeyTest() {
    dir_ = fs::temp_directory_path() / ("hc-key-test-" + std::to_string(::getpid()) + "-" +
                                        std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
  }
  ~SessionKeyTest() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(SessionKeyTest, CreatedOnceWithOwnerOnlyPermissionsThenReused) {
  const fs::path path = dir_ / "headcount.db.session-key";
  auto first = LoadOrCreateSessionKey(path);
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  EXPECT_EQ(first->size(), kSessionKeyFileBytes);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = LoadOrCreateSessionKey(path);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *first) << "a restart must keep the key";
  for (const auto& e : fs::directory_iterator(dir_)) {
    EXPECT_EQ(e.path(), path) << "no temporary file left behind";
  }
}

TEST_F(SessionKeyTest, ConcurrentFirstStartsAgree) {
  const fs::path path = dir_ / "key";
  std::vector<std::string> keys(8);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    threads.emplace_back([&, i] { keys[i] = LoadOrCreateSessionKey(path).value(); });
  }
  for (auto& t : threads) t.join();
  for (const auto& k : keys) EXPECT_EQ(k, keys[0]);
}

TEST_F(SessionKeyTest, ReadableByOthersIsRefusedWithTheFix) {
  const fs::path path = dir_ / "key";
  ASSERT_TRUE(LoadOrCreateSessionKey(path).ok());
  fs::permissions(path, fs::perms::others_read, fs::perm_options::add);
  auto r = LoadOrCreateSessionKey(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("chmod 600"), std::string::npos) << r.error().message();
}

TEST_F(SessionKeyTest, TooShortIsNotAKey) {
  const fs::path path = dir_ / "key";
  std::ofstream(path) << "short";
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
  auto r = LoadOrCreateSessionKey(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().message().find("short"), std::string::npos) << "never echoes the key";
}

TEST_F(SessionKeyTest, MissingFolderIsAnIoError) {
  auto r = LoadOrCreateSessionKey(dir_ / "nope" / "key");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kIo);
}

}  // namespace
}  // namespace headcount
