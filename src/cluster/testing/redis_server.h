// A throwaway redis-server for tests (Debian's redis-server 7), on a free
// loopback port, in a temporary directory, with no persistence (--save ''
// --appendonly no), optionally with a password, optionally over TLS only
// (its certificate made at start, for a name of the test's choosing, its
// own CA). Stop and Start again keep
// the port (a Redis restart, which loses every key). Stopped and deleted on
// destruction. Not thread-safe; for tests only. The JavaScript tests' twin
// is startRedis in tests/integration/harness.mjs.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>

#include "core/result.h"

namespace headcount::testing {

struct RedisServerOptions {
  std::string password;  // "" = no AUTH
  bool tls = false;      // TLS only (--port 0 --tls-port), clients not asked for certificates
  std::string tls_name = "localhost";  // the certificate's one DNS name
};

class RedisServer {
 public:
  // Starts one. Fails (never skips) when redis-server is not installed,
  // naming what to install.
  static Result<std::unique_ptr<RedisServer>> Create(RedisServerOptions options);
  static Result<std::unique_ptr<RedisServer>> Create(std::string password = {}) {
    return Create(RedisServerOptions{.password = std::move(password)});
  }
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // Starts the server on port() and waits until it answers PING.
  Status Start();
  // SIGKILL (no goodbye to the clients), and waits for it.
  void Kill();

  int port() const { return port_; }
  // redis://[:password@]127.0.0.1:<port>, or with TLS
  // rediss://[:password@]localhost:<port>.
  std::string Url() const;
  // With TLS: the PEM file of the server's certificate, which is its own CA.
  std::string ca_file() const { return (dir_ / "cert.pem").string(); }

 private:
  RedisServer() = default;

  std::filesystem::path dir_;
  RedisServerOptions options_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace headcount::testing
