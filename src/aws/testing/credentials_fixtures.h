// What the credentials tests share: example secrets, a scratch directory,
// a container endpoint answer, and RFC 3339 times.
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/clock.h"
#include "core/time_text.h"

namespace headcount::aws::testing {

inline constexpr char kSecret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
inline constexpr char kToken[] = "FQoGZXIvYXdzEXAMPLETOKENxyz";

inline WallTime At(const char* rfc3339) {
  Result<WallTime> t = ParseRfc3339(rfc3339);
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
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

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

// The container endpoint's answer for `key`, expiring at `expiration`.
inline std::string ContainerJson(const std::string& key, const std::string& expiration) {
  return R"({"AccessKeyId":")" + key + R"(","SecretAccessKey":")" + kSecret + R"(","Token":")" +
         kToken + R"(","Expiration":")" + expiration + R"("})";
}

}  // namespace headcount::aws::testing
