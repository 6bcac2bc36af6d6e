// A small HTTP/1.1 server on 127.0.0.1 (kernel-chosen port) for the HTTP
// client's tests, plain or TLS (Beast, on its own thread): scripted answers,
// a count of accepted connections and a record of what arrived.
// Thread-safe; for tests only.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "http_client/message.h"

namespace headcount::http_client::testing {

struct ReceivedRequest {
  std::string method = {};
  std::string target = {};
  HttpHeaders headers = {};
  std::string body = {};
  int connection = 0;  // 1-based number of the TCP connection it came on
};

struct ScriptedResponse {
  int status = 200;
  std::string body = {};
  HttpHeaders headers = {};            // Content-Length is added
  std::chrono::milliseconds delay{0};  // wait this long before answering
  bool close = false;                  // "Connection: close" and close after answering
  bool hang_up = false;                // close the connection without answering
  bool drop_after = false;             // answer as keep-alive, then close anyway
};

class TestServer {
 public:
  using Handler = std::function<ScriptedResponse(const ReceivedRequest&)>;

  // Plain HTTP.
  explicit TestServer(Handler handler);
  // HTTPS with this certificate and key (PEM).
  TestServer(Handler handler, const std::string& cert_pem, const std::string& key_pem);
  ~TestServer();
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  int port() const;
  int connections() const;
  std::vector<ReceivedRequest> requests() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace headcount::http_client::testing
