// Tinyproxy: posix_spawn "tinyproxy -d -c FILE", output to a log file.
#include "http_client/testing/tinyproxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;  // NOLINT(readability-redundant-declaration): posix_spawn's environment

namespace headcount::http_client::testing {
namespace {

constexpr std::chrono::seconds kStartTimeout{10};
constexpr std::chrono::milliseconds kStartPoll{20};

bool Accepts(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

Tinyproxy::Tinyproxy(const std::string& extra_config) {
  static int counter = 0;
  dir_ = (std::filesystem::temp_directory_path() /
          ("headcount-tinyproxy-" + std::to_string(::getpid()) + "-" + std::to_string(counter++)))
             .string();
  std::filesystem::create_directories(dir_);
  log_path_ = dir_ + "/tinyproxy.log";
  const std::string config_path = dir_ + "/tinyproxy.conf";
  port_ = headcount::testing::FreeLoopbackPort();
  std::ofstream(config_path) << "Port " << port_ << "\nListen 127.0.0.1\nTimeout 30\n"
                             << "MaxClients 20\nLogLevel Connect\nAllow 127.0.0.1\n"
                             << extra_config;

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path_.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  std::string program = "tinyproxy";
  std::string flag_d = "-d";
  std::string flag_c = "-c";
  char* argv[] = {program.data(), flag_d.data(), flag_c.data(),
                  const_cast<char*>(config_path.c_str()), nullptr};
  const int rc = posix_spawnp(&pid_, "tinyproxy", &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    pid_ = -1;
    error_ = "cannot start tinyproxy (apt-get install tinyproxy; scripts/setup installs it)";
    return;
  }
  const auto until = std::chrono::steady_clock::now() + kStartTimeout;
  while (!Accepts(port_)) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      error_ = "tinyproxy exited at start: " + log();
      return;
    }
    if (std::chrono::steady_clock::now() > until) {
      error_ = "tinyproxy did not listen within 10 s: " + log();
      return;
    }
    std::this_thread::sleep_for(kStartPoll);
  }
}

Tinyproxy::~Tinyproxy() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string Tinyproxy::url() const { return "http://127.0.0.1:" + std::to_string(port_); }

std::string Tinyproxy::log() const {
  std::ifstream in(log_path_);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace headcount::http_client::testing
