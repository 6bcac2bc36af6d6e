// RedisServer: redis-server as a child process, readiness by PING.
#include "cluster/testing/redis_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "cluster/redis_client.h"
#include "core/testing/ports.h"

namespace headcount::testing {
namespace {

constexpr std::chrono::seconds kReadyTimeout{20};
constexpr std::chrono::milliseconds kReadyPoll{20};
constexpr char kRedisServer[] = "/usr/bin/redis-server";

}  // namespace

Result<std::unique_ptr<RedisServer>> RedisServer::Create(std::string password) {
  if (::access(kRedisServer, X_OK) != 0) {
    return Error::NotFound(
        "redis-server is not installed (apt-get install redis-server; scripts/setup installs it)");
  }
  std::unique_ptr<RedisServer> server(new RedisServer());
  std::string dir_template =
      (std::filesystem::temp_directory_path() / "headcount-redis-XXXXXX").string();
  if (::mkdtemp(dir_template.data()) == nullptr) return Error::Io("mkdtemp failed");
  server->dir_ = dir_template;
  server->password_ = std::move(password);
  server->port_ = FreeLoopbackPort();
  if (Status s = server->Start(); !s.ok()) return s.error();
  return server;
}

Status RedisServer::Start() {
  if (pid_ > 0) return {};
  std::vector<std::string> argv = {kRedisServer, "--port",       std::to_string(port_),
                                   "--bind",     "127.0.0.1",    "--save",
                                   "",           "--appendonly", "no",
                                   "--dir",      dir_.string(),  "--daemonize",
                                   "no"};
  if (!password_.empty()) {
    argv.emplace_back("--requirepass");
    argv.push_back(password_);
  }
  std::vector<char*> args;
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  const std::string log = (dir_ / "redis.log").string();
  pid_ = ::fork();
  if (pid_ == 0) {
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (out < 0) ::_exit(126);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(out, STDERR_FILENO);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  if (pid_ < 0) return Error::Io("fork failed");
  RedisOptions options;
  options.endpoint.host = "127.0.0.1";
  options.endpoint.port = static_cast<std::uint16_t>(port_);
  options.endpoint.password = password_;
  options.pool_size = 1;
  RedisPool ping(options);
  const auto until = std::chrono::steady_clock::now() + kReadyTimeout;
  for (;;) {
    const Result<RedisReply> pong = ping.RunOne({"PING"});
    if (pong.ok() && !pong->is_error()) return {};
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      std::ifstream in(log);
      std::stringstream text;
      text << in.rdbuf();
      return Error::Io("redis-server exited at start: " + text.str());
    }
    if (std::chrono::steady_clock::now() > until) {
      return Error::DeadlineExceeded("redis-server did not answer PING within 20 s");
    }
    std::this_thread::sleep_for(kReadyPoll);
  }
}

void RedisServer::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

RedisServer::~RedisServer() {
  Kill();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string RedisServer::Url() const {
  return "redis://" + (password_.empty() ? std::string() : ":" + password_ + "@") +
         "127.0.0.1:" + std::to_string(port_);
}

}  // namespace headcount::testing
