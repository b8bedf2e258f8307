#include "pgtest.h"

#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <random>
#include <stdexcept>

#include <pqxx/pqxx>

#include "migrate/migrator.h"
#include "process.h"

namespace fleet::test {
namespace {

std::string pg_bin(const std::string& tool) {
  if (const char* dir = std::getenv("FLEETTEST_PG_BIN")) return std::string(dir) + "/" + tool;
  return "/usr/lib/postgresql/15/bin/" + tool;
}

// Runs argv as the postgres user when we are root (initdb refuses root), else as ourselves.
// Output goes to log_path. Returns the exit code.
int run_as_postgres(const std::vector<std::string>& args, const std::string& cwd,
                    const std::string& log_path) {
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    if (geteuid() == 0) {
      passwd* pw = getpwnam("postgres");
      if (pw == nullptr) {
        std::fprintf(stderr, "no 'postgres' user: install postgresql-15\n");
        _exit(126);
      }
      if (setgroups(0, nullptr) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) _exit(126);
      setenv("HOME", pw->pw_dir, 1);
      setenv("USER", "postgres", 1);
    }
    if (chdir(cwd.c_str()) != 0) _exit(126);
    FILE* log = std::fopen(log_path.c_str(), "a");
    if (log != nullptr) {
      dup2(fileno(log), 1);
      dup2(fileno(log), 2);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void chown_to_postgres(const std::string& path) {
  if (geteuid() != 0) return;
  passwd* pw = getpwnam("postgres");
  if (pw == nullptr) throw std::runtime_error("no 'postgres' user: install postgresql-15");
  if (chown(path.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
    throw std::runtime_error("chown " + path + " failed");
  }
}

std::string random_suffix() {
  static std::mt19937_64 rng(std::random_device{}());
  static std::mutex mu;
  std::lock_guard lock(mu);
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

}  // namespace

std::unique_ptr<PgServer> PgServer::create() {
  std::unique_ptr<PgServer> server(new PgServer());
  server->dir_ = make_temp_dir("fleet-pg");
  chown_to_postgres(server->dir_);
  const std::string log = server->dir_ + "/server.log";
  int rc = run_as_postgres({pg_bin("initdb"), "-D", server->dir_ + "/data", "-U", "postgres",
                            "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"},
                           server->dir_, log);
  if (rc != 0) {
    throw std::runtime_error("initdb failed (" + std::to_string(rc) + "): " + read_file(log));
  }
  server->port_ = free_port();
  server->start();
  return server;
}

std::unique_ptr<PgServer> PgServer::attach(const std::string& state_dir) {
  std::unique_ptr<PgServer> server(new PgServer());
  std::string state = read_file(state_dir + "/server.state");
  auto nl = state.find('\n');
  if (state.empty() || nl == std::string::npos) {
    throw std::runtime_error("no test server state in " + state_dir + " (is the pg_start fixture running?)");
  }
  server->dir_ = state.substr(0, nl);
  server->port_ = std::stoi(state.substr(nl + 1));
  server->owned_ = false;
  server->running_ = true;
  return server;
}

void PgServer::save(const std::string& state_dir) const {
  std::filesystem::create_directories(state_dir);
  write_file(state_dir + "/server.state", dir_ + "\n" + std::to_string(port_) + "\n");
}

PgServer::~PgServer() {
  if (!owned_) return;
  try {
    if (running_) {
      run_as_postgres({pg_bin("pg_ctl"), "-D", dir_ + "/data", "-m", "immediate", "-w", "stop"},
                      dir_, dir_ + "/server.log");
    }
    std::filesystem::remove_all(dir_);
  } catch (...) {
    // Best effort: a leftover directory in /tmp is harmless.
  }
}

void PgServer::start() {
  const std::string options = "-p " + std::to_string(port_) + " -k " + dir_ +
                              " -c listen_addresses=127.0.0.1 -c fsync=off"
                              " -c synchronous_commit=off -c full_page_writes=off"
                              " -c max_connections=300 -c shared_buffers=64MB";
  int rc = run_as_postgres({pg_bin("pg_ctl"), "-D", dir_ + "/data", "-l", dir_ + "/server.log",
                            "-o", options, "-w", "-t", "60", "start"},
                           dir_, dir_ + "/pg_ctl.log");
  if (rc != 0) {
    throw std::runtime_error("pg_ctl start failed (" + std::to_string(rc) +
                             "): " + read_file(dir_ + "/server.log"));
  }
  running_ = true;
}

void PgServer::stop() {
  run_as_postgres({pg_bin("pg_ctl"), "-D", dir_ + "/data", "-m", "fast", "-w", "stop"}, dir_,
                  dir_ + "/pg_ctl.log");
  running_ = false;
}

std::string PgServer::url(const std::string& database) const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

void PgServer::create_template() {
  {
    pqxx::connection admin(url());
    pqxx::nontransaction tx(admin);
    if (!tx.exec("SELECT 1 FROM pg_database WHERE datname = 'fleet_template'").empty()) return;
    tx.exec("CREATE DATABASE fleet_template");
  }
  pqxx::connection conn(url("fleet_template"));
  auto report = migrate::apply(conn, migrate::embedded_migrations(), {.applied_by = "pgtest"});
  if (!report.ok()) throw std::runtime_error(report.error().message());
}

PgServer& shared_server() {
  static std::once_flag once;
  static std::unique_ptr<PgServer> server;
  std::call_once(once, [] {
    if (const char* state = std::getenv("FLEETTEST_PG_STATE"); state != nullptr && *state) {
      server = PgServer::attach(state);
    } else {
      server = PgServer::create();
      server->create_template();
    }
  });
  return *server;
}

TestDatabase::TestDatabase(Schema schema, PgServer& server) : server_(server) {
  name_ = "t_" + random_suffix();
  url_ = server.url(name_);
  pqxx::connection admin(server.url());
  pqxx::nontransaction tx(admin);
  tx.exec("CREATE DATABASE " + name_ + " TEMPLATE " +
          (schema == Schema::kMigrated ? "fleet_template" : "template0"));
}

TestDatabase::~TestDatabase() {
  try {
    if (!server_.running()) return;
    pqxx::connection admin(server_.url());
    pqxx::nontransaction tx(admin);
    tx.exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  } catch (...) {
    // The server may be gone already; its directory is removed with it.
  }
}

void TestDatabase::exec(const std::string& sql) {
  pqxx::connection conn(url_);
  pqxx::nontransaction tx(conn);
  tx.exec(sql);
}

std::string TestDatabase::scalar(const std::string& sql) {
  pqxx::connection conn(url_);
  pqxx::nontransaction tx(conn);
  auto r = tx.exec(sql);
  if (r.empty() || r[0][0].is_null()) return "";
  return r[0][0].c_str();
}

long long TestDatabase::count(const std::string& table_or_query) {
  std::string sql = table_or_query.find(' ') == std::string::npos
                        ? "SELECT count(*) FROM " + table_or_query
                        : "SELECT count(*) FROM (" + table_or_query + ") q";
  return std::stoll(scalar(sql));
}

}  // namespace fleet::test
