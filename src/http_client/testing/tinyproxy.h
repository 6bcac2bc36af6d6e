// Debian's tinyproxy (a real forward proxy with CONNECT) run in the
// foreground on a free loopback port with a temporary config, for the HTTP
// client's proxy tests. Stopped (SIGTERM, by its pid) on destruction.
// Not thread-safe; for tests only.
#pragma once

#include <sys/types.h>

#include <string>

#include "core/testing/ports.h"

namespace headcount::http_client::testing {

class Tinyproxy {
 public:
  // Starts it with `extra_config` appended to a config that listens on
  // 127.0.0.1 and allows only 127.0.0.1, and waits until it accepts
  // connections. ok() is false (and error() says why) when it could not.
  explicit Tinyproxy(const std::string& extra_config = "");
  ~Tinyproxy();
  Tinyproxy(const Tinyproxy&) = delete;
  Tinyproxy& operator=(const Tinyproxy&) = delete;

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  int port() const { return port_; }
  // "http://127.0.0.1:<port>"
  std::string url() const;
  // Everything it logged so far (its CONNECT lines name each request).
  std::string log() const;

 private:
  std::string dir_;
  std::string log_path_;
  int port_ = 0;
  pid_t pid_ = -1;
  std::string error_;
};

}  // namespace headcount::http_client::testing
