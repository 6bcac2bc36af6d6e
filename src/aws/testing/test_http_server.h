// A tiny HTTP/1.1 server on 127.0.0.1 (port chosen by the kernel) for the
// AWS layer's integration tests: keep-alive, Content-Length bodies, one
// thread per connection, a handler that scripts the answers, and a record
// of what arrived. Thread-safe; for tests only.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "aws/http_transport.h"

namespace headcount::aws::testing {

struct ReceivedRequest {
  std::string method = {};
  std::string path = {};   // target before '?'
  std::string query = {};  // after '?', may be empty
  HttpHeaders headers = {};
  std::string body = {};
  int connection = 0;  // 1-based number of the TCP connection it came on
};

struct CannedResponse {
  int status = 200;
  HttpHeaders headers = {};  // Content-Length is added
  std::string body = {};
  std::chrono::milliseconds delay{0};  // wait this long before answering
  bool close = false;                  // close the connection after answering
};

class TestHttpServer {
 public:
  using Handler = std::function<CannedResponse(const ReceivedRequest&)>;

  // Listens and starts serving; aborts the test process if it cannot bind.
  explicit TestHttpServer(Handler handler);
  ~TestHttpServer();
  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;

  int port() const { return port_; }
  // "http://127.0.0.1:<port>"
  std::string url() const;
  // TCP connections accepted so far.
  int connections() const { return connections_.load(); }
  std::vector<ReceivedRequest> requests() const;

 private:
  void AcceptLoop();
  void Serve(int fd, int connection);

  const Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::thread acceptor_;

  mutable std::mutex mu_;
  // Guarded by mu_.
  std::vector<ReceivedRequest> requests_;
  std::vector<int> open_fds_;
  std::vector<std::thread> workers_;
};

}  // namespace headcount::aws::testing
