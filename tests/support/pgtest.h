// A real PostgreSQL 15 for tests, started by the tests themselves in a temporary directory (as the
// postgres user when running as root, since initdb refuses root), on a free port.
//
// Under ctest, one server is started by the `pg_start` fixture (tools: pg-harness) and shared by
// every test through FLEETTEST_PG_STATE; a test binary run by hand starts its own. Each test gets a
// fresh database cloned from the template `fleet_template`, which has every migration applied.
#pragma once

#include <memory>
#include <string>

namespace fleet::test {

class PgServer {
 public:
  // initdb + start on a free port. The cluster is removed when the object is destroyed.
  static std::unique_ptr<PgServer> create();
  // A server started by another process (see save()); not stopped on destruction.
  static std::unique_ptr<PgServer> attach(const std::string& state_dir);

  ~PgServer();
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  void stop();   // fast shutdown; connections are closed
  void start();  // starts again on the same port
  bool running() const { return running_; }
  int port() const { return port_; }
  std::string url(const std::string& database = "postgres") const;

  // Creates fleet_template (every embedded migration applied) unless it exists.
  void create_template();
  // Writes what attach() needs into state_dir.
  void save(const std::string& state_dir) const;
  // Keeps the cluster on disk and running after destruction (the fixture's server).
  void release() { owned_ = false; }
  const std::string& dir() const { return dir_; }

 private:
  PgServer() = default;
  std::string dir_;
  int port_ = 0;
  bool owned_ = true;
  bool running_ = false;
};

// The server of this test process: the fixture's, or a private one started on first use.
PgServer& shared_server();

enum class Schema { kMigrated, kEmpty };

// A fresh database for one test, dropped when the object goes away.
class TestDatabase {
 public:
  explicit TestDatabase(Schema schema = Schema::kMigrated, PgServer& server = shared_server());
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  const std::string& url() const { return url_; }
  const std::string& name() const { return name_; }
  PgServer& server() { return server_; }

  // Runs one statement on a short-lived connection.
  void exec(const std::string& sql);
  // The first column of the first row as text; "" for no row or NULL.
  std::string scalar(const std::string& sql);
  long long count(const std::string& table_or_query);

 private:
  PgServer& server_;
  std::string name_;
  std::string url_;
};

}  // namespace fleet::test
