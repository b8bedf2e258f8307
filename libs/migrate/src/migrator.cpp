#include "migrate/migrator.h"

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <openssl/evp.h>
#include <pqxx/pqxx>

#include "core/strings.h"
#include "embedded.h"

namespace fleet::migrate {
namespace {

// "fleet" in ASCII: the advisory lock key that serialises migration runs.
constexpr long long kAdvisoryLockKey = 0x666c656574;

constexpr const char* kBootstrap = R"sql(
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     integer     PRIMARY KEY,
    name        text        NOT NULL,
    checksum    text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now(),
    duration_ms integer     NOT NULL DEFAULT 0,
    applied_by  text        NOT NULL DEFAULT ''
)
)sql";

constexpr const char* kTableExists = "SELECT to_regclass('schema_migrations') IS NOT NULL";

constexpr const char* kApplied = R"sql(
SELECT version, name, checksum,
       to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
  FROM schema_migrations ORDER BY version
)sql";

constexpr const char* kRecord = R"sql(
INSERT INTO schema_migrations (version, name, checksum, duration_ms, applied_by)
VALUES ($1, $2, $3, $4, $5)
)sql";

constexpr const char* kMissingTables = R"sql(
SELECT t FROM unnest(string_to_array($1, ',')) AS t WHERE to_regclass(t) IS NULL ORDER BY t
)sql";

std::vector<AppliedMigration> read_applied(pqxx::connection_base& conn) {
  pqxx::read_transaction tx(conn);
  if (!tx.exec1(kTableExists)[0].as<bool>()) return {};
  std::vector<AppliedMigration> out;
  for (const auto& row : tx.exec(kApplied)) {
    out.push_back({row[0].as<int>(), row[1].as<std::string>(), row[2].as<std::string>(),
                   row[3].as<std::string>()});
  }
  return out;
}

// Holds the session-level advisory lock while alive.
class AdvisoryLock {
 public:
  AdvisoryLock(pqxx::connection_base& conn, std::chrono::milliseconds wait) : conn_(conn) {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    while (true) {
      pqxx::nontransaction tx(conn_);
      if (tx.exec_params1("SELECT pg_try_advisory_lock($1)", kAdvisoryLockKey)[0].as<bool>()) {
        held_ = true;
        return;
      }
      if (std::chrono::steady_clock::now() >= deadline) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  ~AdvisoryLock() {
    if (!held_) return;
    try {
      pqxx::nontransaction tx(conn_);
      tx.exec_params("SELECT pg_advisory_unlock($1)", kAdvisoryLockKey);
    } catch (const std::exception&) {
      // The connection is gone, and with it the lock.
    }
  }
  bool held() const { return held_; }

 private:
  pqxx::connection_base& conn_;
  bool held_ = false;
};

}  // namespace

std::string Migration::file_name() const {
  char prefix[16];
  std::snprintf(prefix, sizeof prefix, "%04d_", version);
  return prefix + name + ".sql";
}

std::string sha256_hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 0xf];
  }
  return out;
}

Result<Migration> make_migration(const std::string& file_name, std::string sql) {
  static const std::regex pattern(R"(^(\d{4})_([a-z0-9_]+)\.sql$)");
  std::smatch m;
  if (!std::regex_match(file_name, m, pattern)) {
    return Error::invalid("migration file '" + file_name +
                          "' must be named NNNN_name.sql (four digits, lower-case name)");
  }
  Migration out;
  out.version = std::stoi(m[1].str());
  out.name = m[2].str();
  out.checksum = sha256_hex(sql);
  out.sql = std::move(sql);
  if (out.version == 0) return Error::invalid("migration file '" + file_name + "': version 0000");
  return out;
}

namespace {
Result<std::vector<Migration>> sorted_unique(std::vector<Migration> list) {
  std::sort(list.begin(), list.end(),
            [](const Migration& a, const Migration& b) { return a.version < b.version; });
  for (size_t i = 1; i < list.size(); ++i) {
    if (list[i].version == list[i - 1].version) {
      return Error::invalid("two migrations share version " + std::to_string(list[i].version) +
                            ": " + list[i - 1].file_name() + " and " + list[i].file_name());
    }
  }
  return list;
}
}  // namespace

const std::vector<Migration>& embedded_migrations() {
  static const std::vector<Migration> all = [] {
    std::vector<Migration> list;
    for (size_t i = 0; i < detail::kEmbeddedCount; ++i) {
      auto m = make_migration(detail::kEmbeddedFiles[i].name, detail::kEmbeddedFiles[i].sql);
      if (!m.ok()) throw std::logic_error(m.error().message());  // caught by a unit test
      list.push_back(std::move(*m));
    }
    auto sorted = sorted_unique(std::move(list));
    if (!sorted.ok()) throw std::logic_error(sorted.error().message());
    return std::move(*sorted);
  }();
  return all;
}

Result<std::vector<Migration>> load_directory(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return Error::invalid("'" + dir + "' is not a directory");
  std::vector<Migration> list;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".sql") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    auto m = make_migration(entry.path().filename().string(), text.str());
    if (!m.ok()) return m.error();
    list.push_back(std::move(*m));
  }
  if (ec) return Error::invalid("cannot read '" + dir + "': " + ec.message());
  return sorted_unique(std::move(list));
}

int latest_version(const std::vector<Migration>& migrations) {
  int v = 0;
  for (const auto& m : migrations) v = std::max(v, m.version);
  return v;
}

Plan plan(pqxx::connection_base& conn, const std::vector<Migration>& migrations) {
  Plan p;
  p.applied = read_applied(conn);
  p.known_version = latest_version(migrations);
  for (const auto& a : p.applied) p.database_version = std::max(p.database_version, a.version);

  std::set<int> applied_versions;
  for (const auto& a : p.applied) {
    applied_versions.insert(a.version);
    auto it = std::find_if(migrations.begin(), migrations.end(),
                           [&](const Migration& m) { return m.version == a.version; });
    if (it == migrations.end()) continue;  // applied by a newer release: not our business
    if (it->checksum != a.checksum) {
      p.problems.push_back("migration " + it->file_name() + " was changed after it was applied on " +
                           a.applied_at + " (checksum " + a.checksum.substr(0, 12) + " in the database, " +
                           it->checksum.substr(0, 12) +
                           " on disk); restore the file and add a new migration instead");
    }
  }
  for (const auto& m : migrations) {
    if (applied_versions.count(m.version) != 0) continue;
    if (m.version < p.database_version) {
      p.problems.push_back("migration " + m.file_name() + " is older than the applied version " +
                           std::to_string(p.database_version) +
                           "; migrations are forward-only: renumber it above " +
                           std::to_string(p.database_version));
    }
    p.pending.push_back(m);
  }
  return p;
}

Result<ApplyReport> apply(pqxx::connection_base& conn, const std::vector<Migration>& migrations,
                          const ApplyOptions& options) {
  AdvisoryLock lock(conn, options.lock_wait);
  if (!lock.held()) {
    return Error(ErrorKind::kDeadlineExceeded,
                 "another migration run holds the migration lock; gave up after " +
                     std::to_string(options.lock_wait.count()) + " ms");
  }
  {
    pqxx::work tx(conn);
    tx.exec(kBootstrap);
    tx.commit();
  }
  Plan p = plan(conn, migrations);
  if (!p.problems.empty()) {
    return Error::precondition("refusing to migrate:\n  - " + join(p.problems, "\n  - "));
  }
  ApplyReport report;
  report.database_version = p.database_version;
  for (const auto& m : p.pending) {
    if (options.target_version && m.version > *options.target_version) break;
    const auto started = std::chrono::steady_clock::now();
    try {
      pqxx::work tx(conn);
      tx.exec("SET LOCAL statement_timeout = 0");
      tx.exec(m.sql);
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now() - started)
                          .count();
      tx.exec_params(kRecord, m.version, m.name, m.checksum, static_cast<long long>(ms),
                     options.applied_by);
      tx.commit();
    } catch (const std::exception& e) {
      return Error::precondition("migration " + m.file_name() + " failed and was rolled back: " +
                                 std::string(trim(e.what())));
    }
    report.applied.push_back(m.version);
    report.database_version = m.version;
  }
  return report;
}

Status check_schema(pqxx::transaction_base& tx, const std::vector<std::string>& required_tables,
                    int required_version) {
  int version = 0;
  if (tx.exec1(kTableExists)[0].as<bool>()) {
    version = tx.exec1("SELECT coalesce(max(version), 0) FROM schema_migrations")[0].as<int>();
  }
  if (version < required_version) {
    return Error::precondition("database schema is at version " + std::to_string(version) +
                               " but this binary needs " + std::to_string(required_version) +
                               "; run 'fleetctl migrate'");
  }
  if (!required_tables.empty()) {
    std::vector<std::string> missing;
    for (const auto& row : tx.exec_params(kMissingTables, join(required_tables, ","))) {
      missing.push_back(row[0].as<std::string>());
    }
    if (!missing.empty()) {
      return Error::precondition("required tables are missing: " + join(missing, ", "));
    }
  }
  return Status::success();
}

}  // namespace fleet::migrate
