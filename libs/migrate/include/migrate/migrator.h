// Forward-only schema migrations: numbered SQL files (sql/0001_platform.sql, ...) applied in order,
// each in its own transaction, recorded with a SHA-256 checksum in schema_migrations.
//
// Rules: an applied file that changed is an error (write a new migration instead); a pending file
// numbered below the newest applied one is an error (renumber it); concurrent runs are safe (a
// PostgreSQL advisory lock serialises them, and the second finds nothing left to do).
//
// The files in sql/ are compiled into every binary (embedded_migrations()), so a worker knows
// which schema version it needs and fleetctl always carries the migrations of its own release.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/connection_base>
#include <pqxx/transaction_base>

#include "core/result.h"

namespace fleet::migrate {

struct Migration {
  int version = 0;
  std::string name;      // "platform" for 0001_platform.sql
  std::string sql;
  std::string checksum;  // hex SHA-256 of sql
  std::string file_name() const;
};

// The migrations compiled into this binary, in version order.
const std::vector<Migration>& embedded_migrations();

// Reads NNNN_name.sql files from a directory. Fails on a malformed name or a duplicate version.
Result<std::vector<Migration>> load_directory(const std::string& dir);

// Builds a Migration from a file name and its text. Fails on a malformed name.
Result<Migration> make_migration(const std::string& file_name, std::string sql);

std::string sha256_hex(const std::string& data);

// The newest version in a set (0 for none).
int latest_version(const std::vector<Migration>& migrations);

struct AppliedMigration {
  int version = 0;
  std::string name;
  std::string checksum;
  std::string applied_at;
};

struct Plan {
  std::vector<AppliedMigration> applied;
  std::vector<Migration> pending;
  std::vector<std::string> problems;  // checksum mismatches, out-of-order files; empty = healthy
  int database_version = 0;           // newest applied version
  int known_version = 0;              // newest version this binary knows
};

// What is applied, what is pending and what is wrong.
Plan plan(pqxx::connection_base& conn, const std::vector<Migration>& migrations);

struct ApplyOptions {
  std::optional<int> target_version;  // stop after this version (default: all)
  std::string applied_by = "fleetctl";
  std::chrono::milliseconds lock_wait{60'000};  // give up waiting for a concurrent run
};

struct ApplyReport {
  std::vector<int> applied;  // versions applied by this run
  int database_version = 0;
};

// Applies the pending migrations under an advisory lock. Fails without changing anything when
// plan() reports a problem; a failing migration is rolled back and reported with its file name,
// and those before it stay applied.
Result<ApplyReport> apply(pqxx::connection_base& conn, const std::vector<Migration>& migrations,
                          const ApplyOptions& options = {});

// For workers: fails (kFailedPrecondition) when the schema is behind this binary or a required
// table is missing, naming what to do about it.
Status check_schema(pqxx::transaction_base& tx, const std::vector<std::string>& required_tables,
                    int required_version = latest_version(embedded_migrations()));

}  // namespace fleet::migrate
