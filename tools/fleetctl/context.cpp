#include "context.h"

#include <stdexcept>

#include <pqxx/pqxx>

#include "core/strings.h"

namespace fleet::cli {

Result<std::unique_ptr<Context>> Context::load(const GlobalOptions& options, char** envp) {
  config::Schema schema;
  db::declare_config(schema);
  schema.add({.name = "logs.dir",
              .type = config::Type::kString,
              .help = "directory of the workers' log files (their --log-file)",
              .default_value = std::string("/var/log/fleetward")});
  config::Sources sources{.file_path = options.config_file, .env = config::environment_from(envp)};
  if (!options.database_url.empty()) sources.flags.emplace_back("database.url", options.database_url);
  auto config = config::Config::load(schema, sources);
  if (!config.ok()) return config.error();
  auto database = db::options_from(*config);
  if (!database.ok()) return database.error();
  database->application_name = "fleetctl";
  return std::unique_ptr<Context>(new Context(std::move(*config), std::move(*database)));
}

pqxx::connection& Context::connection() {
  if (conn_) return *conn_;
  try {
    std::string conninfo = database_.conninfo;
    conn_ = std::make_unique<pqxx::connection>(conninfo);
    pqxx::nontransaction tx(*conn_);
    tx.exec("SET application_name = 'fleetctl'; SET statement_timeout = '60s'");
  } catch (const std::exception& e) {
    conn_.reset();
    throw std::runtime_error("cannot connect to the database (" + db::describe(database_) +
                             "): " + redact_secrets(trim(e.what())));
  }
  return *conn_;
}

std::string Context::logs_dir() const { return config_.str("logs.dir"); }

}  // namespace fleet::cli
