// What every fleetctl command needs: configuration (flags, environment, optional file) and a
// database connection.
#pragma once

#include <chrono>
#include <memory>
#include <stdexcept>
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

  // Connects on first use. Throws std::runtime_error with a redacted message on failure, or
  // ConfigError when no database is configured (commands without a database never ask).
  pqxx::connection& connection();
  // Like connection(), but retries for up to `wait` while the server refuses connections or is
  // starting up, and creates the database first when `create` is set and it does not exist.
  pqxx::connection& connection(std::chrono::seconds wait, bool create);
  const config::Config& config() const { return config_; }
  std::string logs_dir() const;

 private:
  explicit Context(config::Config config) : config_(std::move(config)) {}
  config::Config config_;
  std::unique_ptr<pqxx::connection> conn_;
};

// The configuration does not say which database to use (exit code 2).
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Exit codes of fleetctl.
enum ExitCode : int { kOk = 0, kFailed = 1, kUsage = 2 };

}  // namespace fleet::cli
