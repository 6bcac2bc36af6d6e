// The key that signs viewer-session ids, kept in a file beside the database
// so ids stay valid across restarts (players keep counting as one viewer).
// Functions are thread-safe; concurrent first starts agree on one key.
#pragma once

#include <filesystem>
#include <string>

#include "core/result.h"

namespace headcount {

// Bytes of a generated key, and the least a key file must hold.
inline constexpr std::size_t kSessionKeyFileBytes = 32;
// A key file larger than this is not a key file.
inline constexpr std::size_t kMaxSessionKeyFileBytes = 4096;

// Returns the key in `path`, creating the file with kSessionKeyFileBytes
// random bytes (mode 0600, written and synced before it is visible under
// `path`) if it does not exist. Fails with InvalidArgument when the file is
// shorter than kSessionKeyFileBytes or longer than kMaxSessionKeyFileBytes,
// and when group or others may read it (a readable key lets anyone forge
// viewers; the message says how to fix it), and with Io when it cannot be
// read or written. Never logs or returns the key in an error.
Result<std::string> LoadOrCreateSessionKey(const std::filesystem::path& path);

}  // namespace headcount
