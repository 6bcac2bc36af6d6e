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
#include "http_client/testing/test_certs.h"

namespace headcount::testing {
namespace {

constexpr std::chrono::seconds kReadyTimeout{20};
constexpr std::chrono::milliseconds kReadyPoll{20};
constexpr char kRedisServer[] = "/usr/bin/redis-server";

Status WriteFile(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  out.close();
  if (!out) return Error::Io("cannot write " + path.string());
  return {};
}

// The text of `log` from byte `from` on.
std::string ReadLog(const std::string& log, std::uintmax_t from) {
  std::ifstream in(log, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(from));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

Result<std::unique_ptr<RedisServer>> RedisServer::Create(RedisServerOptions options) {
  if (::access(kRedisServer, X_OK) != 0) {
    return Error::NotFound(
        "redis-server is not installed (apt-get install redis-server; scripts/setup installs it)");
  }
  std::unique_ptr<RedisServer> server(new RedisServer());
  std::string dir_template =
      (std::filesystem::temp_directory_path() / "headcount-redis-XXXXXX").string();
  if (::mkdtemp(dir_template.data()) == nullptr) return Error::Io("mkdtemp failed");
  server->dir_ = dir_template;
  server->options_ = std::move(options);
  server->port_ = FreeLoopbackPort();
  if (server->options_.tls) {
    const auto cert = http_client::testing::MakeSelfSignedCertificate(server->options_.tls_name);
    if (Status s = WriteFile(server->ca_file(), cert.cert_pem); !s.ok()) return s.error();
    if (Status s = WriteFile(server->dir_ / "key.pem", cert.key_pem); !s.ok()) return s.error();
  }
  if (Status s = server->Start(); !s.ok()) return s.error();
  return server;
}

Status RedisServer::Start() {
  if (pid_ > 0) return {};
  std::vector<std::string> argv = {
      kRedisServer, "--bind", "127.0.0.1",   "--save",      "",  "--appendonly",
      "no",         "--dir",  dir_.string(), "--daemonize", "no"};
  if (options_.tls) {
    argv.insert(argv.end(), {"--port", "0", "--tls-port", std::to_string(port_), "--tls-cert-file",
                             ca_file(), "--tls-key-file", (dir_ / "key.pem").string(),
                             "--tls-ca-cert-file", ca_file(), "--tls-auth-clients", "no"});
  } else {
    argv.insert(argv.end(), {"--port", std::to_string(port_)});
  }
  if (!options_.password.empty()) {
    argv.emplace_back("--requirepass");
    argv.push_back(options_.password);
  }
  std::vector<char*> args;
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  const std::string log = (dir_ / "redis.log").string();
  std::error_code no_log_yet;
  std::uintmax_t log_start = std::filesystem::file_size(log, no_log_yet);
  if (no_log_yet) log_start = 0;
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
  // Ready: a plain one answers PING; a TLS one, whose certificate may be
  // for a name that does not resolve here, says so in its log.
  RedisOptions options;
  options.endpoint.host = "127.0.0.1";
  options.endpoint.port = static_cast<std::uint16_t>(port_);
  options.endpoint.password = options_.password;
  options.pool_size = 1;
  RedisPool ping(options);
  const auto until = std::chrono::steady_clock::now() + kReadyTimeout;
  for (;;) {
    if (options_.tls) {
      if (ReadLog(log, log_start).find("Ready to accept connections") != std::string::npos) {
        return {};
      }
    } else if (const Result<RedisReply> pong = ping.RunOne({"PING"});
               pong.ok() && !pong->is_error()) {
      return {};
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return Error::Io("redis-server exited at start: " + ReadLog(log, log_start));
    }
    if (std::chrono::steady_clock::now() > until) {
      return Error::DeadlineExceeded("redis-server was not ready within 20 s");
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
  return (options_.tls ? "rediss://" : "redis://") +
         (options_.password.empty() ? std::string() : ":" + options_.password + "@") +
         (options_.tls ? "localhost:" : "127.0.0.1:") + std::to_string(port_);
}

}  // namespace headcount::testing
