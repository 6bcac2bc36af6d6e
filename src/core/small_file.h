// Reading a small file whole, with a bound on what it may cost: the one file
// reader for playlists, keys and credential files. Thread-safe.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

#include "core/result.h"

namespace headcount {

// The whole content of `path` when it holds at most `max_bytes`. Reads at most
// max_bytes + 1 bytes, however large the file is (or grows while it is read).
// Fails with kNotFound when the file does not exist, kInvalidArgument when it
// is larger than max_bytes, kIo when it cannot be opened or read; messages
// name the file, never its content.
Result<std::string> ReadSmallFile(const std::filesystem::path& path, std::size_t max_bytes);

}  // namespace headcount
