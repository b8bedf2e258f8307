#include "context.h"

#include <iostream>
#include <stdexcept>
#include <thread>

#include <pqxx/pqxx>

#include "core/strings.h"
#include "secrets/secret_box.h"

namespace fleet::cli {

Result<std::unique_ptr<Context>> Context::load(const GlobalOptions& options, char** envp) {
  config::Schema schema;
  db::declare_config(schema);
  secrets::declare_config(schema);  // secrets.key (FLEET_SECRET_KEY): `fleetctl secrets reseal`
  schema.add({.name = "logs.dir",
              .type = config::Type::kString,
              .help = "directory of the workers' log files (their --log-file)",
              .default_value = std::string("/var/log/fleetward")});
  config::Sources sources{.file_path = options.config_file, .env = config::environment_from(envp)};
  if (!options.database_url.empty())
    sources.flags.emplace_back("database.url", options.database_url);
  auto config = config::Config::load(schema, sources);
  if (!config.ok()) return config.error();
  return std::unique_ptr<Context>(new Context(std::move(*config)));
}

pqxx::connection& Context::connection() {
  if (conn_) return *conn_;
  auto database = db::options_from(config_);
  if (!database.ok()) throw ConfigError(database.error().message());
  try {
    conn_ = std::make_unique<pqxx::connection>(database->conninfo);
    pqxx::nontransaction tx(*conn_);
    tx.exec("SET application_name = 'fleetctl'; SET statement_timeout = '60s'");
  } catch (const std::exception& e) {
    conn_.reset();
    throw std::runtime_error("cannot connect to the database (" + db::describe(*database) +
                             "): " + redact_secrets(trim(e.what())));
  }
  return *conn_;
}

pqxx::connection& Context::connection(std::chrono::seconds wait, bool create) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  auto database = db::options_from(config_);
  if (!database.ok()) throw ConfigError(database.error().message());
  while (true) {
    try {
      return connection();
    } catch (const ConfigError&) {
      throw;
    } catch (const std::exception& e) {
      if (create && std::string(e.what()).find("does not exist") != std::string::npos) {
        auto name = db::conninfo_value(database->conninfo, "dbname");
        auto admin_info = db::conninfo_with(database->conninfo, "dbname", "postgres");
        if (!name.ok() || name->empty() || !admin_info.ok()) throw;
        pqxx::connection admin(*admin_info);
        pqxx::nontransaction tx(admin);
        tx.exec("CREATE DATABASE " + tx.quote_name(*name));
        std::cerr << "created database " << *name << "\n";
        continue;
      }
      if (std::chrono::steady_clock::now() >= deadline) throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
  }
}

std::string Context::logs_dir() const {
  return config_.str("logs.dir");
}

}  // namespace fleet::cli
