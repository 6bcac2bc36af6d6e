// PostgresServer: initdb and postgres as child processes (fork, drop to an
// unprivileged user, exec), readiness by PQping, fast shutdown by SIGINT.
#include "store/postgres/testing/postgres_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <pqxx/pqxx>
#include <sstream>
#include <thread>
#include <vector>

#include "core/testing/ports.h"

namespace headcount::postgres::testing {
namespace {

constexpr std::chrono::seconds kReadyTimeout{30};
constexpr std::chrono::milliseconds kReadyPoll{50};
// Who runs the server when the test runs as root.
constexpr char kUnprivilegedUser[] = "nobody";
constexpr char kInstallHint[] =
    " (apt-get install postgresql; scripts/setup installs it, or set HEADCOUNT_PG_BINDIR)";

// The directory holding initdb and postgres, or "".
std::filesystem::path FindBindir() {
  // Read before any test thread starts.
  if (const char* given = std::getenv("HEADCOUNT_PG_BINDIR")) {  // NOLINT(concurrency-mt-unsafe)
    return given;
  }
  std::vector<std::filesystem::path> found;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
    if (std::filesystem::exists(entry.path() / "bin" / "postgres")) {
      found.push_back(entry.path() / "bin");
    }
  }
  if (found.empty()) return {};
  // Numeric versions: "9.6" < "15" compares as text wrongly only below 10,
  // which Debian 12 does not ship.
  return *std::max_element(found.begin(), found.end());
}

// Forks `argv` as uid/gid with stdout and stderr appended to `log`; the
// child gets SIGINT should this process die first. Returns its pid or -1.
pid_t SpawnAs(uid_t uid, gid_t gid, const std::vector<std::string>& argv,
              const std::filesystem::path& log) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const std::string log_path = log.string();
  const bool drop = ::geteuid() == 0;
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  // Child: async-signal-safe calls only.
  const int out = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (out < 0) ::_exit(126);
  ::dup2(out, STDOUT_FILENO);
  ::dup2(out, STDERR_FILENO);
  if (drop && (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0)) {
    ::_exit(125);
  }
  ::prctl(PR_SET_PDEATHSIG, SIGINT);  // after setuid, which clears it
  ::execv(args[0], args.data());
  ::_exit(127);
}

}  // namespace

Result<std::unique_ptr<PostgresServer>> PostgresServer::Create() {
  std::unique_ptr<PostgresServer> server(new PostgresServer());
  server->bindir_ = FindBindir();
  if (server->bindir_.empty() || !std::filesystem::exists(server->bindir_ / "initdb")) {
    return Error::NotFound(std::string("PostgreSQL's initdb and postgres are not installed") +
                           kInstallHint);
  }
  std::string dir_template =
      (std::filesystem::temp_directory_path() / "headcount-pg-XXXXXX").string();
  if (::mkdtemp(dir_template.data()) == nullptr) return Error::Io("mkdtemp failed");
  server->dir_ = dir_template;
  if (::geteuid() == 0) {
    const passwd* user = ::getpwnam(kUnprivilegedUser);  // NOLINT(concurrency-mt-unsafe)
    if (user == nullptr) return Error::NotFound("no user 'nobody' to run PostgreSQL as");
    server->uid_ = user->pw_uid;
    server->gid_ = user->pw_gid;
    if (::chown(server->dir_.c_str(), server->uid_, server->gid_) != 0) {
      return Error::Io("cannot chown " + server->dir_.string());
    }
  }
  const std::filesystem::path pwfile = server->dir_ / "pwfile";
  std::ofstream(pwfile) << kTestPassword << "\n";
  std::error_code ignored;
  std::filesystem::permissions(pwfile, std::filesystem::perms::all, ignored);  // nobody reads it
  const std::vector<std::string> initdb = {(server->bindir_ / "initdb").string(),
                                           "-D",
                                           (server->dir_ / "data").string(),
                                           "-U",
                                           std::string(kTestUser),
                                           "--pwfile=" + pwfile.string(),
                                           "--auth-local=trust",
                                           "--auth-host=scram-sha-256",
                                           "--no-locale",
                                           "--encoding=UTF8",
                                           "--no-sync"};
  const pid_t pid = SpawnAs(server->uid_, server->gid_, initdb, server->dir_ / "initdb.log");
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    std::ifstream in(server->dir_ / "initdb.log");
    std::stringstream text;
    text << in.rdbuf();
    return Error::Io("initdb failed: " + text.str());
  }
  server->port_ = headcount::testing::FreeLoopbackPort();
  if (Status s = server->Start(); !s.ok()) return s.error();
  return server;
}

Status PostgresServer::Start() {
  if (pid_ > 0) return {};
  // Durability off: a test database need not survive a power cut.
  const std::vector<std::string> argv = {(bindir_ / "postgres").string(),
                                         "-D",
                                         (dir_ / "data").string(),
                                         "-p",
                                         std::to_string(port_),
                                         "-k",
                                         dir_.string(),
                                         "-c",
                                         "listen_addresses=127.0.0.1",
                                         "-c",
                                         "fsync=off",
                                         "-c",
                                         "synchronous_commit=off",
                                         "-c",
                                         "full_page_writes=off",
                                         "-c",
                                         "shared_buffers=16MB"};
  pid_ = SpawnAs(uid_, gid_, argv, dir_ / "server.log");
  if (pid_ < 0) return Error::Io("fork failed");
  const std::string ping = "host=127.0.0.1 port=" + std::to_string(port_) +
                           " dbname=postgres user=headcount connect_timeout=1";
  const auto until = std::chrono::steady_clock::now() + kReadyTimeout;
  while (PQping(ping.c_str()) != PQPING_OK) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return Error::Io("postgres exited at start: " + Log());
    }
    if (std::chrono::steady_clock::now() > until) {
      return Error::DeadlineExceeded("postgres did not accept connections within 30 s: " + Log());
    }
    std::this_thread::sleep_for(kReadyPoll);
  }
  return {};
}

void PostgresServer::Stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGINT);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

PostgresServer::~PostgresServer() {
  Stop();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string PostgresServer::Url(std::string_view database, std::string_view password) const {
  return "postgresql://" + std::string(kTestUser) + ":" + std::string(password) +
         "@127.0.0.1:" + std::to_string(port_) + "/" + std::string(database);
}

Result<std::string> PostgresServer::Query(const std::string& database, const std::string& sql) {
  try {
    pqxx::connection connection(Url(database));
    pqxx::nontransaction work(connection);
    const pqxx::result rows = work.exec(sql);
    if (rows.empty() || rows.columns() == 0 || rows[0][0].is_null()) return std::string();
    return rows[0][0].as<std::string>();
  } catch (const std::exception& e) {
    return Error::Io(std::string("query failed: ") + e.what());
  }
}

Result<std::string> PostgresServer::CreateDatabase(const std::string& name) {
  Result<std::string> created = Query("postgres", "CREATE DATABASE " + name);
  if (!created.ok()) return created.error();
  return Url(name);
}

std::string PostgresServer::Log() const {
  std::ifstream in(dir_ / "server.log");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace headcount::postgres::testing
