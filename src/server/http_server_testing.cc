// Test support for HttpServer's tests (see http_server_testing.h).
#include "server/http_server_testing.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>

namespace headcount::http_testing {

using namespace std::chrono_literals;

Client::Client(std::uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}

Client::~Client() { ::close(fd_); }

bool Client::Send(std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::optional<RawResponse> Client::Read(bool head, Ms timeout) {
  const auto deadline = Steady::now() + timeout;
  std::size_t end;
  while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
    if (!Fill(deadline)) return std::nullopt;
  }
  RawResponse r;
  const std::string head_text = buf_.substr(0, end);
  buf_.erase(0, end + 4);
  std::size_t line_end = head_text.find("\r\n");
  const std::string status_line = head_text.substr(0, line_end);
  if (status_line.rfind("HTTP/1.", 0) != 0) return std::nullopt;
  r.status = std::stoi(status_line.substr(9, 3));
  while (line_end != std::string::npos) {
    const std::size_t start = line_end + 2;
    line_end = head_text.find("\r\n", start);
    const std::string line = head_text.substr(start, line_end - start);
    const std::size_t colon = line.find(':');
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    r.headers[name] = value;
  }
  if (head || r.status == 204 || r.status == 304) return r;
  const auto length = r.headers.find("content-length");
  if (length == r.headers.end()) return std::nullopt;  // the server always sends one
  const std::size_t n = std::stoul(length->second);
  while (buf_.size() < n) {
    if (!Fill(deadline)) return std::nullopt;
  }
  r.body = buf_.substr(0, n);
  buf_.erase(0, n);
  return r;
}

std::optional<std::string> Client::ReadThrough(std::string_view marker, Ms timeout) {
  const auto deadline = Steady::now() + timeout;
  std::size_t at;
  while ((at = buf_.find(marker)) == std::string::npos) {
    if (!Fill(deadline)) return std::nullopt;
  }
  std::string out = buf_.substr(0, at + marker.size());
  buf_.erase(0, at + marker.size());
  return out;
}

std::optional<RawResponse> Client::Exchange(const std::string& request, bool head) {
  if (!Send(request)) return std::nullopt;
  return Read(head);
}

bool Client::WaitClosed(Ms timeout) {
  const auto deadline = Steady::now() + timeout;
  for (;;) {
    buf_.clear();
    if (!Fill(deadline)) return !timed_out_;
  }
}

bool Client::ClosesWithoutData(Ms timeout) {
  if (!buf_.empty()) return false;
  return !Fill(Steady::now() + timeout) && !timed_out_;
}

bool Client::Quiet(Ms wait) {
  if (!buf_.empty()) return false;
  return !Fill(Steady::now() + wait) && timed_out_;
}

bool Client::Fill(Steady::time_point deadline) {
  timed_out_ = false;
  const auto left = std::chrono::duration_cast<Ms>(deadline - Steady::now());
  pollfd p{fd_, POLLIN, 0};
  if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
    timed_out_ = true;
    return false;
  }
  char chunk[65536];
  const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
  if (n <= 0) return false;  // closed or reset
  buf_.append(chunk, static_cast<std::size_t>(n));
  return true;
}

std::string Get(const std::string& target, const std::string& extra) {
  return "GET " + target + " HTTP/1.1\r\nHost: t\r\n" + extra + "\r\n";
}

HttpServerTest::HttpServerTest() {
  options_.port = 0;
  options_.read_timeout = 1s;
  options_.write_timeout = 2s;
  options_.idle_timeout = 2s;
}

HttpServerTest::~HttpServerTest() {
  if (server_) server_->Stop();
}

void HttpServerTest::Start() {
  server_ = std::make_unique<HttpServer>(
      options_, [this](const HttpRequest& req) { return Handle(req); },
      [this](const HttpExchange& x) { Observe(x); });
  const Status st = server_->Start();
  ASSERT_TRUE(st.ok()) << st.error().ToString();
  ASSERT_NE(server_->port(), 0);
}

HttpResponse HttpServerTest::Handle(const HttpRequest& req) {
  if (req.path == "/throw") throw std::runtime_error("boom");
  if (req.path == "/slow") std::this_thread::sleep_for(150ms);
  if (req.path == "/nocontent") return HttpResponse::Text(204, "dropped");
  if (req.path == "/file") {
    HttpResponse r;
    r.content_type = "video/mp2t";
    r.file = file_;
    return r;
  }
  if (req.path == "/shared") {
    HttpResponse r;
    r.content_type = "video/mp2t";
    r.shared_body = shared_;
    return r;
  }
  nlohmann::json query = nlohmann::json::object();
  for (const auto& [k, v] : req.query) query[k] = v;
  HttpResponse r = HttpResponse::Json(200, nlohmann::json{{"method", req.method},
                                                          {"path", req.path},
                                                          {"target", req.target},
                                                          {"query", query},
                                                          {"headers", req.headers},
                                                          {"client", req.client_address},
                                                          {"body", req.body}}
                                               .dump());
  r.headers.emplace_back("X-Test", "yes");
  r.headers.emplace_back("X-Bad", "a\r\nSet-Cookie: evil=1");
  return r;
}

std::vector<HttpExchange> HttpServerTest::Exchanges(std::size_t n) {
  const auto deadline = Steady::now() + kAnswerTimeout;
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (exchanges_.size() >= n || Steady::now() > deadline) return exchanges_;
    }
    std::this_thread::sleep_for(5ms);
  }
}

void HttpServerTest::Observe(const HttpExchange& exchange) {
  std::lock_guard lock(mu_);
  exchanges_.push_back(exchange);
}

}  // namespace headcount::http_testing
