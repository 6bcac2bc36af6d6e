// Test support for HttpServer's tests: a tiny blocking HTTP/1.1 client on
// POSIX sockets (so the tests do not compile Beast again) and a fixture that
// runs a server on 127.0.0.1 (ephemeral port) with short timeouts (1 s) so
// the slow-client cases stay quick. Not thread-safe: one thread per Client.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/http_server.h"

namespace headcount::http_testing {

using Ms = std::chrono::milliseconds;
using Steady = std::chrono::steady_clock;

// How long the client waits for an answer that should come.
inline constexpr Ms kAnswerTimeout{5000};

struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

// A blocking HTTP/1.1 client on one TCP connection.
class Client {
 public:
  explicit Client(std::uint16_t port);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }

  // Sends all of `data`; false if the connection broke.
  bool Send(std::string_view data);
  // Reads one response (no body for HEAD); empty if the connection closed or
  // nothing complete came within `timeout`.
  std::optional<RawResponse> Read(bool head = false, Ms timeout = kAnswerTimeout);
  // Reads raw bytes (a streamed body) until `marker` has arrived: what came
  // up to and including it (the rest stays buffered), or nothing if the
  // connection closed or the marker did not come within `timeout`.
  std::optional<std::string> ReadThrough(std::string_view marker, Ms timeout = kAnswerTimeout);
  // Sends `request` and reads the answer.
  std::optional<RawResponse> Exchange(const std::string& request, bool head = false);
  // True if the server closes the connection within `timeout` (bytes that
  // arrive meanwhile are dropped).
  bool WaitClosed(Ms timeout = kAnswerTimeout);
  // True if the server closes the connection with no further byte.
  bool ClosesWithoutData(Ms timeout = kAnswerTimeout);
  // True if nothing is pending: no bytes buffered and none arrive within `wait`.
  bool Quiet(Ms wait);

 private:
  // Reads more into buf_; false on close, error or deadline (timed_out_ says which).
  bool Fill(Steady::time_point deadline);

  int fd_ = -1;
  bool connected_ = false;
  bool timed_out_ = false;
  std::string buf_;
};

// "GET <target> HTTP/1.1" with a Host header and the `extra` header lines.
std::string Get(const std::string& target, const std::string& extra = "");

// Runs an HttpServer with options_ and Handle() below; records every
// exchange the observer sees.
class HttpServerTest : public ::testing::Test {
 protected:
  HttpServerTest();
  ~HttpServerTest() override;

  // Starts the server with options_ and Handle().
  void Start();
  // Echoes the request as JSON; /slow waits, /throw throws, /file sends
  // file_, /shared sends shared_ (HttpResponse::shared_body), /nocontent is a 204.
  HttpResponse Handle(const HttpRequest& req);
  std::unique_ptr<Client> Connect() { return std::make_unique<Client>(server_->port()); }
  // The exchanges observed so far, once there are `n` (the observer runs
  // after the response is written, so it may lag the client by a moment).
  std::vector<HttpExchange> Exchanges(std::size_t n);
  void Observe(const HttpExchange& exchange);

  HttpServerOptions options_;
  std::unique_ptr<HttpServer> server_;
  std::filesystem::path file_;
  std::shared_ptr<const std::string> shared_;
  std::mutex mu_;
  std::vector<HttpExchange> exchanges_;  // guarded by mu_
};

}  // namespace headcount::http_testing
