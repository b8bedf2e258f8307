// pg-harness: starts and stops the PostgreSQL server shared by a ctest run (the pg_start and
// pg_stop fixtures).
//   pg-harness start <state-dir>   initdb, start, create fleet_template, write <state-dir>
//   pg-harness stop <state-dir>    stop the server and remove its directory
#include <filesystem>
#include <iostream>

#include "pgtest.h"
#include "process.h"

int main(int argc, char** argv) {
  using namespace fleet::test;
  if (argc != 3) {
    std::cerr << "usage: pg-harness start|stop <state-dir>\n";
    return 2;
  }
  const std::string command = argv[1];
  const std::string state = argv[2];
  try {
    // A server left behind by an interrupted run is stopped first.
    if (std::filesystem::exists(state + "/server.state")) {
      auto old = PgServer::attach(state);
      old->stop();
      std::filesystem::remove_all(old->dir());
      std::filesystem::remove(state + "/server.state");
    }
    if (command == "stop") return 0;
    if (command != "start") {
      std::cerr << "unknown command " << command << "\n";
      return 2;
    }
    auto server = PgServer::create();
    server->create_template();
    server->save(state);
    server->release();
    std::cout << "PostgreSQL test server on port " << server->port() << " in " << server->dir()
              << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "pg-harness " << command << ": " << e.what() << "\n";
    return 1;
  }
}
