// Files for tests: a scratch directory that cleans up after itself, and whole
// files written and read in one call (binary, so segments round-trip).
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>

namespace headcount::testing {

// Writes `data` to `path`, creating its parent directories.
inline void WriteFile(const std::filesystem::path& path, std::string_view data) {
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << data;
}

// The whole of `path`; empty if it cannot be read.
inline std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A scratch directory, unique per process and instance, removed at the end of
// the test.
class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("headcount-test-" + std::to_string(::getpid()) + "-" + std::to_string(next_id_++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // Writes `text` to `name` under the directory; returns the file's path.
  std::string Write(const std::string& name, std::string_view text) const {
    const std::filesystem::path file = path_ / name;
    WriteFile(file, text);
    return file.string();
  }
  std::string path() const { return path_.string(); }

 private:
  static inline std::atomic<int> next_id_{0};  // NOLINT(readability-identifier-naming)
  std::filesystem::path path_;
};

}  // namespace headcount::testing
