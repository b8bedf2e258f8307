// What every fleetctl command needs: configuration (flags, environment, optional file) and a
// database connection.
#pragma once

#include <memory>
#include <string>

#include <pqxx/connection>

#include "config/config.h"
#include "core/result.h"
#include "db/connection_options.h"

namespace fleet::cli {

struct GlobalOptions {
  std::string config_file;
  std::string database_url;
};

class Context {
 public:
  // Loads fleetctl's configuration: database.* keys and logs.dir, from flags, the environment
  // (DATABASE_URL, POSTGRES_*, FLEET_*) and the file.
  static Result<std::unique_ptr<Context>> load(const GlobalOptions& options, char** envp);

  // Connects on first use. Throws std::runtime_error with a redacted message on failure.
  pqxx::connection& connection();
  const config::Config& config() const { return config_; }
  const db::ConnectionOptions& database() const { return database_; }
  std::string logs_dir() const;

 private:
  Context(config::Config config, db::ConnectionOptions database)
      : config_(std::move(config)), database_(std::move(database)) {}
  config::Config config_;
  db::ConnectionOptions database_;
  std::unique_ptr<pqxx::connection> conn_;
};

// Exit codes of fleetctl.
enum ExitCode : int { kOk = 0, kFailed = 1, kUsage = 2 };

}  // namespace fleet::cli
