// The web files (pages, scripts, styles, hls.js) compiled into the binary at
// build time by embed_files.cmake. Immutable data; thread-safe.
#pragma once

#include <span>
#include <string_view>

namespace headcount {

struct EmbeddedFile {
  std::string_view name;  // the file name, no folders: "watch.js"
  std::span<const unsigned char> bytes;
};

// Every embedded file, in the order CMake listed them.
std::span<const EmbeddedFile> EmbeddedFiles();

}  // namespace headcount
