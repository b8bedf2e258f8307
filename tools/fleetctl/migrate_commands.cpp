#include <iostream>

#include <pqxx/pqxx>

#include "commands.h"
#include "migrate/migrator.h"
#include "table.h"

namespace fleet::cli {
namespace {

Result<std::vector<migrate::Migration>> migrations_for(const MigrateOptions& options) {
  if (options.dir.empty()) return migrate::embedded_migrations();
  return migrate::load_directory(options.dir);
}

}  // namespace

int migrate_apply(Context& ctx, const MigrateOptions& options) {
  auto migrations = migrations_for(options);
  if (!migrations.ok()) {
    std::cerr << "fleetctl migrate: " << migrations.error().message() << "\n";
    return kUsage;
  }
  migrate::ApplyOptions apply_options{.applied_by = "fleetctl"};
  if (options.target > 0) apply_options.target_version = options.target;
  auto& conn = ctx.connection(std::chrono::seconds(options.wait_seconds), options.create_database);
  auto report = migrate::apply(conn, *migrations, apply_options);
  if (!report.ok()) {
    std::cerr << "fleetctl migrate: " << report.error().message() << "\n";
    return kFailed;
  }
  if (report->applied.empty()) {
    std::cout << "schema is up to date at version " << report->database_version << "\n";
  } else {
    for (int v : report->applied) {
      for (const auto& m : *migrations) {
        if (m.version == v) std::cout << "applied " << m.file_name() << "\n";
      }
    }
    std::cout << "schema is now at version " << report->database_version << "\n";
  }
  return kOk;
}

int migrate_status(Context& ctx, const MigrateOptions& options) {
  auto migrations = migrations_for(options);
  if (!migrations.ok()) {
    std::cerr << "fleetctl migrate status: " << migrations.error().message() << "\n";
    return kUsage;
  }
  migrate::Plan plan = migrate::plan(ctx.connection(), *migrations);
  Table table({"VERSION", "NAME", "STATE", "APPLIED AT", "CHECKSUM"});
  for (const auto& a : plan.applied) {
    table.add(
        {std::to_string(a.version), a.name, "applied", a.applied_at, a.checksum.substr(0, 12)});
  }
  for (const auto& m : plan.pending) {
    table.add({std::to_string(m.version), m.name, "pending", "", m.checksum.substr(0, 12)});
  }
  std::cout << table.render();
  std::cout << "database version " << plan.database_version << ", this fleetctl knows "
            << plan.known_version << ", " << plan.pending.size() << " pending\n";
  for (const auto& p : plan.problems)
    std::cout << "PROBLEM: " << p << "\n";
  return plan.problems.empty() ? kOk : kFailed;
}

int migrate_verify(Context& ctx, const MigrateOptions& options) {
  auto migrations = migrations_for(options);
  if (!migrations.ok()) {
    std::cerr << "fleetctl migrate verify: " << migrations.error().message() << "\n";
    return kUsage;
  }
  migrate::Plan plan = migrate::plan(ctx.connection(), *migrations);
  if (!plan.problems.empty()) {
    for (const auto& p : plan.problems)
      std::cout << "PROBLEM: " << p << "\n";
    return kFailed;
  }
  std::cout << plan.applied.size() << " applied migrations match their files";
  if (!plan.pending.empty()) std::cout << "; " << plan.pending.size() << " pending";
  std::cout << "\n";
  return kOk;
}

}  // namespace fleet::cli
