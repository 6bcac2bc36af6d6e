// ReadSmallFile: whole content up to the limit, one byte more is refused, and
// a file with no end (/dev/zero) is refused after max_bytes + 1 bytes instead
// of being read into memory.
#include "core/small_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace headcount {
namespace {

namespace fs = std::filesystem;

class SmallFileTest : public ::testing::Test {
 protected:
  SmallFileTest()
      : dir_(fs::temp_directory_path() /
             ("headcount-small-file-" + std::to_string(::getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    fs::create_directories(dir_);
  }
  ~SmallFileTest() override { fs::remove_all(dir_); }

  fs::path Write(const std::string& name, const std::string& text) const {
    fs::path path = dir_ / name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  const fs::path dir_;
};

TEST_F(SmallFileTest, ReadsTheWholeFileUpToTheLimit) {
  const std::string text = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n";
  Result<std::string> r = ReadSmallFile(Write("a.m3u8", text), text.size());
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(*r, text);

  r = ReadSmallFile(Write("empty", ""), 10);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "");

  const std::string big(100000, 'x');  // many reads, buffer grown more than once
  r = ReadSmallFile(Write("big", big), big.size());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, big);
}

TEST_F(SmallFileTest, OneByteOverTheLimitIsRefused) {
  Result<std::string> r = ReadSmallFile(Write("key", "12345"), 4);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message().find("larger than 4 bytes"), std::string::npos);
  EXPECT_EQ(r.error().message().find("12345"), std::string::npos) << "content in the message";
}

TEST_F(SmallFileTest, StopsReadingAtTheLimit) {
  // /dev/zero never ends: a reader that reads first and checks the size
  // afterwards never returns (or runs out of memory).
  Result<std::string> r = ReadSmallFile("/dev/zero", 4096);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
}

TEST_F(SmallFileTest, MissingIsNotFoundAndUnreadableIsIo) {
  Result<std::string> r = ReadSmallFile(dir_ / "missing", 10);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);

  r = ReadSmallFile(dir_, 10);  // a directory opens but cannot be read
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kIo);
  EXPECT_NE(r.error().message().find(dir_.string()), std::string::npos);
}

}  // namespace
}  // namespace headcount
