// Test support: an HTTP/1.1 upstream on raw sockets (127.0.0.1, kernel-chosen
// port) that sends an answer in steps: its head and first bytes at once,
// then, once the test releases it, the rest, or a hang-up in the middle of
// the body. What a scripted server that answers whole cannot show: a proxy
// passing bytes on before the upstream has finished. One connection per
// request (every head should say Connection: close). Thread-safe; for
// tests only.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace headcount::testing {

class RawUpstream {
 public:
  struct Answer {
    std::string head;      // status line and headers, through the blank line
    std::string first;     // sent right after the head
    std::string rest;      // sent once released
    bool held = false;     // wait for Release() after `first`
    bool hang_up = false;  // after the wait, close instead of sending `rest`
  };

  RawUpstream() {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listener_, 64) != 0) {
      ADD_FAILURE() << "the raw upstream cannot listen";
    }
    socklen_t size = sizeof address;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size);
    port_ = ntohs(address.sin_port);
    acceptor_ = std::thread([this] { Accept(); });
  }

  ~RawUpstream() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      for (const int fd : connections_) ::shutdown(fd, SHUT_RDWR);
    }
    released_cv_.notify_all();
    ::shutdown(listener_, SHUT_RDWR);
    ::close(listener_);
    acceptor_.join();
    for (std::thread& t : workers_) t.join();
  }
  RawUpstream(const RawUpstream&) = delete;
  RawUpstream& operator=(const RawUpstream&) = delete;

  int port() const { return port_; }

  // The answer to requests for `path` (target without query); others get 404.
  void Put(const std::string& path, Answer answer) {
    std::lock_guard lock(mu_);
    answers_[path] = std::move(answer);
  }
  // Lets every held answer, now and later, go on.
  void Release() {
    {
      std::lock_guard lock(mu_);
      released_ = true;
    }
    released_cv_.notify_all();
  }
  int RequestsFor(const std::string& path) {
    std::lock_guard lock(mu_);
    return requests_[path];
  }

 private:
  void Accept() {
    for (;;) {
      const int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) return;
      std::lock_guard lock(mu_);
      if (stopping_) {
        ::close(fd);
        return;
      }
      connections_.push_back(fd);
      workers_.emplace_back([this, fd] {
        Serve(fd);
        std::lock_guard lock(mu_);
        std::erase(connections_, fd);
        ::close(fd);
      });
    }
  }

  void Serve(int fd) {
    std::string request;
    char buffer[4096];
    while (request.find("\r\n\r\n") == std::string::npos) {
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) return;
      request.append(buffer, static_cast<std::size_t>(n));
    }
    const std::size_t space = request.find(' ');
    std::string target = request.substr(space + 1, request.find(' ', space + 1) - space - 1);
    const std::string path = target.substr(0, target.find('?'));
    Answer answer;
    {
      std::lock_guard lock(mu_);
      ++requests_[path];
      const auto it = answers_.find(path);
      if (it == answers_.end()) {
        answer.head = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      } else {
        answer = it->second;
      }
    }
    SendAll(fd, answer.head + answer.first);
    if (answer.held) {
      std::unique_lock lock(mu_);
      released_cv_.wait(lock, [this] { return released_ || stopping_; });
      if (stopping_) return;
    }
    if (!answer.hang_up) SendAll(fd, answer.rest);
    ::shutdown(fd, SHUT_WR);
    // Wait for the client to close (so the hang-up is not a reset that
    // could destroy bytes still unread), then close.
    while (::recv(fd, buffer, sizeof buffer, 0) > 0) {
    }
  }

  static void SendAll(int fd, const std::string& bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += static_cast<std::size_t>(n);
    }
  }

  int listener_ = -1;
  int port_ = 0;
  std::thread acceptor_;

  // Guarded by mu_.
  std::mutex mu_;
  std::condition_variable released_cv_;
  std::map<std::string, Answer> answers_;
  std::map<std::string, int> requests_;
  std::vector<int> connections_;
  std::vector<std::thread> workers_;
  bool released_ = false;
  bool stopping_ = false;
};

}  // namespace headcount::testing
