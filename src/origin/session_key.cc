#include "origin/session_key.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/small_file.h"

namespace headcount {
namespace {

namespace fs = std::filesystem;

std::string Errno() { return std::strerror(errno); }  // NOLINT(concurrency-mt-unsafe)

Result<std::string> ReadKey(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return Error::Io("cannot stat " + path.string() + ": " + Errno());
  }
  if (!S_ISREG(st.st_mode)) return Error::InvalidArgument(path.string() + " is not a file");
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return Error::InvalidArgument("the session key file " + path.string() +
                                  " may be read by other users; run: chmod 600 " + path.string());
  }
  Result<std::string> key = ReadSmallFile(path, kMaxSessionKeyFileBytes);
  const bool too_long = !key.ok() && key.error().code() == ErrorCode::kInvalidArgument;
  if (!key.ok() && !too_long) return Error::Io(key.error().message());
  if (too_long || key->size() < kSessionKeyFileBytes) {
    return Error::InvalidArgument("the session key file " + path.string() + " must hold " +
                                  std::to_string(kSessionKeyFileBytes) + " to " +
                                  std::to_string(kMaxSessionKeyFileBytes) + " bytes");
  }
  return key;
}

}  // namespace

Result<std::string> LoadOrCreateSessionKey(const fs::path& path) {
  std::error_code ec;
  if (fs::exists(path, ec)) return ReadKey(path);

  unsigned char key[kSessionKeyFileBytes];
  if (RAND_bytes(key, int(sizeof key)) != 1) return Error::Internal("random generator failed");
  // Written under a temporary name, then linked into place: a concurrent
  // start either wins the link or reads the winner's complete file.
  unsigned char salt[8];
  if (RAND_bytes(salt, int(sizeof salt)) != 1) return Error::Internal("random generator failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string suffix;
  for (const unsigned char b : salt) suffix += {kHex[b >> 4], kHex[b & 15]};
  const fs::path tmp = path.string() + ".tmp." + std::to_string(::getpid()) + "." + suffix;
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Error::Io("cannot create " + tmp.string() + ": " + Errno());
  const bool written = ::write(fd, key, sizeof key) == ssize_t(sizeof key) && ::fsync(fd) == 0;
  ::close(fd);
  if (!written) {
    ::unlink(tmp.c_str());
    return Error::Io("cannot write " + tmp.string() + ": " + Errno());
  }
  const int linked = ::link(tmp.c_str(), path.c_str());
  const int link_errno = errno;
  ::unlink(tmp.c_str());
  if (linked != 0 && link_errno != EEXIST) {
    return Error::Io("cannot create " + path.string() + ": " +
                     std::strerror(link_errno));  // NOLINT
  }
  return ReadKey(path);
}

}  // namespace headcount
