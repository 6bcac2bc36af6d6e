// ReadSmallFile (see small_file.h): open, fstat for a first size, read until
// EOF or one byte past the limit. Thread-safe.
#include "core/small_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

namespace headcount {
namespace {

std::string Why(int error) { return std::generic_category().message(error); }

}  // namespace

Result<std::string> ReadSmallFile(const std::filesystem::path& path, std::size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    if (error == ENOENT) return Error::NotFound(path.string() + " does not exist");
    return Error::Io("cannot open " + path.string() + ": " + Why(error));
  }
  // Sized by fstat, plus one byte to see a file that grew meanwhile (or a
  // size fstat does not know), read until EOF: a small file costs one
  // allocation and usually two read calls, and a huge one never more than
  // max_bytes + 1.
  struct stat st {};
  const std::size_t expected =
      ::fstat(fd, &st) == 0 && st.st_size >= 0 ? std::size_t(st.st_size) : 0;
  std::string data(std::min(expected, max_bytes) + 1, '\0');
  std::size_t got = 0;
  for (;;) {
    if (got == data.size()) {
      if (data.size() > max_bytes) break;
      data.resize(std::min(data.size() * 2, max_bytes + 1));
    }
    const ssize_t n = ::read(fd, data.data() + got, data.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      ::close(fd);
      return Error::Io("cannot read " + path.string() + ": " + Why(error));
    }
    if (n == 0) break;
    got += std::size_t(n);
  }
  ::close(fd);
  data.resize(got);
  if (data.size() > max_bytes) {
    return Error::InvalidArgument(path.string() + " is larger than " + std::to_string(max_bytes) +
                                  " bytes");
  }
  return data;
}

}  // namespace headcount
