// How to reach PostgreSQL: from DATABASE_URL, or from POSTGRES_SERVER / POSTGRES_PORT / POSTGRES_DB
// / POSTGRES_USER / POSTGRES_PASSWORD (seed 001's variables), or the same keys in a config file.
// This header does not include libpqxx.
#pragma once

#include <chrono>
#include <string>

#include "config/config.h"
#include "core/backoff.h"
#include "core/result.h"

namespace fleet::db {

struct ConnectionOptions {
  // libpq connection string, URI or key=value form. May hold a password: never log it as is.
  std::string conninfo;
  std::string application_name = "fleetward";  // shown in pg_stat_activity
  std::chrono::milliseconds connect_timeout{5000};
  // Every statement is cancelled after this long, so a stuck query cannot stall a worker.
  std::chrono::milliseconds statement_timeout{30'000};
  std::chrono::milliseconds lock_timeout{10'000};
  // The server ends a session left idle inside a transaction this long (a hung worker).
  std::chrono::milliseconds idle_in_transaction_timeout{120'000};
  // Every transaction is READ ONLY (--dry-run): a write fails instead of changing anything.
  bool read_only = false;
  // Delay between reconnect attempts after the database was lost.
  BackoffPolicy reconnect{.initial = std::chrono::milliseconds(500),
                          .max = std::chrono::milliseconds(30'000)};
};

// Declares database.url, database.host, database.port, database.name, database.user,
// database.password, database.sslmode, database.connect_timeout, database.statement_timeout and
// database.lock_timeout, with their environment names.
void declare_config(config::Schema& schema);

// Builds options from the keys above. database.url wins over the separate keys when both are set.
// Fails (kInvalidArgument, naming the key) when neither gives a database to connect to.
Result<ConnectionOptions> options_from(const config::Config& config);

// The connection string with the password masked, for logs and status output.
std::string describe(const ConnectionOptions& options);

// Quotes a value for a libpq key=value connection string.
std::string quote_conninfo_value(const std::string& value);

// Parses a connection string (URI or key=value) the way libpq does. Returns the value of `key`
// ("" when unset); fails on a malformed string.
Result<std::string> conninfo_value(const std::string& conninfo, const std::string& key);

// The same connection with `key` set to `value`, as a key=value string (e.g. another dbname).
Result<std::string> conninfo_with(const std::string& conninfo, const std::string& key,
                                  const std::string& value);

}  // namespace fleet::db
